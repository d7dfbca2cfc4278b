"""The data that flows through every command: frozen, comparable, no I/O.

cli → Intent; select → ImageRef; read → ImageState; plan → Plan; run → Result.
Nothing here imports boto3, typer or rich.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

# The launch-permission group that means "public".
PUBLIC_GROUP = "all"
IMDS_V2 = "v2.0"


class Status(str, enum.Enum):
    """Per-image outcome (spec §6)."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    WOULD_CHANGE = "would-change"
    REFUSED = "refused"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_problem(self) -> bool:
        return self in (Status.FAILED, Status.REFUSED)


@dataclass(frozen=True, order=True)
class ImageRef:
    image_id: str
    region: str


@dataclass(frozen=True, order=True)
class ProductCode:
    id: str
    type: str  # "marketplace" | "devpay"


class TargetKind(str, enum.Enum):
    """The kinds of explicit launch-permission targets (public is not one: it is a flag)."""

    ACCOUNTS = "accounts"
    ORGANIZATIONS = "organizations"
    ORGANIZATIONAL_UNITS = "organizational_units"


@dataclass(frozen=True)
class LaunchTargets:
    """A set of launch-permission targets: accounts, organizations, OUs, and public (`all`)."""

    accounts: frozenset[str] = frozenset()
    organizations: frozenset[str] = frozenset()
    organizational_units: frozenset[str] = frozenset()
    public: bool = False

    @classmethod
    def of(
        cls,
        accounts: Iterable[str] = (),
        organizations: Iterable[str] = (),
        organizational_units: Iterable[str] = (),
        public: bool = False,
    ) -> LaunchTargets:
        return cls(
            frozenset(accounts), frozenset(organizations), frozenset(organizational_units), public
        )

    @property
    def is_empty(self) -> bool:
        return not (self.accounts or self.organizations or self.organizational_units or self.public)

    @property
    def shares(self) -> LaunchTargets:
        """The explicit shares only (everything but public)."""
        return replace(self, public=False)

    def only(self, kinds: Iterable[TargetKind]) -> LaunchTargets:
        """The targets of these kinds (never public)."""
        wanted = set(kinds)
        return LaunchTargets(
            self.accounts if TargetKind.ACCOUNTS in wanted else frozenset(),
            self.organizations if TargetKind.ORGANIZATIONS in wanted else frozenset(),
            self.organizational_units if TargetKind.ORGANIZATIONAL_UNITS in wanted else frozenset(),
        )

    def union(self, other: LaunchTargets) -> LaunchTargets:
        return LaunchTargets(
            self.accounts | other.accounts,
            self.organizations | other.organizations,
            self.organizational_units | other.organizational_units,
            self.public or other.public,
        )

    def intersection(self, other: LaunchTargets) -> LaunchTargets:
        return LaunchTargets(
            self.accounts & other.accounts,
            self.organizations & other.organizations,
            self.organizational_units & other.organizational_units,
            self.public and other.public,
        )

    def difference(self, other: LaunchTargets) -> LaunchTargets:
        return LaunchTargets(
            self.accounts - other.accounts,
            self.organizations - other.organizations,
            self.organizational_units - other.organizational_units,
            self.public and not other.public,
        )

    def to_wire(self) -> list[dict[str, str]]:
        """LaunchPermission items in a stable order: Group, UserId, OrganizationArn, OU ARN."""
        items: list[dict[str, str]] = []
        if self.public:
            items.append({"Group": PUBLIC_GROUP})
        items += [{"UserId": a} for a in sorted(self.accounts)]
        items += [{"OrganizationArn": o} for o in sorted(self.organizations)]
        items += [{"OrganizationalUnitArn": u} for u in sorted(self.organizational_units)]
        return items

    @classmethod
    def from_wire(cls, items: Iterable[dict[str, str]]) -> LaunchTargets:
        accounts, orgs, ous, public = set(), set(), set(), False
        for item in items:
            if item.get("Group") == PUBLIC_GROUP:
                public = True
            if "UserId" in item:
                accounts.add(item["UserId"])
            if "OrganizationArn" in item:
                orgs.add(item["OrganizationArn"])
            if "OrganizationalUnitArn" in item:
                ous.add(item["OrganizationalUnitArn"])
        return cls.of(accounts, orgs, ous, public)


class KeyManager(str, enum.Enum):
    AWS = "AWS"
    CUSTOMER = "CUSTOMER"


@dataclass(frozen=True)
class SnapshotState:
    snapshot_id: str
    encrypted: bool
    kms_key_id: str | None = None
    # Who owns the KMS key (AWS-managed aws/ebs or customer managed); None = unknown/unencrypted.
    key_manager: KeyManager | None = None
    # createVolumePermission; None unless snapshot permissions were read.
    accounts: frozenset[str] | None = None
    public: bool | None = None

    @property
    def permissions_known(self) -> bool:
        return self.accounts is not None

    @property
    def uses_default_key(self) -> bool:
        return self.encrypted and self.key_manager is KeyManager.AWS


@dataclass(frozen=True)
class ImageState:
    """What EC2 says about one image (spec §6 'image state')."""

    image_id: str
    region: str
    name: str | None
    owner_id: str
    state: str
    launch: LaunchTargets = LaunchTargets()
    description: str | None = None
    imds_support: str | None = None
    product_codes: tuple[ProductCode, ...] = ()
    snapshots: tuple[SnapshotState, ...] = ()

    @property
    def ref(self) -> ImageRef:
        return ImageRef(self.image_id, self.region)

    @property
    def is_public(self) -> bool:
        return self.launch.public

    @property
    def has_encrypted_snapshot(self) -> bool:
        return any(s.encrypted for s in self.snapshots)

    @property
    def is_imdsv2_enforced(self) -> bool:
        return self.imds_support == IMDS_V2


# ---------------------------------------------------------------- intents


class Command(str, enum.Enum):
    """Canonical command names (what JSON `command` says, whatever alias was typed)."""

    SHOW = "show"
    SHARE = "share"
    UNSHARE = "unshare"
    MAKE_PUBLIC = "make-public"
    MAKE_PRIVATE = "make-private"
    RESET = "reset"
    SET_DESCRIPTION = "set-description"
    ENFORCE_IMDSV2 = "enforce-imdsv2"
    PLAN = "plan"
    APPLY = "apply"


@dataclass(frozen=True)
class Intent:
    """What the user asked for, validated; independent of any image's state."""

    command: Command
    add: LaunchTargets = LaunchTargets()
    remove: LaunchTargets = LaunchTargets()
    remove_all_shares: bool = False  # unshare --all-shares
    reset: bool = False  # ResetImageAttribute(launchPermission)
    description: str | None = None
    enforce_imdsv2: bool = False
    with_snapshots: bool = False
    # Policy files: kinds whose targets in `add` are the exact set wanted (what the image
    # has beyond them is removed); kinds not listed are left alone.
    exact: frozenset[TargetKind] = frozenset()
    # Policy `snapshots = true`: every snapshot's createVolumePermission accounts become
    # exactly the image's accounts after the change.
    snapshots_follow_image: bool = False


# ---------------------------------------------------------------- requests


class Op(str, enum.Enum):
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True)
class LaunchPermissionChange:
    """ModifyImageAttribute LaunchPermission.Add.N.* or LaunchPermission.Remove.N.*"""

    ref: ImageRef
    op: Op
    targets: LaunchTargets


@dataclass(frozen=True)
class ResetLaunchPermission:
    """ResetImageAttribute Attribute=launchPermission"""

    ref: ImageRef


@dataclass(frozen=True)
class SetDescription:
    """ModifyImageAttribute Description.Value=TEXT"""

    ref: ImageRef
    text: str


@dataclass(frozen=True)
class EnforceImdsV2:
    """ModifyImageAttribute ImdsSupport.Value=v2.0 (irreversible)"""

    ref: ImageRef


@dataclass(frozen=True)
class SnapshotPermissionChange:
    """ModifySnapshotAttribute createVolumePermission Add or Remove (never both in one call)."""

    ref: ImageRef  # the image the snapshot is behind
    snapshot_id: str
    op: Op
    accounts: frozenset[str]


Request = (
    LaunchPermissionChange
    | ResetLaunchPermission
    | SetDescription
    | EnforceImdsV2
    | SnapshotPermissionChange
)


# ---------------------------------------------------------------- plans and results


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    message: str


@dataclass(frozen=True)
class Plan:
    """One image: what to send, in order, and what the image should look like after."""

    before: ImageState
    requests: tuple[Request, ...]
    expected: ImageState
    refusal: ErrorInfo | None = None
    warnings: tuple[str, ...] = ()
    irreversible: bool = False

    @property
    def ref(self) -> ImageRef:
        return self.before.ref

    @property
    def has_changes(self) -> bool:
        return bool(self.requests) and self.refusal is None

    @property
    def is_refused(self) -> bool:
        return self.refusal is not None


@dataclass(frozen=True)
class Result:
    ref: ImageRef
    status: Status
    before: ImageState | None = None
    after: ImageState | None = None
    error: ErrorInfo | None = None
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ReadError:
    """An image that could not be read (e.g. not found); `show` lists these under `errors`."""

    ref: ImageRef
    code: str
    message: str
