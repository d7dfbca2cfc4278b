"""The pure planner: intent × image state → requests, safety verdict, expected after-state.

No I/O and no AWS: the runner sends exactly `Plan.requests`, in order, and verifies the
image against `Plan.expected`; `plan`, `--dry-run` and the confirm step show the same Plan.

Semantics worth knowing (decisions, not accidents):

- Launch permissions. The targets to remove are `intent.remove` plus, with
  `remove_all_shares`, every account/organization/OU the image has now (never public).
  A target that is both added and removed is *added*: that makes "remove_all_shares + add"
  an exact-set intent (what a policy needs). Only targets present are removed and only
  absent ones added, all of them in one REMOVE and one ADD request, REMOVE first.
- Exact sets per kind (`intent.exact`, policy files): for each listed kind (accounts,
  organizations, OUs) every target the image has beyond `intent.add` is removed, like
  `remove_all_shares` restricted to those kinds; kinds not listed are left alone.
- `reset` is planned only when the image has some launch permission; it cannot be
  combined with `add` (ValueError): after a reset the add would be sent on every run.
- Descriptions: None and "" both mean "no description" (EC2 does not tell them apart
  reliably), so they compare equal and setting "" on an image without one is a no-op.
- Snapshots (`with_snapshots`): createVolumePermission follows the *requested* accounts,
  not only those missing on the image, so `share --account A --with-snapshots` also
  repairs an image already shared with A whose snapshots are not. Organizations, OUs and
  public never reach snapshots (EC2 cannot share snapshots with them). Unknown snapshot
  permissions (`accounts is None`) are planned as if empty and a warning says so; the
  expected state then holds the concrete assumed set, so a second plan is empty.
- `snapshots_follow_image` (policy `snapshots = true`): each snapshot's accounts are made
  exactly the image's accounts *after* the launch changes (extras removed, missing added),
  whether or not the intent lists accounts. It replaces `with_snapshots` when both are set.
- The owner's account is never sent: the owner can always launch its image and create
  volumes from its snapshots, and EC2 does not list that implicit permission, so adding
  it would never verify. An owner account in `add` or `remove` is dropped with a warning.
- Order: reset, launch REMOVE, launch ADD, per snapshot (by id) REMOVE then ADD,
  description, IMDSv2 last (the irreversible change goes only after the others).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace

from .model import (
    IMDS_V2,
    EnforceImdsV2,
    ErrorInfo,
    ImageRef,
    ImageState,
    Intent,
    KeyManager,
    LaunchPermissionChange,
    LaunchTargets,
    Op,
    Plan,
    Request,
    ResetLaunchPermission,
    SetDescription,
    SnapshotPermissionChange,
    SnapshotState,
)

BLOCK_NEW_SHARING = "block-new-sharing"

# ModifySnapshotAttribute accepts at most 500 modifications per call.
SNAPSHOT_BATCH = 500

PRODUCT_CODES_FORBID_PUBLIC = "ProductCodesForbidPublic"
ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC = "EncryptedSnapshotsForbidPublic"
BLOCK_PUBLIC_ACCESS_ENABLED = "BlockPublicAccessEnabled"
DEFAULT_KEY_FORBIDS_SHARING = "DefaultKeyForbidsSharing"

__all__ = [
    "BLOCK_PUBLIC_ACCESS_ENABLED",
    "DEFAULT_KEY_FORBIDS_SHARING",
    "ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC",
    "PRODUCT_CODES_FORBID_PUBLIC",
    "apply_requests",
    "describe_change",
    "is_risky",
    "plan_all",
    "plan_image",
    "verify_matches",
]


# ---------------------------------------------------------------- planning


def plan_image(intent: Intent, state: ImageState, block_public_access: str | None = None) -> Plan:
    """Plan one image. `block_public_access` is the region's image BPA state
    ("block-new-sharing" | "unblocked"), None when unknown (then EC2 has the last word)."""
    if intent.reset and not intent.add.is_empty:
        raise ValueError("an intent cannot both reset and add launch permissions")
    intent, owner_warnings = _without_owner(intent, state.owner_id)
    requests = tuple(_requests(intent, state))
    refusal = _refusal(state, requests, block_public_access)
    if refusal is not None:
        return Plan(
            before=state, requests=(), expected=state, refusal=refusal, warnings=owner_warnings
        )
    return Plan(
        before=state,
        requests=requests,
        expected=apply_requests(state, requests),
        warnings=owner_warnings + _warnings(intent, state, requests),
        irreversible=any(isinstance(r, EnforceImdsV2) for r in requests),
    )


def plan_all(
    intent: Intent, states: Iterable[ImageState], bpa_by_region: Mapping[str, str]
) -> list[Plan]:
    """Plan every image, sorted by (region, image_id); a region missing from
    `bpa_by_region` counts as unknown."""
    ordered = sorted(states, key=lambda s: (s.region, s.image_id))
    return [plan_image(intent, s, bpa_by_region.get(s.region)) for s in ordered]


def _without_owner(intent: Intent, owner_id: str) -> tuple[Intent, tuple[str, ...]]:
    """The intent without the image owner's account, and a warning for each place it was."""
    owner = LaunchTargets(accounts=frozenset({owner_id}))
    warnings = []
    if owner_id in intent.add.accounts:
        warnings.append(
            f"account {owner_id} owns the image and can always launch it and copy its "
            "snapshots; it is not shared with"
        )
    if owner_id in intent.remove.accounts:
        warnings.append(
            f"account {owner_id} owns the image; its own launch permission cannot be "
            "taken away, so it is not removed"
        )
    if not warnings:
        return intent, ()
    trimmed = replace(
        intent, add=intent.add.difference(owner), remove=intent.remove.difference(owner)
    )
    return trimmed, tuple(warnings)


def _requests(intent: Intent, state: ImageState) -> Iterator[Request]:
    ref = state.ref
    if intent.reset:
        if not state.launch.is_empty:
            yield ResetLaunchPermission(ref)
    else:
        to_remove, to_add = _launch_delta(intent, state.launch)
        if not to_remove.is_empty:
            yield LaunchPermissionChange(ref, Op.REMOVE, to_remove)
        if not to_add.is_empty:
            yield LaunchPermissionChange(ref, Op.ADD, to_add)
        if intent.snapshots_follow_image:
            accounts = state.launch.difference(to_remove).union(to_add).accounts
            yield from _snapshots_in_step(state, accounts)
        elif intent.with_snapshots:
            yield from _snapshot_requests(intent, state)
    if intent.description is not None and _text(state.description) != intent.description:
        yield SetDescription(ref, intent.description)
    if intent.enforce_imdsv2 and state.imds_support != IMDS_V2:
        yield EnforceImdsV2(ref)


def _removal_wanted(intent: Intent, launch: LaunchTargets) -> LaunchTargets:
    """Every target the intent wants gone (present or not); adds win over removals."""
    wanted = intent.remove.union(launch.shares) if intent.remove_all_shares else intent.remove
    if intent.exact:
        wanted = wanted.union(launch.only(intent.exact))
    return wanted.difference(intent.add)


def _launch_delta(intent: Intent, launch: LaunchTargets) -> tuple[LaunchTargets, LaunchTargets]:
    """(targets to remove, targets to add): only what is present / absent now."""
    return _removal_wanted(intent, launch).intersection(launch), intent.add.difference(launch)


def _snapshot_requests(intent: Intent, state: ImageState) -> Iterator[SnapshotPermissionChange]:
    add = intent.add.accounts
    remove = _removal_wanted(intent, state.launch).accounts
    for snap in sorted(state.snapshots, key=lambda s: s.snapshot_id):
        have = _accounts(snap)
        # Unknown permissions: send every removal (removing an absent one is harmless).
        gone = remove if snap.accounts is None else remove & have
        yield from _snapshot_batches(state.ref, snap.snapshot_id, Op.REMOVE, gone)
        yield from _snapshot_batches(state.ref, snap.snapshot_id, Op.ADD, add - have)


def _snapshots_in_step(
    state: ImageState, accounts: frozenset[str]
) -> Iterator[SnapshotPermissionChange]:
    """Make every snapshot's createVolumePermission accounts exactly `accounts`."""
    for snap in sorted(state.snapshots, key=lambda s: s.snapshot_id):
        have = _accounts(snap)
        yield from _snapshot_batches(state.ref, snap.snapshot_id, Op.REMOVE, have - accounts)
        yield from _snapshot_batches(state.ref, snap.snapshot_id, Op.ADD, accounts - have)


def _snapshot_batches(
    ref: ImageRef, snapshot_id: str, op: Op, accounts: frozenset[str]
) -> Iterator[SnapshotPermissionChange]:
    ordered = sorted(accounts)
    for start in range(0, len(ordered), SNAPSHOT_BATCH):
        batch = frozenset(ordered[start : start + SNAPSHOT_BATCH])
        yield SnapshotPermissionChange(ref, snapshot_id, op, batch)


# ---------------------------------------------------------------- safety (spec §5)


def _added_launch(requests: Sequence[Request]) -> LaunchTargets:
    added = LaunchTargets()
    for r in requests:
        if isinstance(r, LaunchPermissionChange) and r.op is Op.ADD:
            added = added.union(r.targets)
    return added


def _added_snapshot_accounts(requests: Sequence[Request]) -> frozenset[str]:
    added: set[str] = set()
    for r in requests:
        if isinstance(r, SnapshotPermissionChange) and r.op is Op.ADD:
            added |= r.accounts
    return frozenset(added)


def _shares_something(requests: Sequence[Request]) -> bool:
    """Does the plan grant an account/organization/OU anything (image or snapshot)?"""
    return not _added_launch(requests).shares.is_empty or bool(_added_snapshot_accounts(requests))


def _refusal(
    state: ImageState, requests: Sequence[Request], block_public_access: str | None
) -> ErrorInfo | None:
    """The first safety rule the requests break, mentioning any others; None if none.

    Judged on the requests, not the intent, so a plan with nothing to do is never refused."""
    reasons: list[ErrorInfo] = []
    if _added_launch(requests).public:
        reasons += _public_reasons(state, block_public_access)
    if _shares_something(requests):
        reasons += _default_key_reasons(state)
    if not reasons:
        return None
    first, others = reasons[0], reasons[1:]
    if not others:
        return first
    also = " ".join(f"Also refused for {o.code}: {o.message}" for o in others)
    return ErrorInfo(first.code, f"{first.message} {also}")


def _public_reasons(state: ImageState, block_public_access: str | None) -> list[ErrorInfo]:
    reasons: list[ErrorInfo] = []
    if state.product_codes:
        codes = ", ".join(f"{c.id} ({c.type})" for c in sorted(state.product_codes))
        reasons.append(
            ErrorInfo(
                PRODUCT_CODES_FORBID_PUBLIC,
                f"the image has product code {codes}; EC2 never makes an image with a "
                "product code public, and a copy keeps the code. "
                "Share it with accounts or organizations instead "
                "(amictl share IMAGE --account ID / --org ARN).",
            )
        )
    encrypted = sorted(s.snapshot_id for s in state.snapshots if s.encrypted)
    if encrypted:
        reasons.append(
            ErrorInfo(
                ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC,
                f"snapshot {', '.join(encrypted)} is encrypted; EC2 cannot make an image "
                "with encrypted snapshots public, and encryption cannot be removed by "
                "copying. Share it explicitly instead (amictl share IMAGE --account ID / "
                "--org ARN / --ou ARN) and let those targets use the KMS key.",
            )
        )
    if block_public_access == BLOCK_NEW_SHARING:
        region = state.region
        reasons.append(
            ErrorInfo(
                BLOCK_PUBLIC_ACCESS_ENABLED,
                f"image block public access is on in {region} (block-new-sharing). "
                f"To allow public images there, run `aws ec2 disable-image-block-public-access "
                f"--region {region}`, wait until `aws ec2 get-image-block-public-access-state "
                f"--region {region}` says unblocked (up to 10 minutes), then retry.",
            )
        )
    return reasons


def _default_key_reasons(state: ImageState) -> list[ErrorInfo]:
    default_key = sorted(s.snapshot_id for s in state.snapshots if s.uses_default_key)
    if not default_key:
        return []
    region = state.region
    return [
        ErrorInfo(
            DEFAULT_KEY_FORBIDS_SHARING,
            f"snapshot {', '.join(default_key)} is encrypted with the AWS managed EBS key "
            "(aws/ebs), which EC2 cannot share. Copy the image re-encrypted with a customer "
            f"managed key (`aws ec2 copy-image --source-image-id {state.image_id} "
            f"--source-region {region} --region {region} --name NAME --encrypted "
            "--kms-key-id KEY`) and share the copy.",
        )
    ]


def _warnings(intent: Intent, state: ImageState, requests: Sequence[Request]) -> tuple[str, ...]:
    warnings: list[str] = []
    if _shares_something(requests):
        warnings += _key_warnings(state, requests)
    if intent.with_snapshots or intent.snapshots_follow_image:
        touched = {r.snapshot_id for r in requests if isinstance(r, SnapshotPermissionChange)}
        warnings += [
            f"snapshot {s.snapshot_id}: its createVolumePermission was not read; "
            "planned as if it granted no account"
            for s in sorted(state.snapshots, key=lambda s: s.snapshot_id)
            if s.snapshot_id in touched and s.accounts is None
        ]
    return tuple(warnings)


def _key_warnings(state: ImageState, requests: Sequence[Request]) -> list[str]:
    """One warning per KMS key that the new targets must be allowed to use."""
    added = _added_launch(requests).shares
    who = _describe_targets(
        LaunchTargets(
            added.accounts | _added_snapshot_accounts(requests),
            added.organizations,
            added.organizational_units,
        )
    )
    keys: dict[str, list[str]] = {}
    for snap in state.snapshots:
        if snap.encrypted and not snap.uses_default_key:
            label = snap.kms_key_id or "an unknown KMS key"
            if snap.key_manager is not KeyManager.CUSTOMER:
                label += " (key manager unknown; if it is aws/ebs, EC2 will refuse the share)"
            keys.setdefault(label, []).append(snap.snapshot_id)
    return [
        f"snapshot {', '.join(sorted(snaps))} is encrypted with {label}: its key policy or "
        f"a grant must let {who} use the key, or they cannot launch or copy the image"
        for label, snaps in sorted(keys.items())
    ]


# ---------------------------------------------------------------- expected state


def apply_requests(state: ImageState, requests: Iterable[Request]) -> ImageState:
    """What the image looks like after EC2 carries out `requests` in order.

    A snapshot whose permissions were unknown gets the concrete result of treating them
    as empty; snapshots the requests do not touch keep what was known (or None)."""
    for request in requests:
        if request.ref != state.ref:
            raise ValueError(f"request for {request.ref} applied to {state.ref}")
        state = _apply(state, request)
    return state


def _apply(state: ImageState, request: Request) -> ImageState:
    if isinstance(request, LaunchPermissionChange):
        if request.op is Op.ADD:
            return replace(state, launch=state.launch.union(request.targets))
        return replace(state, launch=state.launch.difference(request.targets))
    if isinstance(request, ResetLaunchPermission):
        return replace(state, launch=LaunchTargets())
    if isinstance(request, SetDescription):
        return replace(state, description=request.text or None)
    if isinstance(request, EnforceImdsV2):
        return replace(state, imds_support=IMDS_V2)
    if isinstance(request, SnapshotPermissionChange):
        snapshots = tuple(
            _apply_snapshot(s, request) if s.snapshot_id == request.snapshot_id else s
            for s in state.snapshots
        )
        return replace(state, snapshots=snapshots)
    raise TypeError(f"unknown request {request!r}")


def _apply_snapshot(snap: SnapshotState, request: SnapshotPermissionChange) -> SnapshotState:
    have = _accounts(snap)
    accounts = have | request.accounts if request.op is Op.ADD else have - request.accounts
    return replace(snap, accounts=accounts)


# ---------------------------------------------------------------- verification


def verify_matches(expected: ImageState, observed: ImageState) -> bool:
    """Does the image read back match what the plan expects?

    Compares launch targets, description (None == ""), IMDS support, and each snapshot's
    accounts/public where `expected` knows them. A known expectation that `observed` does
    not report (snapshot missing or not read) is a mismatch: success must be observed."""
    if (
        expected.ref != observed.ref
        or expected.launch != observed.launch
        or _text(expected.description) != _text(observed.description)
        or expected.imds_support != observed.imds_support
    ):
        return False
    seen = {s.snapshot_id: s for s in observed.snapshots}
    for want in expected.snapshots:
        got = seen.get(want.snapshot_id)
        if want.accounts is not None and (got is None or got.accounts != want.accounts):
            return False
        if want.public is not None and (got is None or got.public != want.public):
            return False
    return True


# ---------------------------------------------------------------- confirmation and display


def is_risky(plan: Plan) -> bool:
    """Does the plan make the image public, reset its permissions, or change it for good?
    (The confirm step asks about these.)"""
    return (
        plan.irreversible
        or _added_launch(plan.requests).public
        or any(isinstance(r, ResetLaunchPermission) for r in plan.requests)
    )


def describe_change(plan: Plan) -> list[str]:
    """One human line per request, in the order they are sent."""
    return [_describe(r) for r in plan.requests]


def _describe(request: Request) -> str:
    if isinstance(request, LaunchPermissionChange):
        return f"{request.op.value} launch permission: {_describe_targets(request.targets)}"
    if isinstance(request, ResetLaunchPermission):
        return "reset launch permissions: remove every account, organization, OU and public"
    if isinstance(request, SetDescription):
        if not request.text:
            return "clear description"
        return f"set description: {json.dumps(request.text, ensure_ascii=False)}"
    if isinstance(request, EnforceImdsV2):
        return "enforce IMDSv2 (ImdsSupport=v2.0, irreversible)"
    if isinstance(request, SnapshotPermissionChange):
        accounts = ", ".join(f"account {a}" for a in sorted(request.accounts))
        return f"{request.op.value} create-volume permission on {request.snapshot_id}: {accounts}"
    raise TypeError(f"unknown request {request!r}")


def _describe_targets(targets: LaunchTargets) -> str:
    """'public, account 1111…, organization arn:…, organizational unit arn:…' (wire order)."""
    parts = ["public"] if targets.public else []
    parts += [f"account {a}" for a in sorted(targets.accounts)]
    parts += [f"organization {o}" for o in sorted(targets.organizations)]
    parts += [f"organizational unit {u}" for u in sorted(targets.organizational_units)]
    return ", ".join(parts)


# ---------------------------------------------------------------- small helpers


def _text(description: str | None) -> str:
    return description or ""


def _accounts(snap: SnapshotState) -> frozenset[str]:
    """Snapshot accounts, unknown treated as none."""
    return snap.accounts if snap.accounts is not None else frozenset()
