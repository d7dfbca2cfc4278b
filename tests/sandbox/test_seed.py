"""Seeding: `create_image` options and `seed_demo` content."""

from __future__ import annotations

from typing import Any

import pytest

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import ORG, OTHER, OU, image, launch_permissions, snapshot_id


def test_create_image_options(sandbox: Sandbox, client: Any) -> None:
    ec2, kms = client(), client("kms")
    image_id = sandbox.create_image(
        "us-east-1",
        "full",
        description="All options",
        tags={"Team": "base", "Env": "prod"},
        accounts=[OTHER],
        organizations=[ORG],
        organizational_units=[OU],
        product_code="abc",
        encrypted="customer",
        imds_v2=True,
        snapshot_accounts=[OTHER],
    )
    found = image(ec2, image_id)
    assert found["Name"] == "full"
    assert found["Description"] == "All options"
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == {"Team": "base", "Env": "prod"}
    assert found["ImdsSupport"] == "v2.0"
    assert found["Public"] is False
    assert found["State"] == "available"
    assert launch_permissions(ec2, image_id) == [
        {"OrganizationArn": ORG},
        {"OrganizationalUnitArn": OU},
        {"UserId": OTHER},
    ]
    snap = snapshot_id(ec2, image_id)
    (snapshot,) = ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"]
    assert snapshot["Encrypted"] is True
    key = kms.describe_key(KeyId=snapshot["KmsKeyId"])["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    assert ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")[
        "CreateVolumePermissions"
    ] == [{"UserId": OTHER}]


def test_create_image_other_owner(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "theirs", public=True, owner_id="999988887777")
    assert image(ec2, image_id)["OwnerId"] == "999988887777"
    assert ec2.describe_images(Owners=["self"])["Images"] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"encrypted": "kms"},
        {"accounts": ["123"]},
        {"organizations": ["o-abc123def4"]},
        {"snapshot_accounts": ["x"]},
        {"owner_id": "owner"},
    ],
)
def test_create_image_rejects_bad_values(sandbox: Sandbox, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        sandbox.create_image("us-east-1", "bad", **kwargs)


def test_set_block_public_access(sandbox: Sandbox, client: Any) -> None:
    sandbox.set_block_public_access("eu-west-1", "block-new-sharing")
    west = client(region="eu-west-1")
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "block-new-sharing"
    )
    with pytest.raises(ValueError):
        sandbox.set_block_public_access("eu-west-1", "blocked")


def test_seed_demo(sandbox: Sandbox, client: Any) -> None:
    labels = sandbox.seed_demo()
    east, west, kms = client(region="us-east-1"), client(region="eu-west-1"), client("kms")
    assert set(labels) == {
        "plain",
        "shared-account",
        "shared-account-snapshots",
        "shared-org",
        "public",
        "marketplace",
        "encrypted-aws-key",
        "encrypted-customer-key",
        "imdsv2",
        "base-1",
        "base-2",
        "data-1",
        "foreign-public",
        "eu-west-1/plain",
        "eu-west-1/shared-account",
        "eu-west-1/base",
    }
    east_images = {i["ImageId"]: i for i in east.describe_images()["Images"]}
    west_images = {i["ImageId"]: i for i in west.describe_images()["Images"]}
    assert set(east_images) | set(west_images) == set(labels.values())
    assert {labels[k] for k in labels if k.startswith("eu-west-1/")} == set(west_images)

    def get(label: str) -> Any:
        return east_images[labels[label]]

    def encryption_key_manager(label: str) -> str:
        snap = get(label)["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        key_id = east.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["KmsKeyId"]
        return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyManager"])

    assert get("public")["Public"] and get("foreign-public")["Public"]
    assert get("foreign-public")["OwnerId"] != sandbox.account_id
    assert get("marketplace")["ProductCodes"][0]["ProductCodeType"] == "marketplace"
    assert get("imdsv2")["ImdsSupport"] == "v2.0"
    assert "ImdsSupport" not in get("plain")
    assert encryption_key_manager("encrypted-aws-key") == "AWS"
    assert encryption_key_manager("encrypted-customer-key") == "CUSTOMER"
    assert launch_permissions(east, labels["shared-account"]) == [{"UserId": OTHER}]
    assert launch_permissions(east, labels["shared-org"]) == [
        {"OrganizationArn": ORG},
        {"OrganizationalUnitArn": OU},
    ]
    base = east.describe_images(Owners=["self"], Filters=[{"Name": "tag:Team", "Values": ["base"]}])
    assert {i["ImageId"] for i in base["Images"]} == {labels["base-1"], labels["base-2"]}
    assert east.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "unblocked"
    )
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "block-new-sharing"
    )


def test_seed_demo_is_deterministic_in_content(sandbox: Sandbox, ec2: Any) -> None:
    def content() -> list[tuple[Any, ...]]:
        labels = sandbox.seed_demo(["us-east-1"])
        result = []
        for label, image_id in sorted(labels.items()):
            found = image(ec2, image_id)
            result.append(
                (
                    label,
                    found["Name"],
                    found.get("Description"),
                    found["Public"],
                    found.get("ImdsSupport"),
                    sorted((t["Key"], t["Value"]) for t in found.get("Tags", [])),
                    found["OwnerId"] == sandbox.account_id and launch_permissions(ec2, image_id),
                )
            )
        return result

    first = content()
    sandbox.reset()
    assert content() == first
