"""Sharing restrictions (facts §3 'specific situations', §5, §6): Marketplace codes,
encrypted snapshots, the AWS managed key, image block public access; and snapshots' own
createVolumePermission with KMS as amictl reads it."""

from __future__ import annotations

from typing import Any

import pytest

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import (
    ORG,
    OTHER,
    OU,
    error_of,
    image,
    launch_permissions,
    snapshot_id,
)

MAKE_PUBLIC = {"LaunchPermission": {"Add": [{"Group": "all"}]}}

# ---------------------------------------------------------------- making public


def test_marketplace_image_cannot_be_public(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "mp", product_code="abcdefghijklmnopqrstuvwxy")
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **MAKE_PUBLIC) == (
        400,
        "OperationNotPermitted",
        "Images with marketplace product codes may not be made public.",
    )
    assert image(ec2, image_id)["Public"] is False
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"UserId": OTHER}]})
    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]


@pytest.mark.parametrize("encrypted", ["customer", "aws-managed"])
def test_encrypted_image_cannot_be_public(sandbox: Sandbox, ec2: Any, encrypted: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "enc", encrypted=encrypted)
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **MAKE_PUBLIC) == (
        400,
        "UnsupportedOperation",
        "Encrypted snapshots can't be shared publicly. Specify another snapshot.",
    )
    assert image(ec2, image_id)["Public"] is False


@pytest.mark.parametrize(
    "item", [{"UserId": OTHER}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]
)
def test_aws_managed_key_image_cannot_be_shared(
    sandbox: Sandbox, ec2: Any, item: dict[str, str]
) -> None:
    image_id = sandbox.create_image("us-east-1", "enc", encrypted="aws-managed")
    assert error_of(
        ec2.modify_image_attribute, ImageId=image_id, LaunchPermission={"Add": [item]}
    ) == (
        400,
        "InvalidParameter",
        "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
    )
    assert launch_permissions(ec2, image_id) == []


def test_customer_key_image_can_be_shared(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "enc", encrypted="customer")
    ec2.modify_image_attribute(
        ImageId=image_id, LaunchPermission={"Add": [{"UserId": OTHER}, {"OrganizationArn": ORG}]}
    )
    assert launch_permissions(ec2, image_id) == [{"OrganizationArn": ORG}, {"UserId": OTHER}]


def test_removing_from_aws_managed_key_image_is_allowed(sandbox: Sandbox, ec2: Any) -> None:
    # Seeded state that EC2 would never have allowed, cleaned up: Remove is never refused.
    image_id = sandbox.create_image("us-east-1", "enc", encrypted="aws-managed", accounts=[OTHER])
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Remove": [{"UserId": OTHER}]})
    assert launch_permissions(ec2, image_id) == []


# ---------------------------------------------------------------- block public access


def test_block_public_access_defaults_to_unblocked(ec2: Any) -> None:
    answer = ec2.get_image_block_public_access_state()
    assert (answer["ImageBlockPublicAccessState"], answer["ManagedBy"]) == ("unblocked", "account")


def test_enable_disable_block_public_access_per_region(client: Any) -> None:
    east, west = client(region="us-east-1"), client(region="eu-west-1")
    answer = east.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    assert answer["ImageBlockPublicAccessState"] == "block-new-sharing"
    assert east.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "block-new-sharing"
    )
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "unblocked"
    )
    assert east.disable_image_block_public_access()["ImageBlockPublicAccessState"] == "unblocked"
    assert east.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "unblocked"
    )


def test_enable_accepts_only_block_new_sharing(ec2: Any) -> None:
    _, code, _ = error_of(
        ec2.enable_image_block_public_access, ImageBlockPublicAccessState="block-all-sharing"
    )
    assert code == "InvalidParameterValue"
    assert ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == ("unblocked")


def test_block_public_access_refuses_new_public_sharing_only(sandbox: Sandbox, ec2: Any) -> None:
    private = sandbox.create_image("us-east-1", "private")
    already_public = sandbox.create_image("us-east-1", "public", public=True)
    sandbox.set_block_public_access("us-east-1", "block-new-sharing")

    status, code, message = error_of(ec2.modify_image_attribute, ImageId=private, **MAKE_PUBLIC)
    assert (status, code) == (400, "OperationNotPermitted")
    assert "block public access" in message and "DisableImageBlockPublicAccess" in message
    assert image(ec2, private)["Public"] is False

    assert image(ec2, already_public)["Public"] is True  # stays public
    ec2.modify_image_attribute(
        ImageId=private,
        LaunchPermission={
            "Add": [{"UserId": OTHER}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]
        },
    )
    assert len(launch_permissions(ec2, private)) == 3
    ec2.modify_image_attribute(
        ImageId=already_public, LaunchPermission={"Remove": [{"Group": "all"}]}
    )
    assert image(ec2, already_public)["Public"] is False
    _, code, _ = error_of(ec2.modify_image_attribute, ImageId=already_public, **MAKE_PUBLIC)
    assert code == "OperationNotPermitted"  # once private, it cannot go back


def test_block_public_access_via_api_takes_effect(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "private")
    ec2.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **MAKE_PUBLIC)[1] == (
        "OperationNotPermitted"
    )
    ec2.disable_image_block_public_access()
    ec2.modify_image_attribute(ImageId=image_id, **MAKE_PUBLIC)
    assert image(ec2, image_id)["Public"] is True


# ---------------------------------------------------------------- snapshots and KMS


def test_encrypted_snapshots_report_their_key(sandbox: Sandbox, client: Any) -> None:
    ec2, kms = client(), client("kms")
    managed = sandbox.create_image("us-east-1", "aws-key", encrypted="aws-managed")
    custom = sandbox.create_image("us-east-1", "cmk", encrypted="customer")
    plain = sandbox.create_image("us-east-1", "plain")
    snapshots = {
        s["SnapshotId"]: s
        for s in ec2.describe_snapshots(
            SnapshotIds=[snapshot_id(ec2, i) for i in (managed, custom, plain)]
        )["Snapshots"]
    }
    managed_snap = snapshots[snapshot_id(ec2, managed)]
    custom_snap = snapshots[snapshot_id(ec2, custom)]
    assert managed_snap["Encrypted"] is True and custom_snap["Encrypted"] is True
    assert snapshots[snapshot_id(ec2, plain)]["Encrypted"] is False
    assert "KmsKeyId" not in snapshots[snapshot_id(ec2, plain)]

    managed_key = kms.describe_key(KeyId=managed_snap["KmsKeyId"])["KeyMetadata"]
    custom_key = kms.describe_key(KeyId=custom_snap["KmsKeyId"])["KeyMetadata"]
    assert managed_key["KeyManager"] == "AWS"
    assert custom_key["KeyManager"] == "CUSTOMER"
    assert kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"] == managed_key["Arn"]
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/aws/ebs"] == managed_key["KeyId"]
    assert image(ec2, managed)["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True


def test_aws_managed_key_created_by_kms_itself_reports_aws(client: Any) -> None:
    kms = client("kms", region="eu-west-1")
    assert kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyManager"] == "AWS"


def volume_permissions(ec2: Any, snap: str) -> list[dict[str, str]]:
    answer = ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")
    assert answer["SnapshotId"] == snap
    return list(answer["CreateVolumePermissions"])


def test_snapshot_share_and_unshare(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img", encrypted="customer"))
    assert volume_permissions(ec2, snap) == []
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"UserId": OTHER}, {"UserId": "444455556666"}]},
    )
    assert volume_permissions(ec2, snap) == [{"UserId": OTHER}, {"UserId": "444455556666"}]
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        OperationType="remove",
        UserIds=["444455556666"],
    )
    assert volume_permissions(ec2, snap) == [{"UserId": OTHER}]


def test_snapshot_public(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img"))
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"Group": "all"}]},
    )
    assert volume_permissions(ec2, snap) == [{"Group": "all"}]
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Remove": [{"Group": "all"}]},
    )
    assert volume_permissions(ec2, snap) == []


def test_snapshot_add_and_remove_in_one_call(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img", snapshot_accounts=[OTHER]))
    status, code, _ = error_of(
        ec2.modify_snapshot_attribute,
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"UserId": "444455556666"}], "Remove": [{"UserId": OTHER}]},
    )
    assert (status, code) == (400, "InvalidParameterCombination")
    assert volume_permissions(ec2, snap) == [{"UserId": OTHER}]


def test_encrypted_snapshot_cannot_be_public(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img", encrypted="customer"))
    assert (
        error_of(
            ec2.modify_snapshot_attribute,
            SnapshotId=snap,
            Attribute="createVolumePermission",
            CreateVolumePermission={"Add": [{"Group": "all"}]},
        )[1]
        == "UnsupportedOperation"
    )
    assert volume_permissions(ec2, snap) == []


def test_aws_managed_key_snapshot_cannot_be_shared(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img", encrypted="aws-managed"))
    assert error_of(
        ec2.modify_snapshot_attribute,
        SnapshotId=snap,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"UserId": OTHER}]},
    )[1:] == (
        "InvalidParameter",
        "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
    )
    assert volume_permissions(ec2, snap) == []


def test_snapshot_bad_user_and_missing_snapshot(sandbox: Sandbox, ec2: Any) -> None:
    snap = snapshot_id(ec2, sandbox.create_image("us-east-1", "img"))
    assert (
        error_of(
            ec2.modify_snapshot_attribute,
            SnapshotId=snap,
            Attribute="createVolumePermission",
            CreateVolumePermission={"Add": [{"UserId": "not-an-account"}]},
        )[1]
        == "InvalidUserID.Malformed"
    )
    assert (
        error_of(
            ec2.describe_snapshot_attribute,
            SnapshotId="snap-0123456789abcdef0",
            Attribute="createVolumePermission",
        )[1]
        == "InvalidSnapshot.NotFound"
    )
