"""amictl's local EC2 emulator: moto's server plus a fidelity extension (what moto 5.2 lacks
for AMI attributes, faithful to the facts sheet) and fault injection, on 127.0.0.1.

Public API: `Sandbox` (tests and demos), `serve()` (foreground, seeded), `RecordedRequest`,
`EC2_BUCKETS`. Importing this package is cheap; moto is imported on first use of a name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .demo import serve
    from .faults import EC2_BUCKETS
    from .recording import RecordedRequest
    from .server import Sandbox

__all__ = ["EC2_BUCKETS", "RecordedRequest", "Sandbox", "serve"]

_HOMES = {
    "Sandbox": "server",
    "serve": "demo",
    "RecordedRequest": "recording",
    "EC2_BUCKETS": "faults",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
