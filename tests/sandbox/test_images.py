"""ModifyImageAttribute, DescribeImages/DescribeImageAttribute and ResetImageAttribute
against the facts sheet (§1, §2, §3, §7): the error code, and that state did or did not
change."""

from __future__ import annotations

from typing import Any

import pytest

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import ORG, OTHER, OU, error_of, image, launch_permissions

# ---------------------------------------------------------------- description


def test_description_is_stored_and_reported_by_both_reads(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-desc", description="old")
    ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "Base image"})
    assert image(ec2, image_id)["Description"] == "Base image"
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="description")
    assert answer["Description"] == {"Value": "Base image"}
    assert answer["ImageId"] == image_id


def test_description_legacy_attribute_and_value(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-desc")
    ec2.modify_image_attribute(ImageId=image_id, Attribute="description", Value="legacy form")
    assert image(ec2, image_id)["Description"] == "legacy form"


def test_description_unset_is_absent_or_empty(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-nodesc")
    assert "Description" not in image(ec2, image_id)
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="description")
    assert answer["Description"] == {}


@pytest.mark.parametrize("length", [255, 256])
def test_description_limit_is_255(sandbox: Sandbox, ec2: Any, length: int) -> None:
    image_id = sandbox.create_image("us-east-1", "img-desc", description="before")
    text = "x" * length
    if length <= 255:
        ec2.modify_image_attribute(ImageId=image_id, Description={"Value": text})
        assert image(ec2, image_id)["Description"] == text
    else:
        status, code, _ = error_of(
            ec2.modify_image_attribute, ImageId=image_id, Description={"Value": text}
        )
        assert (status, code) == (400, "InvalidParameterValue")
        assert image(ec2, image_id)["Description"] == "before"


# ---------------------------------------------------------------- IMDSv2


def test_imds_support_is_stored_and_reported(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-imds")
    assert "ImdsSupport" not in image(ec2, image_id)
    assert (
        ec2.describe_image_attribute(ImageId=image_id, Attribute="imdsSupport")["ImdsSupport"] == {}
    )
    ec2.modify_image_attribute(ImageId=image_id, ImdsSupport={"Value": "v2.0"})
    assert image(ec2, image_id)["ImdsSupport"] == "v2.0"
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="imdsSupport")
    assert answer["ImdsSupport"] == {"Value": "v2.0"}


def test_imds_support_legacy_form(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-imds")
    ec2.modify_image_attribute(ImageId=image_id, Attribute="imdsSupport", Value="v2.0")
    assert image(ec2, image_id)["ImdsSupport"] == "v2.0"


@pytest.mark.parametrize("value", ["v1.0", "optional", "V2.0", ""])
def test_imds_support_other_values_are_invalid(sandbox: Sandbox, ec2: Any, value: str) -> None:
    image_id = sandbox.create_image("us-east-1", "img-imds")
    status, code, _ = error_of(
        ec2.modify_image_attribute, ImageId=image_id, ImdsSupport={"Value": value}
    )
    assert (status, code) == (400, "InvalidParameterValue")
    assert "ImdsSupport" not in image(ec2, image_id)


def test_imds_support_is_irreversible(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img-imds", imds_v2=True)
    _, code, _ = error_of(ec2.reset_image_attribute, ImageId=image_id, Attribute="imdsSupport")
    assert code == "InvalidParameterValue"
    _, code, _ = error_of(
        ec2.modify_image_attribute, ImageId=image_id, ImdsSupport={"Value": "v1.0"}
    )
    assert code == "InvalidParameterValue"
    ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    ec2.modify_image_attribute(ImageId=image_id, ImdsSupport={"Value": "v2.0"})  # idempotent
    assert image(ec2, image_id)["ImdsSupport"] == "v2.0"


# ---------------------------------------------------------------- one attribute per call


@pytest.mark.parametrize(
    "kwargs",
    [
        {"Description": {"Value": "d"}, "LaunchPermission": {"Add": [{"UserId": OTHER}]}},
        {"ImdsSupport": {"Value": "v2.0"}, "Description": {"Value": "d"}},
        {"ImdsSupport": {"Value": "v2.0"}, "LaunchPermission": {"Add": [{"Group": "all"}]}},
        {"Attribute": "description", "LaunchPermission": {"Add": [{"UserId": OTHER}]}},
        {"Attribute": "launchPermission", "Description": {"Value": "d"}},
    ],
)
def test_two_attributes_in_one_call(sandbox: Sandbox, ec2: Any, kwargs: dict[str, Any]) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="before")
    status, code, _ = error_of(ec2.modify_image_attribute, ImageId=image_id, **kwargs)
    assert (status, code) == (400, "InvalidParameterCombination")
    after = image(ec2, image_id)
    assert after["Description"] == "before"
    assert "ImdsSupport" not in after
    assert launch_permissions(ec2, image_id) == []


@pytest.mark.parametrize("kwargs", [{}, {"LaunchPermission": {"Add": [], "Remove": []}}])
def test_nothing_to_do_is_no_attributes_specified(
    sandbox: Sandbox, ec2: Any, kwargs: dict[str, Any]
) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **kwargs) == (
        400,
        "InvalidParameterCombination",
        "No attributes specified",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"Attribute": "launchPermission"},
        {"Attribute": "launchPermission", "UserGroups": ["all"]},  # no OperationType
    ],
)
def test_launch_permission_without_changes_is_missing(
    sandbox: Sandbox, ec2: Any, kwargs: dict[str, Any]
) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    assert error_of(ec2.modify_image_attribute, ImageId=image_id, **kwargs)[:2] == (
        400,
        "MissingParameter",
    )
    assert image(ec2, image_id)["Public"] is False


def test_unknown_attribute(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    _, code, _ = error_of(
        ec2.modify_image_attribute, ImageId=image_id, Attribute="kernel", Value="x"
    )
    assert code == "InvalidParameterValue"


# ---------------------------------------------------------------- launch permissions


def test_share_with_account_org_and_ou_in_one_call(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    ec2.modify_image_attribute(
        ImageId=image_id,
        LaunchPermission={
            "Add": [{"UserId": OTHER}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]
        },
    )
    assert launch_permissions(ec2, image_id) == [
        {"OrganizationArn": ORG},
        {"OrganizationalUnitArn": OU},
        {"UserId": OTHER},
    ]
    assert image(ec2, image_id)["Public"] is False  # shares are not public (facts §2.2)


def test_public_reflects_group_all(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img", accounts=[OTHER])
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"Group": "all"}]})
    assert image(ec2, image_id)["Public"] is True
    assert {"Group": "all"} in launch_permissions(ec2, image_id)
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Remove": [{"Group": "all"}]})
    assert image(ec2, image_id)["Public"] is False
    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]


def test_remove_shares(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image(
        "us-east-1", "img", accounts=[OTHER], organizations=[ORG], organizational_units=[OU]
    )
    ec2.modify_image_attribute(
        ImageId=image_id,
        LaunchPermission={"Remove": [{"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]},
    )
    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]


def test_legacy_flat_form(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    ec2.modify_image_attribute(
        ImageId=image_id,
        Attribute="launchPermission",
        OperationType="add",
        UserIds=[OTHER],
        OrganizationArns=[ORG],
    )
    assert launch_permissions(ec2, image_id) == [{"OrganizationArn": ORG}, {"UserId": OTHER}]
    ec2.modify_image_attribute(
        ImageId=image_id, Attribute="launchPermission", OperationType="remove", UserIds=[OTHER]
    )
    assert launch_permissions(ec2, image_id) == [{"OrganizationArn": ORG}]


@pytest.mark.parametrize(
    "item",
    [
        {"UserId": "1111-2222-3333"},
        {"UserId": "12345"},
        {"Group": "everyone"},
        {"OrganizationArn": "o-abc123def4"},
        {"OrganizationalUnitArn": "ou-ab12-cd34ef56"},
    ],
)
def test_invalid_items(sandbox: Sandbox, ec2: Any, item: dict[str, str]) -> None:
    image_id = sandbox.create_image("us-east-1", "img")
    status, code, _ = error_of(
        ec2.modify_image_attribute,
        ImageId=image_id,
        LaunchPermission={"Add": [{"UserId": OTHER}, item]},
    )
    assert (status, code) == (400, "InvalidAMIAttributeItemValue")
    assert launch_permissions(ec2, image_id) == []  # no partial success


def test_reset_clears_every_permission(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image(
        "us-east-1",
        "img",
        public=True,
        accounts=[OTHER],
        organizations=[ORG],
        organizational_units=[OU],
        description="kept",
        imds_v2=True,
    )
    ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert launch_permissions(ec2, image_id) == []
    after = image(ec2, image_id)
    assert after["Public"] is False
    assert (after["Description"], after["ImdsSupport"]) == ("kept", "v2.0")


@pytest.mark.parametrize("attribute", ["description", "imdsSupport", "kernel"])
def test_reset_other_attributes_is_invalid(sandbox: Sandbox, ec2: Any, attribute: str) -> None:
    image_id = sandbox.create_image("us-east-1", "img", accounts=[OTHER], description="d")
    status, code, _ = error_of(ec2.reset_image_attribute, ImageId=image_id, Attribute=attribute)
    assert (status, code) == (400, "InvalidParameterValue")
    assert launch_permissions(ec2, image_id) == [{"UserId": OTHER}]
    assert image(ec2, image_id)["Description"] == "d"


# ---------------------------------------------------------------- which image


def test_not_found_and_malformed(ec2: Any) -> None:
    missing = "ami-0123456789abcdef0"
    assert (
        error_of(ec2.modify_image_attribute, ImageId=missing, Description={"Value": "d"})[1]
        == "InvalidAMIID.NotFound"
    )
    assert (
        error_of(ec2.describe_image_attribute, ImageId=missing, Attribute="description")[1]
        == "InvalidAMIID.NotFound"
    )
    assert (
        error_of(ec2.modify_image_attribute, ImageId="ami-xyz", Description={"Value": "d"})[1]
        == "InvalidAMIID.Malformed"
    )


def test_images_of_other_owners_cannot_be_changed(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image("us-east-1", "theirs", public=True, owner_id="999988887777")
    assert error_of(
        ec2.modify_image_attribute, ImageId=image_id, LaunchPermission={"Add": [{"UserId": OTHER}]}
    )[:2] == (401, "AuthFailure")
    assert (
        error_of(ec2.describe_image_attribute, ImageId=image_id, Attribute="launchPermission")[1]
        == "AuthFailure"
    )
    assert image(ec2, image_id)["OwnerId"] == "999988887777"


# ---------------------------------------------------------------- DescribeImages


def test_describe_images_shape(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image(
        "us-east-1", "img", tags={"Team": "base"}, product_code="abc", encrypted="customer"
    )
    found = image(ec2, image_id)
    assert found["Tags"] == [{"Key": "Team", "Value": "base"}]
    assert found["ProductCodes"] == [{"ProductCodeId": "abc", "ProductCodeType": "marketplace"}]
    assert found["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert found["RootDeviceType"] == "ebs"
    assert found["OwnerId"] == sandbox.account_id
    assert "Tags" not in image(ec2, sandbox.create_image("us-east-1", "untagged"))


def test_describe_images_filters_and_owners(sandbox: Sandbox, ec2: Any) -> None:
    base = sandbox.create_image("us-east-1", "base-1", tags={"Team": "base"})
    sandbox.create_image("us-east-1", "data-1", tags={"Team": "data"})
    public = sandbox.create_image("us-east-1", "pub", public=True)
    theirs = sandbox.create_image("us-east-1", "theirs", public=True, owner_id="999988887777")

    def ids(**kwargs: Any) -> set[str]:
        return {i["ImageId"] for i in ec2.describe_images(**kwargs)["Images"]}

    assert ids(Owners=["self"], Filters=[{"Name": "tag:Team", "Values": ["base"]}]) == {base}
    assert ids(Filters=[{"Name": "is-public", "Values": ["true"]}]) == {public, theirs}
    assert ids(Owners=["self"], Filters=[{"Name": "is-public", "Values": ["true"]}]) == {public}
    assert ids(ImageIds=[theirs], Owners=["self"]) == set()
    _, code, _ = error_of(ec2.describe_images, Filters=[{"Name": "nonsense", "Values": ["x"]}])
    assert code == "InvalidParameterValue"


def test_describe_images_paginates(sandbox: Sandbox, ec2: Any) -> None:
    created = {sandbox.create_image("us-east-1", f"img-{n}") for n in range(7)}
    pages = ec2.get_paginator("describe_images").paginate(
        Owners=["self"], PaginationConfig={"PageSize": 5}
    )
    sizes, seen = [], set()
    for page in pages:
        sizes.append(len(page["Images"]))
        seen |= {i["ImageId"] for i in page["Images"]}
    assert sizes == [5, 2]
    assert seen == created
