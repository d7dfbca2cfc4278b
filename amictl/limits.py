"""EC2's request token buckets (facts §8.1), and the client-side pacer that rides them.

EC2 gives each account, per region and per API action, a bucket of request tokens: a
burst of `capacity` calls, then `refill` calls per second. A call beyond that is answered
`RequestLimitExceeded` and must be retried after a backoff, which wastes the round trip and
usually more. `RequestPacer` keeps the same books on the client, so bulk work spends its
burst at once and then sends one call each time a token comes back, instead of running
into the limit and backing off at random.

The sizes are AWS's published defaults. Another client of the same account may be
spending the same tokens, so throttling can still happen: the gateway retries it, and tells
the pacer (`throttled`), which then treats the bucket as empty. An account with raised
limits is paced at the defaults (a limit increase raises mainly the refill rate; AWS
advises asking for at most three times the default).

Pure bookkeeping and sleeping; no boto3. The sandbox uses the same table for its buckets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

# (capacity, refill per second) per EC2 action that amictl calls (facts §8.1).
EC2_REQUEST_BUCKETS: dict[str, tuple[float, float]] = {
    "ModifyImageAttribute": (100, 5),
    "ModifySnapshotAttribute": (100, 5),
    "ResetImageAttribute": (50, 5),
    "EnableImageBlockPublicAccess": (1, 0.1),
    "DisableImageBlockPublicAccess": (1, 0.1),
    "DescribeImages": (100, 20),
    "DescribeImageAttribute": (100, 20),
    "DescribeSnapshotAttribute": (100, 20),
    "GetImageBlockPublicAccessState": (100, 20),
    "DescribeRegions": (100, 20),
    "DescribeSnapshots": (50, 10),
}


# A call promised a slot goes this much later than the books say: EC2's bucket starts when
# our first call arrives, a little after ours did, and network jitter must not make a
# promised call arrive just before its token does.
SLOT_MARGIN = 0.1  # seconds: costs a bulk run about this much once, not per call


class _Bucket:
    """Tokens may go below zero: each negative token is a call already promised a slot."""

    def __init__(self, capacity: float, refill: float, now: float) -> None:
        self.capacity = capacity
        self.refill = refill
        self.tokens = capacity
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take a token; return how long to wait before the call may go."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        self.tokens -= 1
        if self.tokens >= 0:
            return 0.0
        if self.refill <= 0:
            return float("inf")
        return -self.tokens / self.refill + SLOT_MARGIN


class RequestPacer:
    """Client-side token buckets per (region, action), shared by every worker thread."""

    def __init__(
        self,
        sizes: Mapping[str, tuple[float, float]] = EC2_REQUEST_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sizes = dict(sizes)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def delay(self, region: str, action: str) -> float:
        """Reserve a slot for one call; the seconds to wait before sending it."""
        size = self._sizes.get(action)
        if size is None:
            return 0.0  # not an EC2 action we know a bucket for (KMS, STS)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get((region, action))
            if bucket is None:
                bucket = self._buckets[(region, action)] = _Bucket(*size, now)
            return bucket.reserve(now)

    def wait(self, region: str, action: str) -> None:
        """Block until one call of `action` in `region` fits EC2's bucket."""
        seconds = self.delay(region, action)
        if seconds > 0:
            self._sleep(seconds)

    def throttled(self, region: str, action: str) -> None:
        """EC2 answered RequestLimitExceeded: its bucket is empty, so count ours empty too."""
        with self._lock:
            bucket = self._buckets.get((region, action))
            if bucket is not None:
                bucket.tokens = min(bucket.tokens, 0.0)
