"""EC2's rules for the image and snapshot attribute calls, as pure functions.

Parsing turns a request's parameters into one edit (or raises the error EC2 gives for a
malformed request); checking decides whether EC2 lets that edit happen to a given image or
snapshot. Neither touches moto. Where the facts sheet marks EC2's exact answer as
unconfirmed, the choice made here is noted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .ec2_errors import (
    MSG_BPA_PUBLIC,
    MSG_DEFAULT_KEY_SHARE,
    MSG_ENCRYPTED_PUBLIC,
    MSG_MARKETPLACE_PUBLIC,
    MSG_NO_ATTRIBUTES,
    Ec2Error,
    combination,
    invalid_value,
    item_value,
    missing,
)
from .state import BPA_BLOCKED

GetParam = Callable[[str], Any]
Permission = Mapping[str, str]  # one LaunchPermission / CreateVolumePermission item

PUBLIC: Permission = {"Group": "all"}
IMDS_V2 = "v2.0"
DESCRIPTION_MAX = 255  # facts §4.2: historically 255 (unconfirmed)
SNAPSHOT_MODIFICATIONS_MAX = 500  # facts §1.2 / §5

IMAGE_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
# Facts §4.2, partition-agnostic patterns.
ORG_ARN = re.compile(r"^arn:aws[^:]*:organizations::\d{12}:organization/o-[a-z0-9]{10,32}$")
OU_ARN = re.compile(
    r"^arn:aws[^:]*:organizations::\d{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$"
)

MODIFIABLE_IMAGE_ATTRIBUTES = ("description", "imdsSupport", "launchPermission")
# Facts §2.1: the names DescribeImageAttribute accepts.
DESCRIBABLE_IMAGE_ATTRIBUTES = (
    "description",
    "kernel",
    "ramdisk",
    "launchPermission",
    "productCodes",
    "blockDeviceMapping",
    "sriovNetSupport",
    "bootMode",
    "tpmSupport",
    "uefiData",
    "lastLaunchedTime",
    "imdsSupport",
    "deregistrationProtection",
)

# Legacy flat ModifyImageAttribute lists (facts §1.1) and the LaunchPermission key each fills.
_FLAT_LAUNCH_LISTS = (
    ("UserIds", "UserId"),
    ("UserGroups", "Group"),
    ("OrganizationArns", "OrganizationArn"),
    ("OrganizationalUnitArns", "OrganizationalUnitArn"),
)


# ---------------------------------------------------------------- edits


@dataclass(frozen=True)
class LaunchPermissionEdit:
    add: tuple[Permission, ...]
    remove: tuple[Permission, ...]

    @property
    def makes_public(self) -> bool:
        return PUBLIC in self.add

    @property
    def shares(self) -> bool:
        """Whether it grants anyone but the public (accounts, orgs, OUs)."""
        return any("Group" not in p for p in self.add)


@dataclass(frozen=True)
class DescriptionEdit:
    value: str


@dataclass(frozen=True)
class ImdsSupportEdit:
    value: str


ImageEdit = LaunchPermissionEdit | DescriptionEdit | ImdsSupportEdit


@dataclass(frozen=True)
class SnapshotPermissionEdit:
    add: tuple[Permission, ...]
    remove: tuple[Permission, ...]

    @property
    def makes_public(self) -> bool:
        return PUBLIC in self.add


@dataclass(frozen=True)
class ImageFacts:
    """What the checks need to know about an image and its region."""

    image_id: str
    is_public: bool
    has_product_codes: bool
    encrypted: bool
    on_aws_managed_key: bool
    block_public_access: str


@dataclass(frozen=True)
class SnapshotFacts:
    snapshot_id: str
    encrypted: bool
    on_aws_managed_key: bool


# ---------------------------------------------------------------- ModifyImageAttribute


def parse_image_edit(get: GetParam) -> ImageEdit:
    """Facts §1.1-§1.2: exactly one attribute per call, named by `Attribute` or by the
    structured parameter; anything else is `InvalidParameterCombination`."""
    attribute = get("Attribute")
    launch = get("LaunchPermission") or {}
    add = list(launch.get("Add") or [])
    remove = list(launch.get("Remove") or [])
    operation = get("OperationType")
    flat = [(key, v) for param, key in _FLAT_LAUNCH_LISTS for v in get(param) or []]
    description, imds, value = get("Description"), get("ImdsSupport"), get("Value")

    if get("ProductCodes"):
        # [API-MIA] documents ProductCodes as "Not supported" today.
        raise Ec2Error("UnsupportedOperation", "The productCodes attribute is not supported.")
    if attribute is not None and attribute not in MODIFIABLE_IMAGE_ATTRIBUTES:
        raise invalid_value("attribute", attribute, "Unknown attribute.")

    kinds: set[str] = set()
    if add or remove or flat or operation:
        kinds.add("launchPermission")
    if description is not None:
        kinds.add("description")
    if imds is not None:
        kinds.add("imdsSupport")
    if attribute is not None:
        kinds.add(attribute)
    if len(kinds) > 1:
        # Unconfirmed for this API (facts §1.2); ModifyVpcAttribute's message, by analogy.
        names = ", ".join(sorted(kinds))
        raise combination(f"Fields for multiple attribute types specified: {names}")
    if not kinds:
        raise combination(MSG_NO_ATTRIBUTES)
    kind = kinds.pop()

    if kind == "launchPermission":
        if value is not None:
            raise combination("The Value parameter is only valid with description or imdsSupport.")
        if operation is not None and operation not in ("add", "remove"):
            raise invalid_value("operationType", operation, "Valid values: add, remove.")
        if flat and operation is not None:
            (add if operation == "add" else remove).extend({k: v} for k, v in flat)
        if not add and not remove:
            # Observed 2015 (facts §1.2): flat lists without a usable LaunchPermission.
            raise missing("LaunchPermission")
        return LaunchPermissionEdit(launch_items(add), launch_items(remove))

    structured = description if kind == "description" else imds
    text = structured.get("Value") if structured is not None else value
    if text is None:
        raise missing("Value")
    if kind == "description":
        if len(text) > DESCRIPTION_MAX:
            raise Ec2Error(
                "InvalidParameterValue",
                f"Value for parameter description is invalid. Length exceeds maximum of "
                f"{DESCRIPTION_MAX} characters.",
            )
        return DescriptionEdit(text)
    if text != IMDS_V2:
        # Facts §7: v2.0 is the only value; nothing can set it back.
        raise invalid_value("imdsSupport", text, f"Valid values: {IMDS_V2}.")
    return ImdsSupportEdit(text)


def launch_items(items: Iterable[Mapping[str, str]]) -> tuple[Permission, ...]:
    """Validate LaunchPermission items; one entity per item, duplicates dropped.
    Raises InvalidAMIAttributeItemValue for a malformed account ID, group or ARN."""
    out: list[Permission] = []
    for item in items:
        for key, val in item.items():
            if key == "Group":
                ok = val == "all"
                item_type = "UserGroup"
            elif key == "UserId":
                ok = bool(ACCOUNT_ID.match(val))
                item_type = "userId"
            elif key == "OrganizationArn":
                ok = bool(ORG_ARN.match(val))
                item_type = "organizationArn"
            elif key == "OrganizationalUnitArn":
                ok = bool(OU_ARN.match(val))
                item_type = "organizationalUnitArn"
            else:
                ok, item_type = False, key
            if not ok:
                # Facts §3: InvalidAMIAttributeItemValue is "a value added to/removed from
                # an image attribute is invalid"; used for bad ARNs too (code unconfirmed).
                raise item_value(item_type, val)
            permission = {key: val}
            if permission not in out:
                out.append(permission)
    return tuple(out)


def check_image_edit(edit: ImageEdit, image: ImageFacts) -> None:
    """The sharing restrictions EC2 enforces (facts §3 'specific situations', §5, §6).

    Checked in this order (EC2's own order is unconfirmed): Marketplace code, encrypted
    snapshot, block public access, then the AWS managed key for account/org/OU shares.
    Block public access only refuses *new* public sharing: re-adding `all` to an image that
    is already public is let through as the no-op it is.
    """
    if not isinstance(edit, LaunchPermissionEdit):
        return
    if edit.makes_public:
        if image.has_product_codes:
            raise Ec2Error("OperationNotPermitted", MSG_MARKETPLACE_PUBLIC)
        if image.encrypted:
            raise Ec2Error("UnsupportedOperation", MSG_ENCRYPTED_PUBLIC)
        if image.block_public_access == BPA_BLOCKED and not image.is_public:
            raise Ec2Error("OperationNotPermitted", MSG_BPA_PUBLIC)
    if edit.shares and image.on_aws_managed_key:
        raise Ec2Error("InvalidParameter", MSG_DEFAULT_KEY_SHARE)


# ---------------------------------------------------------------- ResetImageAttribute


def parse_reset_attribute(get: GetParam) -> None:
    """Facts §2.3: only launchPermission can be reset (description and imdsSupport never)."""
    attribute = get("Attribute")
    if attribute is None:
        raise missing("Attribute")
    if attribute != "launchPermission":
        raise invalid_value("attribute", attribute, "Only launchPermission can be reset.")


# ---------------------------------------------------------------- DescribeImageAttribute


def parse_describe_attribute(get: GetParam) -> str:
    attribute = get("Attribute")
    if attribute is None:
        raise missing("Attribute")
    if attribute not in DESCRIBABLE_IMAGE_ATTRIBUTES:
        raise invalid_value("attribute", attribute, "Unknown attribute.")
    return str(attribute)


def check_image_id(image_id: str | None) -> str:
    if not image_id:
        raise missing("ImageId")
    if not IMAGE_ID.match(image_id):
        # Facts §3: InvalidAMIID.Malformed.
        raise Ec2Error("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
    return image_id


# ---------------------------------------------------------------- ModifySnapshotAttribute


def parse_snapshot_edit(get: GetParam) -> SnapshotPermissionEdit:
    """Facts §5: createVolumePermission only; Add or Remove, never both in one call; at most
    500 changes; UserId or Group=all only (no org/OU for snapshots)."""
    attribute = get("Attribute")
    if attribute is not None and attribute != "createVolumePermission":
        if attribute == "productCodes":
            raise Ec2Error("UnsupportedOperation", "The productCodes attribute is not supported.")
        raise invalid_value("attribute", attribute, "Unknown attribute.")
    permission = get("CreateVolumePermission") or {}
    add = list(permission.get("Add") or [])
    remove = list(permission.get("Remove") or [])
    operation = get("OperationType")
    flat = [{"UserId": u} for u in get("UserIds") or []] + [
        {"Group": g} for g in get("GroupNames") or []
    ]
    if operation is not None and operation not in ("add", "remove"):
        raise invalid_value("operationType", operation, "Valid values: add, remove.")
    if flat:
        if operation is None:
            raise missing("OperationType")
        (add if operation == "add" else remove).extend(flat)
    if add and remove:
        raise combination("You cannot add and remove createVolumePermission in the same request.")
    if not add and not remove:
        raise combination(MSG_NO_ATTRIBUTES)
    if len(add) + len(remove) > SNAPSHOT_MODIFICATIONS_MAX:
        raise Ec2Error(
            "InvalidParameterValue",
            f"You can modify at most {SNAPSHOT_MODIFICATIONS_MAX} permissions in one request.",
        )
    return SnapshotPermissionEdit(_volume_items(add), _volume_items(remove))


def _volume_items(items: Iterable[Mapping[str, str]]) -> tuple[Permission, ...]:
    out: list[Permission] = []
    for item in items:
        for key, val in item.items():
            if key == "UserId" and not ACCOUNT_ID.match(val):
                # Facts §3: InvalidUserID.Malformed, "user or owner value invalid".
                raise Ec2Error("InvalidUserID.Malformed", f'Invalid user id: "{val}"')
            if key == "Group" and val != "all":
                raise invalid_value("group", val, "Valid values: all.")
            if key not in ("UserId", "Group"):
                raise invalid_value("createVolumePermission", key)
            permission = {key: val}
            if permission not in out:
                out.append(permission)
    return tuple(out)


def check_snapshot_edit(edit: SnapshotPermissionEdit, snapshot: SnapshotFacts) -> None:
    """Facts §5: encrypted snapshots cannot be public; AWS-managed-key snapshots cannot be
    shared at all."""
    if edit.makes_public and snapshot.encrypted:
        raise Ec2Error("UnsupportedOperation", MSG_ENCRYPTED_PUBLIC)
    if edit.add and snapshot.on_aws_managed_key:
        raise Ec2Error("InvalidParameter", MSG_DEFAULT_KEY_SHARE)


def parse_describe_snapshot_attribute(get: GetParam) -> str:
    attribute = get("Attribute")
    if attribute is None:
        raise missing("Attribute")
    if attribute not in ("createVolumePermission", "productCodes"):
        raise invalid_value("attribute", attribute, "Unknown attribute.")
    return str(attribute)


# ---------------------------------------------------------------- block public access


def parse_enable_block_public_access(get: GetParam) -> str:
    """Facts §6: `block-new-sharing` is the only valid state."""
    state = get("ImageBlockPublicAccessState")
    if state is None:
        raise missing("ImageBlockPublicAccessState")
    if state != BPA_BLOCKED:
        raise invalid_value("ImageBlockPublicAccessState", state, f"Valid values: {BPA_BLOCKED}.")
    return BPA_BLOCKED
