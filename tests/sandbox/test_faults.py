"""Fault injection: throttling, 5xx, dropped connections, latency, eventual-consistency lag
and the token bucket (facts §8, §9). Retries are off (one attempt) unless a test asks."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import OTHER, error_of, image, launch_permissions, snapshot_id

SHARE = {"LaunchPermission": {"Add": [{"UserId": OTHER}]}}


def test_throttle(sandbox: Sandbox, ec2: Any) -> None:
    sandbox.set_faults(throttle_rate=1.0)
    assert error_of(ec2.describe_images) == (503, "RequestLimitExceeded", "Request limit exceeded.")
    (recorded,) = sandbox.requests
    assert (recorded.action, recorded.error, recorded.fault) == (
        "DescribeImages",
        "RequestLimitExceeded",
        "throttle",
    )


def test_server_errors_are_500_or_503(sandbox: Sandbox, ec2: Any) -> None:
    sandbox.set_faults(server_error_rate=1.0, seed=7)
    seen = {error_of(ec2.describe_images)[:2] for _ in range(12)}
    assert seen == {(500, "InternalError"), (503, "Unavailable")}


def test_faults_change_nothing(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    sandbox.set_faults(throttle_rate=0.5, server_error_rate=0.5, actions={"ModifyImageAttribute"})
    error_of(ec2.modify_image_attribute, ImageId=image_id, **SHARE)
    assert launch_permissions(ec2, image_id) == []


def test_dropped_connection_is_a_connection_error(sandbox: Sandbox, ec2: Any) -> None:
    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ec2.describe_images()
    (recorded,) = sandbox.requests
    assert (recorded.fault, recorded.status, recorded.error) == ("drop", None, None)


def first_failing_then_passing_seed(rate: float) -> int:
    """A seed whose first draw is a fault and whose second is not."""
    for seed in range(1000):
        rng = random.Random(seed)
        if rng.random() < rate <= rng.random():
            return seed
    raise AssertionError("no seed found")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["drop_rate", "throttle_rate", "server_error_rate"])
def test_botocore_retries_faults(sandbox: Sandbox, client: Any, kind: str) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    rates: dict[str, Any] = {kind: 0.5}
    sandbox.set_faults(**rates, seed=first_failing_then_passing_seed(0.5))
    # legacy mode: the first retry waits rand(0, 1) s (standard mode: up to 2 s)
    retrying = client(attempts=3, mode="legacy")
    retrying.modify_image_attribute(ImageId=image_id, **SHARE)
    assert sandbox.count("ModifyImageAttribute") == 2
    assert [r.fault for r in sandbox.mutating_requests()] == [
        {"drop_rate": "drop", "throttle_rate": "throttle", "server_error_rate": "server-error"}[
            kind
        ],
        None,
    ]
    assert launch_permissions(retrying, image_id) == [{"UserId": OTHER}]


def test_faults_limited_to_actions(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    sandbox.set_faults(throttle_rate=1.0, actions={"ModifyImageAttribute"})
    assert ec2.describe_images(ImageIds=[image_id])["Images"]
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **SHARE)[1] == (
        "RequestLimitExceeded"
    )


def test_seeded_faults_are_reproducible(sandbox: Sandbox, ec2: Any) -> None:
    def run() -> list[str | None]:
        sandbox.reset()
        sandbox.set_faults(throttle_rate=0.3, server_error_rate=0.3, seed=42)
        for _ in range(15):
            try:
                ec2.describe_images()
            except ClientError:
                pass
        return [r.error for r in sandbox.requests]

    first = run()
    assert len(set(first)) > 1
    assert run() == first


def test_latency_overlaps_between_clients(sandbox: Sandbox, ec2: Any) -> None:
    sandbox.set_faults(latency=0.3)
    ec2.describe_images()  # warm up the connection pool and moto
    durations: list[float] = []

    def call() -> None:
        started = time.monotonic()
        ec2.describe_images()
        durations.append(time.monotonic() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    assert len(durations) == 5 and min(durations) >= 0.3
    assert wall < 0.3 * 5 / 2  # overlapped, not serialised


# ---------------------------------------------------------------- eventual consistency


def test_consistency_lag_on_images(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old")
    other = sandbox.create_image("us-east-1", "other")
    sandbox.set_faults(consistency_lag=0.6)
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "new"})
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"Group": "all"}]})
    ec2.modify_image_attribute(ImageId=other, Description={"Value": "other"})

    stale = image(ec2, image_id)
    assert (stale["Description"], stale["Public"]) == ("old", False)
    assert ec2.describe_image_attribute(ImageId=image_id, Attribute="description")[
        "Description"
    ] == {"Value": "old"}
    assert launch_permissions(ec2, image_id) == []
    assert (
        ec2.describe_images(Owners=["self"], Filters=[{"Name": "is-public", "Values": ["true"]}])[
            "Images"
        ]
        == []
    )

    time.sleep(0.7)
    fresh = image(ec2, image_id)
    assert (fresh["Description"], fresh["Public"]) == ("new", True)
    assert launch_permissions(ec2, image_id) == [{"Group": "all"}]
    assert image(ec2, other)["Description"] == "other"


def test_consistency_lag_on_reset_snapshots_and_bpa(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img", accounts=[OTHER])
    snap = snapshot_id(ec2, image_id)
    sandbox.set_faults(consistency_lag=0.5)
    ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"UserId": OTHER}]},
    )
    ec2.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")

    def volume_permissions() -> Any:
        return ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")[
            "CreateVolumePermissions"
        ]

    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]
    assert volume_permissions() == []
    assert ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == ("unblocked")
    time.sleep(0.6)
    assert launch_permissions(ec2, image_id) == []
    assert volume_permissions() == [{"UserId": OTHER}]
    assert ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "block-new-sharing"
    )


def test_consistency_lag_only_after_successful_changes(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old")
    sandbox.set_faults(consistency_lag=5.0)
    error_of(ec2.modify_image_attribute, ImageId=image_id, Description={"Value": "x" * 300})
    error_of(
        ec2.modify_image_attribute, ImageId=image_id, Description={"Value": "new"}, DryRun=True
    )
    sandbox.create_image("us-east-1", "seeded")  # seeding is direct, never lags
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "new"})
    assert image(ec2, image_id)["Description"] == "old"
    sandbox.set_faults(consistency_lag=5.0, actions={"ResetImageAttribute"})
    sandbox.reset()
    image_id = sandbox.create_image("us-east-1", "img", description="old")
    sandbox.set_faults(consistency_lag=5.0, actions={"ResetImageAttribute"})
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "new"})
    assert image(ec2, image_id)["Description"] == "new"  # only the listed actions lag


# ---------------------------------------------------------------- token bucket


def test_token_bucket_per_action_and_region(sandbox: Sandbox, client: Any) -> None:
    east_image = sandbox.create_image("us-east-1", "img")
    west_image = sandbox.create_image("eu-west-1", "img")
    east, west = client(region="us-east-1"), client(region="eu-west-1")
    sandbox.set_token_bucket(capacity=3, refill_per_s=0, actions=("ModifyImageAttribute",))
    for n in range(3):
        east.modify_image_attribute(ImageId=east_image, Description={"Value": str(n)})
    assert error_of(
        east.modify_image_attribute, ImageId=east_image, Description={"Value": "x"}
    ) == (
        503,
        "RequestLimitExceeded",
        "Request limit exceeded.",
    )
    assert image(east, east_image)["Description"] == "2"
    east.reset_image_attribute(ImageId=east_image, Attribute="launchPermission")  # other action
    west.modify_image_attribute(ImageId=west_image, Description={"Value": "w"})  # other region
    assert sandbox.mutating_requests("ModifyImageAttribute")[3].fault == "token-bucket"


def test_token_bucket_refills(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    sandbox.set_token_bucket(capacity=1, refill_per_s=10, actions=("ModifyImageAttribute",))
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "a"})
    assert (
        error_of(ec2.modify_image_attribute, ImageId=image_id, Description={"Value": "b"})[1]
        == "RequestLimitExceeded"
    )
    time.sleep(0.15)
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "c"})
    assert image(ec2, image_id)["Description"] == "c"


def test_reset_clears_faults_and_buckets(sandbox: Sandbox, ec2: Any) -> None:
    sandbox.set_faults(throttle_rate=1.0)
    sandbox.set_token_bucket(capacity=1, refill_per_s=0, actions=("DescribeImages",))
    sandbox.deny(actions={"DescribeImages"})
    sandbox.reset()
    for _ in range(3):
        ec2.describe_images()


def test_fault_settings_are_validated(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.set_faults(throttle_rate=0.7, drop_rate=0.7)
    with pytest.raises(ValueError):
        sandbox.set_faults(latency=-1)
    with pytest.raises(ValueError):
        sandbox.set_token_bucket(capacity=0)
