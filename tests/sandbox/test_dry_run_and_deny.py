"""DryRun (facts §1.1, §3: validation first, then DryRunOperation 412, nothing changed) and
the IAM deny knob (UnauthorizedOperation 403 for real and DryRun calls alike)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import OTHER, error_of, image, launch_permissions, snapshot_id

DRY_RUN = (412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")


def state(ec2: Any, image_id: str) -> tuple[Any, ...]:
    found = image(ec2, image_id)
    return (
        found.get("Description"),
        found.get("ImdsSupport"),
        found["Public"],
        launch_permissions(ec2, image_id),
        ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"],
    )


Call = Callable[[Any, str, str], tuple[Callable[..., Any], dict[str, Any]]]

MUTATIONS: dict[str, Call] = {
    "description": lambda ec2, img, snap: (
        ec2.modify_image_attribute,
        {"ImageId": img, "Description": {"Value": "new"}},
    ),
    "imds": lambda ec2, img, snap: (
        ec2.modify_image_attribute,
        {"ImageId": img, "ImdsSupport": {"Value": "v2.0"}},
    ),
    "share": lambda ec2, img, snap: (
        ec2.modify_image_attribute,
        {"ImageId": img, "LaunchPermission": {"Add": [{"UserId": "444455556666"}]}},
    ),
    "public": lambda ec2, img, snap: (
        ec2.modify_image_attribute,
        {"ImageId": img, "LaunchPermission": {"Add": [{"Group": "all"}]}},
    ),
    "reset": lambda ec2, img, snap: (
        ec2.reset_image_attribute,
        {"ImageId": img, "Attribute": "launchPermission"},
    ),
    "snapshot": lambda ec2, img, snap: (
        ec2.modify_snapshot_attribute,
        {
            "SnapshotId": snap,
            "Attribute": "createVolumePermission",
            "CreateVolumePermission": {"Add": [{"UserId": OTHER}]},
        },
    ),
    "enable-bpa": lambda ec2, img, snap: (
        ec2.enable_image_block_public_access,
        {"ImageBlockPublicAccessState": "block-new-sharing"},
    ),
    "disable-bpa": lambda ec2, img, snap: (ec2.disable_image_block_public_access, {}),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_dry_run_answers_412_and_changes_nothing(sandbox: Sandbox, ec2: Any, name: str) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old", accounts=[OTHER])
    snap = snapshot_id(ec2, image_id)
    before = state(ec2, image_id)
    call, kwargs = MUTATIONS[name](ec2, image_id, snap)
    assert error_of(call, DryRun=True, **kwargs) == DRY_RUN
    assert state(ec2, image_id) == before
    assert (
        ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")[
            "CreateVolumePermissions"
        ]
        == []
    )
    call(**kwargs)  # and the real call is allowed


READS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "describe_images": lambda ec2, img: {"ImageIds": [img]},
    "describe_image_attribute": lambda ec2, img: {"ImageId": img, "Attribute": "description"},
    "describe_snapshot_attribute": lambda ec2, img: {
        "SnapshotId": snapshot_id(ec2, img),
        "Attribute": "createVolumePermission",
    },
    "get_image_block_public_access_state": lambda ec2, img: {},
}


@pytest.mark.parametrize("call", sorted(READS))
def test_dry_run_on_reads(sandbox: Sandbox, ec2: Any, call: str) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    args = READS[call](ec2, image_id)
    assert error_of(getattr(ec2, call), DryRun=True, **args)[:2] == DRY_RUN[:2]


def test_dry_run_validates_parameters_first(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    assert (
        error_of(
            ec2.modify_image_attribute,
            ImageId=image_id,
            Description={"Value": "x" * 300},
            DryRun=True,
        )[1]
        == "InvalidParameterValue"
    )
    assert (
        error_of(
            ec2.modify_image_attribute,
            ImageId=image_id,
            Description={"Value": "d"},
            ImdsSupport={"Value": "v2.0"},
            DryRun=True,
        )[1]
        == "InvalidParameterCombination"
    )
    assert (
        error_of(
            ec2.modify_image_attribute,
            ImageId="ami-0123456789abcdef0",
            Description={"Value": "d"},
            DryRun=True,
        )[1]
        == "InvalidAMIID.NotFound"
    )
    assert (
        error_of(
            ec2.enable_image_block_public_access, ImageBlockPublicAccessState="nope", DryRun=True
        )[1]
        == "InvalidParameterValue"
    )


def test_deny_answers_unauthorized_for_real_and_dry_run(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    sandbox.deny(actions={"ModifyImageAttribute"})
    for dry_run in (True, False):
        status, code, message = error_of(
            ec2.modify_image_attribute,
            ImageId=image_id,
            LaunchPermission={"Add": [{"UserId": OTHER}]},
            DryRun=dry_run,
        )
        assert (status, code) == (403, "UnauthorizedOperation")
        assert "not authorized" in message
    assert launch_permissions(ec2, image_id) == []
    # other actions are unaffected
    ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert ec2.describe_images(ImageIds=[image_id])["Images"]
    sandbox.deny()
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"UserId": OTHER}]})
    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]


def test_deny_other_services(sandbox: Sandbox, client: Any) -> None:
    sandbox.deny(actions={"kms:DescribeKey", "sts:GetCallerIdentity"})
    _, code, _ = error_of(client("kms").describe_key, KeyId="alias/aws/ebs")
    assert code == "AccessDeniedException"
    status, code, _ = error_of(client("sts").get_caller_identity)
    assert (status, code) == (403, "AccessDenied")
    assert client().describe_images(Owners=["self"])["Images"] == []


def test_denied_requests_are_recorded(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    sandbox.deny(actions={"ResetImageAttribute"})
    error_of(ec2.reset_image_attribute, ImageId=image_id, Attribute="launchPermission", DryRun=True)
    (recorded,) = sandbox.mutating_requests("ResetImageAttribute")
    assert (recorded.error, recorded.status, recorded.fault, recorded.dry_run) == (
        "UnauthorizedOperation",
        403,
        "deny",
        True,
    )
