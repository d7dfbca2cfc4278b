"""`serve()`: the sandbox in the foreground, seeded, for trying amictl by hand."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import TextIO

from .server import DEMO_REGIONS, Sandbox


def banner(endpoint_url: str, labels: dict[str, str], region: str, out: TextIO) -> None:
    print(f"amictl sandbox (local EC2 emulator) listening on {endpoint_url}", file=out)
    print("Point amictl (or the AWS CLI) at it:", file=out)
    print(
        f"  export AWS_ENDPOINT_URL={endpoint_url} AWS_ACCESS_KEY_ID=testing "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_REGION={region}",
        file=out,
    )
    if labels:
        print("Demo images:", file=out)
        width = max(len(label) for label in labels)
        for label, image_id in labels.items():
            print(f"  {label:<{width}}  {image_id}", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)


def _stop_on_signals() -> None:
    """Make SIGINT and SIGTERM stop the server. A non-interactive shell starts a
    background job (`amictl sandbox &` in a script) with SIGINT ignored, and Python then
    leaves it ignored; `kill` (SIGTERM) would otherwise skip the clean shutdown."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def serve(
    host: str = "127.0.0.1",
    port: int = 5000,
    seed: bool = True,
    latency: float = 0.0,
    out: TextIO | None = None,
) -> None:
    """Run the sandbox in the foreground until Ctrl-C, seeded with the demo images unless
    `seed` is false, adding `latency` seconds to every EC2 call."""
    out = out or sys.stdout
    _stop_on_signals()
    sandbox = Sandbox(host=host, port=port)
    sandbox.start()
    try:
        labels = sandbox.seed_demo(DEMO_REGIONS) if seed else {}
        if latency:
            sandbox.set_faults(latency=latency)
        banner(sandbox.endpoint_url, labels, DEMO_REGIONS[0], out)
        sandbox.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.", file=out)
    finally:
        sandbox.stop()
