"""Faults against the emulator: throttling and 5xx over many images, eventual consistency
during verification (spec §6), and a verification that runs out of time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from amictl.sandbox import Sandbox

REGION = "us-east-1"
ACCOUNT = "111122223333"


def permissions(ec2: Any, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))


def snapshot_accounts(ec2: Any, image_id: str) -> list[str]:
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    snapshot_id = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    answer = ec2.describe_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission"
    )
    return sorted(p["UserId"] for p in answer["CreateVolumePermissions"] if "UserId" in p)


@pytest.mark.slow
def test_share_over_40_images_rides_out_throttling_and_server_errors(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    images = [sandbox.create_image(REGION, f"img-{n:02d}") for n in range(40)]
    sandbox.set_faults(throttle_rate=0.3, server_error_rate=0.1, seed=20261203)

    r = amictl(["share", *images, "--account", ACCOUNT, "-o", "json"])

    assert r.exit_code == 0, r
    assert {x["image_id"]: x["status"] for x in r.json["results"]} == dict.fromkeys(
        images, "changed"
    )
    faults = {q.fault for q in sandbox.requests}
    assert {"throttle", "server-error"} <= faults  # the faults really were injected
    sandbox.set_faults()  # read back without faults
    assert {i: permissions(ec2, i) for i in images} == dict.fromkeys(images, [{"UserId": ACCOUNT}])


@pytest.mark.slow
def test_verification_waits_for_eventual_consistency(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-lag")
    sandbox.set_faults(consistency_lag=3)

    started = time.monotonic()
    r = amictl(["share", image_id, "--account", ACCOUNT, "-o", "json"])
    elapsed = time.monotonic() - started

    assert r.exit_code == 0, r
    result = r.json["results"][0]
    assert (result["status"], result["error"]) == ("changed", None)
    assert result["after"]["accounts"] == [ACCOUNT]
    assert elapsed >= 3.0  # it waited for the change to show instead of failing at once
    assert permissions(ec2, image_id) == [{"UserId": ACCOUNT}]


@pytest.mark.slow
def test_snapshot_verification_waits_for_eventual_consistency(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-lag-snap")
    sandbox.set_faults(consistency_lag=2, actions={"ModifySnapshotAttribute"})

    r = amictl(["share", image_id, "--account", ACCOUNT, "--with-snapshots", "-o", "json"])

    assert r.exit_code == 0, r
    result = r.json["results"][0]
    assert result["status"] == "changed"
    assert result["after"]["snapshots"][0]["accounts"] == [ACCOUNT]
    assert snapshot_accounts(ec2, image_id) == [ACCOUNT]


@pytest.mark.slow
def test_verification_past_the_timeout_fails_with_the_last_state_read(
    sandbox: Sandbox, amictl: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-lag-long", accounts=["444455556666"])
    sandbox.set_faults(consistency_lag=5)

    started = time.monotonic()
    r = amictl(["share", image_id, "--account", ACCOUNT, "--verify-timeout", "1", "-o", "json"])
    elapsed = time.monotonic() - started

    assert r.exit_code == 1, r
    result = r.json["results"][0]
    assert result["status"] == "failed"
    assert result["error"]["code"] == "VerificationFailed"
    # `after` is what EC2 last showed (still the old permissions), not what was asked for.
    assert result["after"] is not None
    assert result["after"]["accounts"] == ["444455556666"]
    assert result["after"] == result["before"]
    assert elapsed < 5  # gave up at the verify timeout, not when the lag ended
    modify = sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False)
    assert [(q.params.get("LaunchPermission.Add.1.UserId"), q.error) for q in modify] == [
        (ACCOUNT, None)
    ]
