"""Seeding: images of every kind, written straight into moto's backends.

Callers hold `BACKEND_LOCK` (the `Sandbox` methods do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from moto.ec2.models import ec2_backends

from . import kms, rules
from .ec2_errors import Ec2Error
from .state import BPA_BLOCKED, BPA_UNBLOCKED, ExtensionState

Encryption = Literal["aws-managed", "customer"]

# Demo targets: the spec's example accounts and organization (cli.md §7).
DEMO_ACCOUNT = "111122223333"
DEMO_ACCOUNT_2 = "444455556666"
FOREIGN_OWNER = "999988887777"
DEMO_ORG_ARN = "arn:aws:organizations::123456789012:organization/o-abc123def4"
DEMO_OU_ARN = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
MARKETPLACE_CODE = "8fj2k4l1m9n0p3q5r7s6t2u4v"  # Marketplace codes are 25 lowercase alphanumerics


def create_image(
    account: str,
    region: str,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    public: bool = False,
    accounts: Iterable[str] = (),
    organizations: Iterable[str] = (),
    organizational_units: Iterable[str] = (),
    product_code: str | None = None,
    encrypted: Encryption | None = None,
    imds_v2: bool = False,
    owner_id: str | None = None,
    snapshot_accounts: Iterable[str] = (),
) -> str:
    """Register an EBS-backed image (one snapshot) in the state asked for; returns its ID."""
    if encrypted not in (None, "aws-managed", "customer"):
        raise ValueError(f"encrypted must be None, 'aws-managed' or 'customer', not {encrypted!r}")
    permissions: list[dict[str, str]] = [{"Group": "all"}] if public else []
    permissions += [{"UserId": a} for a in accounts]
    permissions += [{"OrganizationArn": o} for o in organizations]
    permissions += [{"OrganizationalUnitArn": u} for u in organizational_units]
    try:
        rules.launch_items(permissions)
    except Ec2Error as e:
        raise ValueError(e.message) from None
    snapshot_users = list(snapshot_accounts)
    for user in [*snapshot_users, *([owner_id] if owner_id else [])]:
        if not rules.ACCOUNT_ID.match(user):
            raise ValueError(f"not a 12-digit account ID: {user!r}")

    backend: Any = ec2_backends[account][region]
    ami = backend.register_image(name=name, description=description)
    ami.description = description
    ami.launch_permissions.extend(permissions)
    if tags:
        ami.add_tags(dict(tags))
    if product_code:
        ami.product_codes = {product_code}
    if imds_v2:
        ami.imds_support = rules.IMDS_V2
    snapshot = ami.ebs_snapshot
    if owner_id:
        ami.owner_id = snapshot.owner_id = owner_id
    if encrypted is not None:
        snapshot.encrypted = True
        snapshot.kms_key_id = (
            kms.aws_managed_ebs_key(account, region)
            if encrypted == "aws-managed"
            else kms.customer_key(account, region)
        )
    snapshot.create_volume_permission_userids.update(snapshot_users)
    image_id: str = ami.id
    return image_id


def set_block_public_access(
    extension: ExtensionState, account: str, region: str, state: str
) -> None:
    if state not in (BPA_BLOCKED, BPA_UNBLOCKED):
        raise ValueError(f"state must be {BPA_BLOCKED!r} or {BPA_UNBLOCKED!r}, not {state!r}")
    extension.block_public_access[(account, region)] = state


def seed_demo(extension: ExtensionState, account: str, regions: Sequence[str]) -> dict[str, str]:
    """Demo images of every kind (labels → image IDs).

    The first region gets one image per case amictl distinguishes; every further region
    gets a few images (labels prefixed `<region>/`) and block public access turned on.
    """
    if not regions:
        raise ValueError("seed_demo needs at least one region")
    first, *others = regions
    labels: dict[str, str] = {}

    def image(label: str, region: str, name: str, description: str, **kw: Any) -> None:
        labels[label] = create_image(account, region, name, description=description, **kw)

    image("plain", first, "demo-plain", "Plain private image", tags={"App": "demo"})
    image(
        "shared-account",
        first,
        "demo-shared-account",
        "Shared with one account",
        accounts=[DEMO_ACCOUNT],
    )
    image(
        "shared-account-snapshots",
        first,
        "demo-shared-account-snapshots",
        "Shared with one account, snapshot too",
        accounts=[DEMO_ACCOUNT],
        snapshot_accounts=[DEMO_ACCOUNT],
    )
    image(
        "shared-org",
        first,
        "demo-shared-org",
        "Shared with an organization and an OU",
        organizations=[DEMO_ORG_ARN],
        organizational_units=[DEMO_OU_ARN],
    )
    image("public", first, "demo-public", "Public image", public=True)
    image(
        "marketplace",
        first,
        "demo-marketplace",
        "Marketplace product code",
        product_code=MARKETPLACE_CODE,
    )
    image(
        "encrypted-aws-key",
        first,
        "demo-encrypted-aws-key",
        "Encrypted with the AWS managed EBS key",
        encrypted="aws-managed",
    )
    image(
        "encrypted-customer-key",
        first,
        "demo-encrypted-customer-key",
        "Encrypted with a customer managed key",
        encrypted="customer",
    )
    image("imdsv2", first, "demo-imdsv2", "IMDSv2 already enforced", imds_v2=True)
    image("base-1", first, "base-2026-12-01", "Base image", tags={"Team": "base"})
    image(
        "base-2",
        first,
        "base-2026-12-02",
        "Base image, shared with staging",
        tags={"Team": "base"},
        accounts=[DEMO_ACCOUNT_2],
    )
    image("data-1", first, "data-2026-12-01", "Data team image", tags={"Team": "data"})
    image(
        "foreign-public",
        first,
        "partner-public",
        "Someone else's public image",
        public=True,
        owner_id=FOREIGN_OWNER,
    )

    for region in others:
        image(f"{region}/plain", region, "demo-plain", "Plain private image", tags={"App": "demo"})
        image(
            f"{region}/shared-account",
            region,
            "demo-shared-account",
            "Shared with one account",
            accounts=[DEMO_ACCOUNT],
        )
        image(f"{region}/base", region, "base-2026-12-01", "Base image", tags={"Team": "base"})
        set_block_public_access(extension, account, region, BPA_BLOCKED)
    return labels
