"""The client-side pacer (limits.py): pure token-bucket bookkeeping with a fake clock, and
against the emulator, a bulk share that rides a small bucket without being throttled."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from amictl.ec2 import Boto3Gateway, ClientSettings
from amictl.limits import EC2_REQUEST_BUCKETS, SLOT_MARGIN, RequestPacer
from amictl.model import Command, Intent, LaunchTargets, Status
from amictl.plan import plan_all
from amictl.runner import Runner, RunOptions, Selection
from amictl.sandbox import EC2_BUCKETS, Sandbox

REGION = "us-east-1"
ACCOUNT = "111122223333"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def pacer(sizes: dict[str, tuple[float, float]], clock: FakeClock) -> RequestPacer:
    return RequestPacer(sizes, clock=clock, sleep=clock.sleep)


def test_the_burst_goes_at_once_then_one_call_per_refilled_token() -> None:
    clock = FakeClock()
    p = pacer({"ModifyImageAttribute": (3, 5)}, clock)
    delays = [p.delay(REGION, "ModifyImageAttribute") for _ in range(6)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    # Reservations queue: the 4th waits one refill (0.2 s), the 5th two, the 6th three.
    assert delays[3:] == pytest.approx([0.2 + SLOT_MARGIN, 0.4 + SLOT_MARGIN, 0.6 + SLOT_MARGIN])


def test_tokens_come_back_with_time_up_to_the_capacity() -> None:
    clock = FakeClock()
    p = pacer({"DescribeImages": (2, 8)}, clock)
    assert [p.delay(REGION, "DescribeImages") for _ in range(2)] == [0.0, 0.0]
    clock.now += 0.125  # one token back (binary-exact times, so no rounding)
    assert p.delay(REGION, "DescribeImages") == 0.0
    assert p.delay(REGION, "DescribeImages") > 0
    clock.now += 60  # far longer than a refill: the bucket holds only its capacity
    assert [p.delay(REGION, "DescribeImages") for _ in range(2)] == [0.0, 0.0]
    assert p.delay(REGION, "DescribeImages") > 0


def test_buckets_are_per_region_and_per_action() -> None:
    clock = FakeClock()
    p = pacer({"ModifyImageAttribute": (1, 1), "DescribeImages": (1, 1)}, clock)
    assert p.delay("us-east-1", "ModifyImageAttribute") == 0.0
    assert p.delay("eu-west-1", "ModifyImageAttribute") == 0.0
    assert p.delay("us-east-1", "DescribeImages") == 0.0
    assert p.delay("us-east-1", "ModifyImageAttribute") > 0


def test_actions_without_a_known_bucket_are_not_paced() -> None:
    p = pacer({}, FakeClock())
    assert all(p.delay(REGION, "DescribeKey") == 0.0 for _ in range(1000))


def test_a_throttled_answer_empties_our_bucket_too() -> None:
    clock = FakeClock()
    p = pacer({"ModifyImageAttribute": (100, 5)}, clock)
    assert p.delay(REGION, "ModifyImageAttribute") == 0.0
    p.throttled(REGION, "ModifyImageAttribute")  # someone else spent EC2's tokens
    assert p.delay(REGION, "ModifyImageAttribute") == pytest.approx(0.2 + SLOT_MARGIN)


def test_wait_sleeps_only_when_the_bucket_is_empty() -> None:
    clock = FakeClock()
    p = pacer({"ModifyImageAttribute": (1, 4)}, clock)
    p.wait(REGION, "ModifyImageAttribute")
    p.wait(REGION, "ModifyImageAttribute")
    assert clock.slept == [pytest.approx(0.25 + SLOT_MARGIN)]


def test_the_sandbox_and_the_pacer_use_the_same_published_sizes() -> None:
    assert EC2_BUCKETS is EC2_REQUEST_BUCKETS
    assert EC2_REQUEST_BUCKETS["ModifyImageAttribute"] == (100, 5)  # facts §8.1
    assert EC2_REQUEST_BUCKETS["DescribeImageAttribute"] == (100, 20)


def share_through_the_gateway(sandbox: Sandbox, buckets: dict[str, tuple[float, float]]) -> Any:
    images = [sandbox.create_image(REGION, f"paced-{n:02d}") for n in range(12)]
    # EC2's bucket holds one token more than the pacer counts: the two clocks start a
    # request apart, and a loaded test machine must not turn that into a flaky throttle.
    sandbox.set_token_bucket(6, 20, ["DescribeImageAttribute"])
    sandbox.clear_requests()
    gateway = Boto3Gateway(
        ClientSettings(endpoint_url=sandbox.endpoint_url, request_buckets=buckets)
    )
    runner = Runner(gateway, RunOptions(verify_timeout=10, concurrency=8))
    read = runner.read([REGION], Selection(tuple(images)))
    intent = Intent(Command.SHARE, add=LaunchTargets.of([ACCOUNT]))
    outcome = runner.execute(plan_all(intent, read.states, read.block_public_access))
    assert [r.status for r in outcome.results] == [Status.CHANGED] * len(images), outcome
    return Counter(q.fault for q in sandbox.requests if q.fault)


@pytest.mark.slow
def test_paced_bulk_work_is_not_throttled_by_a_bucket_of_the_same_size(
    sandbox: Sandbox,
) -> None:
    """24 DescribeImageAttribute calls (read + read back per image) against a bucket of 6
    refilled at 20/s: paced by (almost) the same sizes, EC2 never has to throttle."""
    faults = share_through_the_gateway(sandbox, {"DescribeImageAttribute": (5.0, 20.0)})
    assert faults == Counter()


@pytest.mark.slow
def test_without_pacing_the_same_work_is_throttled(sandbox: Sandbox) -> None:
    """The control for the test above: the same run, unpaced, runs into the bucket (and
    still ends with every image changed, by retrying)."""
    faults = share_through_the_gateway(sandbox, {})
    assert faults["token-bucket"] > 0, faults
