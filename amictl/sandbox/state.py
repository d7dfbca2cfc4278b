"""What the sandbox keeps beside moto's backends: block public access per region, and the
pre-change copies that make reads lag behind writes (eventual consistency, facts §9).

moto's backends are process-global and not thread-safe, so every touch of them (a request
being handled, seeding, reset) happens under `BACKEND_LOCK`. Everything in this module is
only used under that lock as well.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

BACKEND_LOCK = threading.RLock()

BPA_BLOCKED = "block-new-sharing"
BPA_UNBLOCKED = "unblocked"

T = TypeVar("T")
Key = tuple[str, str, str]  # (account, region, resource id)


@dataclass(frozen=True)
class ImageAttrs:
    """The mutable attributes of an image, as a read shows them."""

    launch_permissions: tuple[Mapping[str, str], ...]
    description: str | None
    imds_support: str | None

    @classmethod
    def of(cls, ami: Any) -> ImageAttrs:
        return cls(
            tuple(dict(p) for p in ami.launch_permissions),
            ami.description or None,
            getattr(ami, "imds_support", None),
        )


@dataclass(frozen=True)
class SnapshotPerms:
    """A snapshot's createVolumePermission."""

    user_ids: frozenset[str]
    groups: frozenset[str]

    @classmethod
    def of(cls, snapshot: Any) -> SnapshotPerms:
        return cls(
            frozenset(snapshot.create_volume_permission_userids),
            frozenset(snapshot.create_volume_permission_groups),
        )

    def to_wire(self) -> list[dict[str, str]]:
        return [{"Group": g} for g in sorted(self.groups)] + [
            {"UserId": u} for u in sorted(self.user_ids)
        ]


class StaleStore(Generic[T]):
    """Pre-change values that reads keep showing until they expire.

    A second change inside the window keeps the oldest value and restarts the clock, so a
    reader sees either the state from before the burst of changes or the final one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[Key, tuple[float, T]] = {}

    def remember(self, key: Key, current: Callable[[], T], lag: float) -> None:
        if lag <= 0:
            return
        now = self._clock()
        held = self._items.get(key)
        value = held[1] if held is not None and held[0] > now else current()
        self._items[key] = (now + lag, value)

    def get(self, key: Key) -> T | None:
        held = self._items.get(key)
        if held is None:
            return None
        if held[0] <= self._clock():
            del self._items[key]
            return None
        return held[1]

    def clear(self) -> None:
        self._items.clear()


@dataclass
class ExtensionState:
    """State the fidelity extension adds to moto (reset together with moto's)."""

    # (account, region) -> "block-new-sharing" | "unblocked"; absent = unblocked.
    block_public_access: dict[tuple[str, str], str] = field(default_factory=dict)
    stale_images: StaleStore[ImageAttrs] = field(default_factory=StaleStore)
    stale_snapshots: StaleStore[SnapshotPerms] = field(default_factory=StaleStore)
    stale_bpa: StaleStore[str] = field(default_factory=StaleStore)
    consistency_lag: float = 0.0
    lag_actions: frozenset[str] | None = None  # None: every mutating action lags

    def lag_for(self, action: str) -> float:
        if self.lag_actions is not None and action not in self.lag_actions:
            return 0.0
        return self.consistency_lag

    def bpa_state(self, account: str, region: str) -> str:
        return self.block_public_access.get((account, region), BPA_UNBLOCKED)

    def set_lag(self, seconds: float, actions: Iterable[str] | None) -> None:
        self.consistency_lag = seconds
        self.lag_actions = None if actions is None else frozenset(actions)

    def clear(self) -> None:
        self.block_public_access.clear()
        self.stale_images.clear()
        self.stale_snapshots.clear()
        self.stale_bpa.clear()
        self.set_lag(0.0, None)
