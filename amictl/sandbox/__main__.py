"""`python -m amictl.sandbox [--host H] [--port N] [--no-seed] [--latency S]`"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m amictl.sandbox",
        description="Run amictl's local EC2 emulator (moto + fidelity extension) on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=5000, help="port (0 = any free port)")
    parser.add_argument("--no-seed", action="store_true", help="start empty, no demo images")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds added to every EC2 call"
    )
    args = parser.parse_args(argv)
    from .demo import serve  # imports moto: keep --help fast

    try:
        serve(host=args.host, port=args.port, seed=not args.no_seed, latency=args.latency)
    except (OSError, ValueError) as e:
        print(f"amictl sandbox: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
