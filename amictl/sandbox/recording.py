"""The record of every request the sandbox received, for tests to assert on."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

# The calls that change something (what "attempted changes" means in tests).
MUTATING_ACTIONS = frozenset(
    {
        "ModifyImageAttribute",
        "ResetImageAttribute",
        "ModifySnapshotAttribute",
        "EnableImageBlockPublicAccess",
        "DisableImageBlockPublicAccess",
    }
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received, and how it was answered.

    `params` is the flat query/form body (`{"ImageId": ..., "LaunchPermission.Add.1.UserId":
    ...}`), without `Action` and `Version`. `error` is the error code answered (None on
    success or when the connection was dropped); `fault` names the injected fault, if any:
    "deny", "token-bucket", "throttle", "server-error" or "drop".
    """

    service: str
    region: str
    action: str
    params: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None
    status: int | None = None
    fault: str | None = None

    @property
    def is_mutating(self) -> bool:
        return self.service == "ec2" and self.action in MUTATING_ACTIONS


class RequestLog:
    """A thread-safe, append-only list of `RecordedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
