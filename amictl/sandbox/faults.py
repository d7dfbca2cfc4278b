"""Fault injection: random throttling, 5xx, dropped connections, latency, and EC2's
per-action token buckets (facts §8.1).

Pure bookkeeping; the middleware turns the decisions into answers.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..limits import EC2_REQUEST_BUCKETS

# Facts §8.1: (bucket max, refill per second) per action, for `Sandbox.set_token_bucket`;
# the same table amictl's client-side pacer uses.
EC2_BUCKETS = EC2_REQUEST_BUCKETS


class Fault(str, enum.Enum):
    THROTTLE = "throttle"
    SERVER_ERROR = "server-error"
    DROP = "drop"


@dataclass(frozen=True)
class FaultSettings:
    """What `Sandbox.set_faults` configures. Rates are per-request probabilities."""

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    drop_rate: float = 0.0
    latency: float = 0.0
    consistency_lag: float = 0.0
    actions: frozenset[str] | None = None  # None: every EC2 action
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (self.throttle_rate, self.server_error_rate, self.drop_rate)
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must be within 0..1 and add up to at most 1")
        if self.latency < 0 or self.consistency_lag < 0:
            raise ValueError("latency and consistency_lag must not be negative")

    def hits(self, action: str) -> bool:
        return self.actions is None or action in self.actions


class FaultInjector:
    """Draws at most one random fault per request, reproducibly when seeded."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)

    def draw(self, action: str) -> Fault | None:
        s = self.settings
        if not s.hits(action) or not (s.throttle_rate or s.server_error_rate or s.drop_rate):
            return None
        with self._lock:
            r = self._rng.random()
        if r < s.throttle_rate:
            return Fault.THROTTLE
        if r < s.throttle_rate + s.server_error_rate:
            return Fault.SERVER_ERROR
        if r < s.throttle_rate + s.server_error_rate + s.drop_rate:
            return Fault.DROP
        return None

    def coin(self) -> bool:
        """A fair, seeded coin (which 5xx to answer)."""
        with self._lock:
            return self._rng.random() < 0.5


class TokenBucket:
    """EC2's request token bucket: one token per request, refilled continuously."""

    def __init__(self, capacity: float, refill_per_s: float, now: float) -> None:
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self.tokens = capacity
        self.updated = now

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class TokenBuckets:
    """Buckets per (action, region), for the actions configured (facts §8.1: throttling
    one action does not affect others; buckets are per Region)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sizes: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def configure(self, capacity: float, refill_per_s: float, actions: Iterable[str]) -> None:
        if capacity < 1 or refill_per_s < 0:
            raise ValueError("a token bucket needs capacity >= 1 and refill_per_s >= 0")
        with self._lock:
            for action in actions:
                self._sizes[action] = (capacity, refill_per_s)
                for key in [k for k in self._buckets if k[0] == action]:
                    del self._buckets[key]

    def take(self, action: str, region: str) -> bool:
        with self._lock:
            size = self._sizes.get(action)
            if size is None:
                return True
            now = self._clock()
            bucket = self._buckets.get((action, region))
            if bucket is None:
                bucket = self._buckets[(action, region)] = TokenBucket(*size, now)
            return bucket.take(now)

    def clear(self) -> None:
        with self._lock:
            self._sizes.clear()
            self._buckets.clear()
