"""`amictl audit`: pure rules over `ImageState` → findings (spec §8). No I/O, no AWS.

Rules, one finding per (image, rule) at most:

| code | severity | when |
|---|---|---|
| PUBLIC_IMAGE | high | the image's launch permissions include `all` |
| PUBLIC_SNAPSHOT | high | a snapshot behind the image has public createVolumePermission |
| SHARED_OUTSIDE_TRUST | medium | shared with an account, organization or OU not trusted |
| SHARED_WITH_DEFAULT_KEY | medium | shared (or public), a snapshot on the AWS managed EBS key |
| SNAPSHOTS_NOT_SHARED | low | shared with accounts that some snapshot does not let create volumes |
| IMDSV2_NOT_ENFORCED | low | `imds_support` is not `v2.0` |

Trust: an account is trusted when it is in `trusted_accounts` (aliases already resolved by
the config). An organization is trusted when it is in `trusted_organizations`, and an OU is
trusted when its organization (the `o-…` in its ARN) is a trusted organization: an OU is a
part of its organization, so trusting the organization trusts its OUs. Organizations are
compared by their `o-…` ID. An account that happens to belong to a trusted organization is
not trusted by that alone: amictl cannot see membership without the Organizations API. Empty
trust lists trust nobody, so every share is reported.

What amictl could not read is not guessed at: a snapshot whose createVolumePermission was
not read raises neither PUBLIC_SNAPSHOT nor SNAPSHOTS_NOT_SHARED, and one whose KMS key
manager is unknown does not count as on the AWS managed key. A snapshot on the AWS managed
key is left out of SNAPSHOTS_NOT_SHARED: sharing it cannot work, SHARED_WITH_DEFAULT_KEY
says so and how to fix it. A public snapshot already lets every account create volumes.

Each finding's `fix` is one runnable command line: an amictl command where amictl can make
the change, else the AWS CLI command (snapshot public access, re-encrypting a copy).
"""

from __future__ import annotations

import enum
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import ImageState, SnapshotState


class Severity(enum.Enum):
    """How bad a finding is; ordered: HIGH > MEDIUM > LOW."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """3 for high, 2 for medium, 1 for low: bigger is worse."""
        return _RANKS[self]

    def is_at_least(self, threshold: Severity) -> bool:
        return self.rank >= threshold.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_RANKS = {Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}

# Severities worst first, the order findings are listed and summarised in.
SEVERITIES_WORST_FIRST: tuple[Severity, ...] = tuple(
    sorted(Severity, key=lambda s: s.rank, reverse=True)
)

# `--fail-on never`: no finding fails the run.
FAIL_ON_NEVER = "never"


def parse_fail_on(value: str) -> Severity | None:
    """`high`/`medium`/`low` → that severity; `never` → None. Raises ValueError otherwise."""
    if value == FAIL_ON_NEVER:
        return None
    try:
        return Severity(value)
    except ValueError:
        choices = ", ".join([*(s.value for s in SEVERITIES_WORST_FIRST), FAIL_ON_NEVER])
        raise ValueError(f"invalid --fail-on value {value!r}: expected one of {choices}") from None


class Code(str, enum.Enum):
    """Finding codes (spec §8), each with its fixed severity."""

    PUBLIC_IMAGE = "PUBLIC_IMAGE"
    PUBLIC_SNAPSHOT = "PUBLIC_SNAPSHOT"
    SHARED_OUTSIDE_TRUST = "SHARED_OUTSIDE_TRUST"
    SHARED_WITH_DEFAULT_KEY = "SHARED_WITH_DEFAULT_KEY"
    SNAPSHOTS_NOT_SHARED = "SNAPSHOTS_NOT_SHARED"
    IMDSV2_NOT_ENFORCED = "IMDSV2_NOT_ENFORCED"

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self]


_SEVERITY = {
    Code.PUBLIC_IMAGE: Severity.HIGH,
    Code.PUBLIC_SNAPSHOT: Severity.HIGH,
    Code.SHARED_OUTSIDE_TRUST: Severity.MEDIUM,
    Code.SHARED_WITH_DEFAULT_KEY: Severity.MEDIUM,
    Code.SNAPSHOTS_NOT_SHARED: Severity.LOW,
    Code.IMDSV2_NOT_ENFORCED: Severity.LOW,
}


@dataclass(frozen=True)
class Finding:
    """One problem with one image: what (detail, one line) and how to fix it (one line)."""

    code: str
    severity: Severity
    image_id: str
    region: str
    detail: str
    fix: str

    @property
    def sort_key(self) -> tuple[int, str, str, str, str]:
        """Worst first, then region, image and code (detail only breaks exact ties)."""
        return (-self.severity.rank, self.region, self.image_id, self.code, self.detail)


def _finding(code: Code, state: ImageState, detail: str, fix: str) -> Finding:
    return Finding(code.value, code.severity, state.image_id, state.region, detail, fix)


def _amictl(*args: str) -> str:
    return shlex.join(["amictl", *args])


def _aws(*args: str) -> str:
    return shlex.join(["aws", "ec2", *args])


# ---------------------------------------------------------------- trust

_ORG_ID_IN_ARN = re.compile(r"/(o-[a-z0-9]{10,32})(?:/|$)")


def organization_id(arn: str) -> str | None:
    """The `o-…` ID in an organization or OU ARN; None when there is none."""
    match = _ORG_ID_IN_ARN.search(arn)
    return match[1] if match else None


@dataclass(frozen=True)
class Trust:
    """The `[audit]` trust lists: account IDs and organization ARNs."""

    accounts: frozenset[str] = frozenset()
    organizations: frozenset[str] = frozenset()

    @classmethod
    def of(cls, accounts: Iterable[str] = (), organizations: Iterable[str] = ()) -> Trust:
        return cls(frozenset(accounts), frozenset(organizations))

    @property
    def organization_ids(self) -> frozenset[str]:
        ids = (organization_id(arn) for arn in self.organizations)
        return frozenset(i for i in ids if i is not None)

    def trusts_account(self, account: str) -> bool:
        return account in self.accounts

    def trusts_organization(self, arn: str) -> bool:
        org = organization_id(arn)
        return arn in self.organizations or (org is not None and org in self.organization_ids)

    def trusts_organizational_unit(self, arn: str) -> bool:
        """An OU is trusted when its organization is (see the module docstring)."""
        org = organization_id(arn)
        return org is not None and org in self.organization_ids


# ---------------------------------------------------------------- rules


def _public_image(state: ImageState, trust: Trust) -> Finding | None:
    if not state.launch.public:
        return None
    return _finding(
        Code.PUBLIC_IMAGE,
        state,
        "the image is public: any AWS account can launch it",
        _amictl("make-private", state.image_id, "--region", state.region),
    )


def _public_snapshot(state: ImageState, trust: Trust) -> Finding | None:
    public = sorted(s.snapshot_id for s in state.snapshots if s.public)
    if not public:
        return None
    fixes = [
        _aws(
            "modify-snapshot-attribute",
            "--snapshot-id",
            snapshot_id,
            "--attribute",
            "createVolumePermission",
            "--operation-type",
            "remove",
            "--group-names",
            "all",
            "--region",
            state.region,
        )
        for snapshot_id in public
    ]
    noun = "snapshot" if len(public) == 1 else "snapshots"
    return _finding(
        Code.PUBLIC_SNAPSHOT,
        state,
        f"{noun} {', '.join(public)} public: any AWS account can create volumes from "
        f"{'it' if len(public) == 1 else 'them'} and read the image's disk",
        " && ".join(fixes),
    )


def _untrusted_parts(state: ImageState, trust: Trust) -> tuple[list[str], list[str], list[str]]:
    launch = state.launch
    return (
        sorted(a for a in launch.accounts if not trust.trusts_account(a)),
        sorted(o for o in launch.organizations if not trust.trusts_organization(o)),
        sorted(u for u in launch.organizational_units if not trust.trusts_organizational_unit(u)),
    )


def _shared_outside_trust(state: ImageState, trust: Trust) -> Finding | None:
    accounts, orgs, ous = _untrusted_parts(state, trust)
    if not (accounts or orgs or ous):
        return None
    parts = []
    args = ["unshare", state.image_id, "--region", state.region]
    if accounts:
        parts.append(f"{_plural(len(accounts), 'account')} {', '.join(accounts)}")
        args += ["--account", ",".join(accounts)]
    if orgs:
        parts.append(f"{_plural(len(orgs), 'organization')} {', '.join(orgs)}")
        for org in orgs:
            args += ["--org", org]
    if ous:
        parts.append(f"{_plural(len(ous), 'OU')} {', '.join(ous)}")
        for ou in ous:
            args += ["--ou", ou]
    return _finding(
        Code.SHARED_OUTSIDE_TRUST,
        state,
        f"shared outside the [audit] trust lists with {'; '.join(parts)}",
        _amictl(*args),
    )


def _is_shared(state: ImageState) -> bool:
    return not state.launch.is_empty


def _shared_with_default_key(state: ImageState, trust: Trust) -> Finding | None:
    on_default = sorted(s.snapshot_id for s in state.snapshots if s.uses_default_key)
    if not on_default or not _is_shared(state):
        return None
    noun = "snapshot" if len(on_default) == 1 else "snapshots"
    return _finding(
        Code.SHARED_WITH_DEFAULT_KEY,
        state,
        f"shared, but {noun} {', '.join(on_default)} "
        f"{'is' if len(on_default) == 1 else 'are'} encrypted with the AWS managed EBS key "
        "(aws/ebs), which no other account can use: the targets cannot launch it",
        _aws(
            "copy-image",
            "--source-image-id",
            state.image_id,
            "--source-region",
            state.region,
            "--region",
            state.region,
            "--name",
            f"{state.name or state.image_id}-cmk",
            "--encrypted",
            "--kms-key-id",
            "<customer-managed-key-arn>",
        ),
    )


def _missing_snapshot_accounts(snapshot: SnapshotState, accounts: frozenset[str]) -> set[str]:
    if snapshot.accounts is None or snapshot.public or snapshot.uses_default_key:
        # Not read (unknown); anyone may create volumes; or on the AWS managed key, which
        # no share can fix (SHARED_WITH_DEFAULT_KEY reports it).
        return set()
    return set(accounts - snapshot.accounts)


def _snapshots_not_shared(state: ImageState, trust: Trust) -> Finding | None:
    """Organizations and OUs are exempt: EC2 cannot share snapshots with them."""
    accounts = state.launch.accounts
    if not accounts:
        return None
    missing = {
        s.snapshot_id: _missing_snapshot_accounts(s, accounts)
        for s in sorted(state.snapshots, key=lambda s: s.snapshot_id)
    }
    missing = {snapshot_id: gone for snapshot_id, gone in missing.items() if gone}
    if not missing:
        return None
    lacking = sorted({account for gone in missing.values() for account in gone})
    snapshots = ", ".join(
        f"{snapshot_id} ({', '.join(sorted(gone))})" for snapshot_id, gone in missing.items()
    )
    who = f"{_plural(len(lacking), 'account')} {', '.join(lacking)}"
    return _finding(
        Code.SNAPSHOTS_NOT_SHARED,
        state,
        f"{who} can launch it but not copy it: no createVolumePermission on {snapshots}",
        _amictl(
            "share",
            state.image_id,
            "--region",
            state.region,
            "--account",
            ",".join(lacking),
            "--with-snapshots",
        ),
    )


def _imdsv2_not_enforced(state: ImageState, trust: Trust) -> Finding | None:
    if state.is_imdsv2_enforced:
        return None
    current = state.imds_support or "unset"
    return _finding(
        Code.IMDSV2_NOT_ENFORCED,
        state,
        f"IMDS support is {current}: instances launched from it also accept IMDSv1 "
        "(enforcing is irreversible)",
        _amictl("enforce-imdsv2", state.image_id, "--region", state.region),
    )


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


_RULES = (
    _public_image,
    _public_snapshot,
    _shared_outside_trust,
    _shared_with_default_key,
    _snapshots_not_shared,
    _imdsv2_not_enforced,
)


# ---------------------------------------------------------------- entry points


def audit_image(
    state: ImageState,
    trusted_accounts: Iterable[str] = (),
    trusted_organizations: Iterable[str] = (),
) -> list[Finding]:
    """Every finding for one image, sorted (see `Finding.sort_key`)."""
    trust = Trust.of(trusted_accounts, trusted_organizations)
    found = (rule(state, trust) for rule in _RULES)
    return sorted((f for f in found if f is not None), key=lambda f: f.sort_key)


def audit_all(
    states: Iterable[ImageState],
    trusted_accounts: Iterable[str] = (),
    trusted_organizations: Iterable[str] = (),
) -> list[Finding]:
    """Every finding for every image: worst first, then by region, image and code."""
    accounts, orgs = tuple(trusted_accounts), tuple(trusted_organizations)
    findings = [f for state in states for f in audit_image(state, accounts, orgs)]
    return sorted(findings, key=lambda f: f.sort_key)


def fail_on_exit(findings: Sequence[Finding], fail_on: Severity | str | None) -> bool:
    """Should the run fail (exit 4)? True when a finding is at or above `fail_on`;
    `fail_on` is a Severity, its name, or None/`never` (never fails)."""
    threshold = parse_fail_on(fail_on) if isinstance(fail_on, str) else fail_on
    if threshold is None:
        return False
    return any(f.severity.is_at_least(threshold) for f in findings)


def count_by_severity(findings: Iterable[Finding]) -> dict[Severity, int]:
    """Findings per severity, worst first, zero counts left out."""
    counts = dict.fromkeys(SEVERITIES_WORST_FIRST, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return {s: n for s, n in counts.items() if n}


def summary_line(findings: Sequence[Finding], images_scanned: int) -> str:
    """`3 findings: 1 high, 2 low in 12 images`; `no findings in 12 images`."""
    images = f"{images_scanned} {_plural(images_scanned, 'image')}"
    if not findings:
        return f"no findings in {images}"
    counts = ", ".join(f"{n} {s.value}" for s, n in count_by_severity(findings).items())
    return f"{len(findings)} {_plural(len(findings), 'finding')}: {counts} in {images}"
