"""The pure planner: table tests per command × state, then hypothesis properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amictl.model import Command as C
from amictl.model import (
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
    ProductCode,
    Request,
    ResetLaunchPermission,
    SetDescription,
    SnapshotPermissionChange,
    SnapshotState,
)
from amictl.plan import (
    BLOCK_PUBLIC_ACCESS_ENABLED,
    DEFAULT_KEY_FORBIDS_SHARING,
    ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC,
    PRODUCT_CODES_FORBID_PUBLIC,
    apply_requests,
    describe_change,
    is_risky,
    plan_all,
    plan_image,
    verify_matches,
)

A1, A2, A3, A4 = "111122223333", "444455556666", "777788889999", "012345678901"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
ORG2 = "arn:aws:organizations::123456789012:organization/o-zzz999yyy8"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
OU2 = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-99998888"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
AMI = "ami-0123456789abcdef0"
REGION = "us-east-1"
REF = ImageRef(AMI, REGION)
MARKETPLACE = ProductCode("774F4FF8", "marketplace")
BPA_ON = "block-new-sharing"

PUBLIC = LaunchTargets(public=True)
NONE = LaunchTargets()


def lt(
    *accounts: str, orgs: tuple[str, ...] = (), ous: tuple[str, ...] = (), public: bool = False
) -> LaunchTargets:
    return LaunchTargets.of(accounts, orgs, ous, public)


def image(launch: LaunchTargets = NONE, **kw: object) -> ImageState:
    fields: dict[str, object] = {"name": "base", "owner_id": "123456789012", "state": "available"}
    fields.update(kw)
    return ImageState(AMI, REGION, launch=launch, **fields)  # type: ignore[arg-type]


def snap(
    snapshot_id: str = "snap-0a",
    encrypted: bool = False,
    key_manager: KeyManager | None = None,
    kms_key_id: str | None = None,
    accounts: frozenset[str] | None = frozenset(),
    public: bool | None = False,
) -> SnapshotState:
    return SnapshotState(snapshot_id, encrypted, kms_key_id, key_manager, accounts, public)


def add(targets: LaunchTargets) -> LaunchPermissionChange:
    return LaunchPermissionChange(REF, Op.ADD, targets)


def remove(targets: LaunchTargets) -> LaunchPermissionChange:
    return LaunchPermissionChange(REF, Op.REMOVE, targets)


def snap_change(snapshot_id: str, op: Op, *accounts: str) -> SnapshotPermissionChange:
    return SnapshotPermissionChange(REF, snapshot_id, op, frozenset(accounts))


SHARE = Intent(C.SHARE, add=lt(A1, A2, orgs=(ORG,), ous=(OU,)))
MAKE_PUBLIC = Intent(C.MAKE_PUBLIC, add=PUBLIC)
MAKE_PRIVATE = Intent(C.MAKE_PRIVATE, remove=PUBLIC)
ALL_SHARES = Intent(C.UNSHARE, remove_all_shares=True)
RESET = Intent(C.RESET, reset=True)
IMDS = Intent(C.ENFORCE_IMDSV2, enforce_imdsv2=True)


def describe(text: str) -> Intent:
    return Intent(C.SET_DESCRIPTION, description=text)


# ---------------------------------------------------------------- launch permissions


@pytest.mark.parametrize(
    ("intent", "before", "requests"),
    [
        pytest.param(SHARE, NONE, (add(lt(A1, A2, orgs=(ORG,), ous=(OU,))),), id="share-all-new"),
        pytest.param(SHARE, lt(A1, ous=(OU,)), (add(lt(A2, orgs=(ORG,))),), id="share-some-there"),
        pytest.param(SHARE, lt(A1, A2, orgs=(ORG,), ous=(OU,)), (), id="share-all-there"),
        pytest.param(
            SHARE, lt(A1, A2, A3, orgs=(ORG, ORG2), ous=(OU,)), (), id="share-superset-there"
        ),
        pytest.param(SHARE, PUBLIC, (add(lt(A1, A2, orgs=(ORG,), ous=(OU,))),), id="share-public"),
        pytest.param(
            Intent(C.UNSHARE, remove=lt(A1)), lt(A1, A2), (remove(lt(A1)),), id="unshare-present"
        ),
        pytest.param(Intent(C.UNSHARE, remove=lt(A3)), lt(A1, A2), (), id="unshare-absent"),
        pytest.param(Intent(C.UNSHARE, remove=lt(A1)), NONE, (), id="unshare-unshared"),
        pytest.param(
            Intent(C.UNSHARE, remove=lt(A1, A3, orgs=(ORG,), ous=(OU2,))),
            lt(A1, A2, orgs=(ORG,), ous=(OU,)),
            (remove(lt(A1, orgs=(ORG,))),),
            id="unshare-only-present-sent",
        ),
        pytest.param(
            ALL_SHARES,
            lt(A1, A2, orgs=(ORG,), ous=(OU,), public=True),
            (remove(lt(A1, A2, orgs=(ORG,), ous=(OU,))),),
            id="all-shares-keeps-public",
        ),
        pytest.param(ALL_SHARES, PUBLIC, (), id="all-shares-public-only"),
        pytest.param(ALL_SHARES, NONE, (), id="all-shares-nothing"),
        pytest.param(MAKE_PUBLIC, NONE, (add(PUBLIC),), id="make-public"),
        pytest.param(MAKE_PUBLIC, lt(A1), (add(PUBLIC),), id="make-public-shared"),
        pytest.param(MAKE_PUBLIC, PUBLIC, (), id="make-public-already"),
        pytest.param(MAKE_PRIVATE, lt(A1, public=True), (remove(PUBLIC),), id="make-private"),
        pytest.param(MAKE_PRIVATE, lt(A1), (), id="make-private-already"),
        pytest.param(
            Intent(C.UNSHARE, remove=lt(A1), add=lt(A2)),
            lt(A1),
            (remove(lt(A1)), add(lt(A2))),
            id="remove-then-add",
        ),
        pytest.param(
            Intent(C.SHARE, remove_all_shares=True, add=lt(A2, orgs=(ORG,))),
            lt(A1, A2, ous=(OU,)),
            (remove(lt(A1, ous=(OU,))), add(lt(orgs=(ORG,)))),
            id="exact-set",
        ),
        pytest.param(
            Intent(C.SHARE, remove=lt(A1), add=lt(A1)), lt(A1), (), id="add-wins-over-remove"
        ),
        pytest.param(RESET, NONE, (), id="reset-private"),
        pytest.param(RESET, lt(A1), (ResetLaunchPermission(REF),), id="reset-shared"),
        pytest.param(RESET, PUBLIC, (ResetLaunchPermission(REF),), id="reset-public"),
        pytest.param(
            Intent(C.RESET, reset=True, remove=lt(A1)),
            lt(A1),
            (ResetLaunchPermission(REF),),
            id="reset-covers-remove",
        ),
    ],
)
def test_launch_permission_requests(
    intent: Intent, before: LaunchTargets, requests: tuple[Request, ...]
) -> None:
    plan = plan_image(intent, image(before))
    assert plan.requests == requests
    assert plan.refusal is None
    assert plan.expected == apply_requests(plan.before, requests)


@pytest.mark.parametrize(
    ("intent", "before", "after"),
    [
        (SHARE, lt(A3), lt(A1, A2, A3, orgs=(ORG,), ous=(OU,))),
        (ALL_SHARES, lt(A1, orgs=(ORG,), public=True), PUBLIC),
        (MAKE_PRIVATE, lt(A1, public=True), lt(A1)),
        (RESET, lt(A1, ous=(OU,), public=True), NONE),
    ],
)
def test_expected_launch(intent: Intent, before: LaunchTargets, after: LaunchTargets) -> None:
    assert plan_image(intent, image(before)).expected.launch == after


def test_reset_with_add_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="reset"):
        plan_image(Intent(C.RESET, reset=True, add=lt(A1)), image())


def test_sharing_with_the_owner_sends_only_the_other_targets_and_warns() -> None:
    plan = plan_image(
        Intent(C.SHARE, add=lt(OWNER, A1), with_snapshots=True), image(NONE, snapshots=(snap(),))
    )
    assert plan.requests == (add(lt(A1)), snap_change("snap-0a", Op.ADD, A1))
    assert any("owns the image" in w and OWNER in w for w in plan.warnings)


def test_sharing_only_with_the_owner_is_nothing_to_do() -> None:
    plan = plan_image(Intent(C.SHARE, add=lt(OWNER)), image())
    assert plan.requests == ()
    assert not plan.has_changes
    assert plan.warnings and "not shared with" in plan.warnings[0]


def test_unsharing_the_owner_is_nothing_to_do() -> None:
    plan = plan_image(Intent(C.UNSHARE, remove=lt(OWNER)), image(lt(A1)))
    assert plan.requests == ()
    assert plan.warnings and "cannot be taken away" in plan.warnings[0]


# ---------------------------------------------------------------- description and IMDSv2


@pytest.mark.parametrize(
    ("current", "text", "requests", "expected"),
    [
        ("Base image", "Base image", (), "Base image"),
        ("Base image", "New", (SetDescription(REF, "New"),), "New"),
        (None, "New", (SetDescription(REF, "New"),), "New"),
        (None, "", (), None),
        ("", "", (), ""),
        ("Old", "", (SetDescription(REF, ""),), None),
        ("Base image", "base image", (SetDescription(REF, "base image"),), "base image"),
    ],
)
def test_description(
    current: str | None, text: str, requests: tuple[Request, ...], expected: str | None
) -> None:
    plan = plan_image(describe(text), image(description=current))
    assert plan.requests == requests
    assert plan.expected.description == expected
    assert not plan.irreversible


@pytest.mark.parametrize(
    ("current", "requests"),
    [("v2.0", ()), (None, (EnforceImdsV2(REF),))],
)
def test_imdsv2(current: str | None, requests: tuple[Request, ...]) -> None:
    plan = plan_image(IMDS, image(imds_support=current))
    assert plan.requests == requests
    assert plan.irreversible is bool(requests)
    assert is_risky(plan) is bool(requests)
    assert plan.expected.imds_support == "v2.0"


def test_everything_at_once_in_order() -> None:
    intent = Intent(
        C.SHARE,
        add=lt(A2, public=True),
        remove_all_shares=True,
        description="New",
        enforce_imdsv2=True,
        with_snapshots=True,
    )
    before = image(lt(A1), snapshots=(snap("snap-0b", accounts=frozenset({A1})), snap("snap-0a")))
    plan = plan_image(intent, before)
    assert plan.requests == (
        remove(lt(A1)),
        add(lt(A2, public=True)),
        snap_change("snap-0a", Op.ADD, A2),
        snap_change("snap-0b", Op.REMOVE, A1),
        snap_change("snap-0b", Op.ADD, A2),
        SetDescription(REF, "New"),
        EnforceImdsV2(REF),
    )
    assert plan.irreversible
    assert is_risky(plan)


# ---------------------------------------------------------------- safety: make-public


ENCRYPTED = snap(encrypted=True, key_manager=KeyManager.CUSTOMER, kms_key_id=KEY)


@pytest.mark.parametrize(
    ("state", "bpa", "code"),
    [
        (image(product_codes=(MARKETPLACE,)), None, PRODUCT_CODES_FORBID_PUBLIC),
        (image(product_codes=(ProductCode("X1", "devpay"),)), None, PRODUCT_CODES_FORBID_PUBLIC),
        (image(snapshots=(snap("snap-0a"), ENCRYPTED)), None, ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC),
        (image(snapshots=(snap(encrypted=True),)), None, ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC),
        (image(), BPA_ON, BLOCK_PUBLIC_ACCESS_ENABLED),
        (image(lt(A1)), BPA_ON, BLOCK_PUBLIC_ACCESS_ENABLED),
    ],
)
def test_make_public_refused(state: ImageState, bpa: str | None, code: str) -> None:
    plan = plan_image(MAKE_PUBLIC, state, bpa)
    assert plan.refusal is not None
    assert plan.refusal.code == code
    assert plan.is_refused and not plan.has_changes
    assert plan.requests == ()
    assert plan.expected == state
    assert not is_risky(plan)
    assert describe_change(plan) == []


def test_refusal_messages_name_the_fix() -> None:
    codes = plan_image(MAKE_PUBLIC, image(product_codes=(MARKETPLACE,))).refusal
    assert codes is not None and "774F4FF8" in codes.message and "share" in codes.message
    enc = plan_image(MAKE_PUBLIC, image(snapshots=(ENCRYPTED,))).refusal
    assert enc is not None and "snap-0a" in enc.message and "share" in enc.message
    bpa = plan_image(MAKE_PUBLIC, image(), BPA_ON).refusal
    assert bpa is not None
    assert f"aws ec2 disable-image-block-public-access --region {REGION}" in bpa.message
    assert "10 minutes" in bpa.message


def test_make_public_refusal_reports_first_reason_and_mentions_the_others() -> None:
    state = image(product_codes=(MARKETPLACE,), snapshots=(ENCRYPTED,))
    plan = plan_image(MAKE_PUBLIC, state, BPA_ON)
    assert plan.refusal is not None
    assert plan.refusal.code == PRODUCT_CODES_FORBID_PUBLIC
    assert ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC in plan.refusal.message
    assert BLOCK_PUBLIC_ACCESS_ENABLED in plan.refusal.message
    plan = plan_image(MAKE_PUBLIC, image(snapshots=(ENCRYPTED,)), BPA_ON)
    assert plan.refusal is not None
    assert plan.refusal.code == ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC
    assert BLOCK_PUBLIC_ACCESS_ENABLED in plan.refusal.message
    assert PRODUCT_CODES_FORBID_PUBLIC not in plan.refusal.message


@pytest.mark.parametrize("bpa", [None, "unblocked", BPA_ON])
def test_nothing_to_do_is_never_refused(bpa: str | None) -> None:
    state = image(PUBLIC, product_codes=(MARKETPLACE,), snapshots=(ENCRYPTED,))
    plan = plan_image(MAKE_PUBLIC, state, bpa)
    assert plan.refusal is None
    assert plan.requests == ()
    assert plan.expected == state


@pytest.mark.parametrize("bpa", [None, "unblocked"])
def test_make_public_allowed(bpa: str | None) -> None:
    plan = plan_image(MAKE_PUBLIC, image(snapshots=(snap(),)), bpa)
    assert plan.refusal is None
    assert plan.requests == (add(PUBLIC),)
    assert is_risky(plan)


@pytest.mark.parametrize("intent", [SHARE, MAKE_PRIVATE, ALL_SHARES, describe("x"), IMDS])
def test_public_rules_only_guard_making_public(intent: Intent) -> None:
    state = image(lt(A3, public=True), product_codes=(MARKETPLACE,), snapshots=(ENCRYPTED,))
    assert plan_image(intent, state, BPA_ON).refusal is None


# ---------------------------------------------------------------- safety: KMS keys


DEFAULT_KEY = snap(
    "snap-0d", encrypted=True, key_manager=KeyManager.AWS, kms_key_id="alias/aws/ebs"
)


@pytest.mark.parametrize(
    "intent",
    [
        SHARE,
        Intent(C.SHARE, add=lt(A1)),
        Intent(C.SHARE, add=lt(orgs=(ORG,))),
        Intent(C.SHARE, add=lt(ous=(OU,))),
        Intent(C.SHARE, add=lt(A1), with_snapshots=True),
    ],
)
def test_default_key_forbids_sharing(intent: Intent) -> None:
    state = image(snapshots=(snap("snap-0a"), DEFAULT_KEY))
    plan = plan_image(intent, state)
    assert plan.refusal is not None
    assert plan.refusal.code == DEFAULT_KEY_FORBIDS_SHARING
    assert "snap-0d" in plan.refusal.message
    assert "aws ec2 copy-image" in plan.refusal.message
    assert "--kms-key-id" in plan.refusal.message
    assert plan.requests == () and plan.expected == state


def test_default_key_snapshot_only_share_is_refused() -> None:
    """The image already has A1, but sharing its snapshots with A1 would fail in EC2."""
    intent = Intent(C.SHARE, add=lt(A1), with_snapshots=True)
    state = image(lt(A1), snapshots=(replace(DEFAULT_KEY, accounts=frozenset()),))
    plan = plan_image(intent, state)
    assert plan.refusal is not None and plan.refusal.code == DEFAULT_KEY_FORBIDS_SHARING


@pytest.mark.parametrize(
    ("intent", "launch"),
    [
        (SHARE, lt(A1, A2, orgs=(ORG,), ous=(OU,))),  # already shared: nothing to do
        (Intent(C.UNSHARE, remove=lt(A1)), lt(A1)),
        (ALL_SHARES, lt(A1, orgs=(ORG,))),
        (RESET, lt(A1)),
        (describe("x"), NONE),
    ],
)
def test_default_key_does_not_block_non_sharing(intent: Intent, launch: LaunchTargets) -> None:
    assert plan_image(intent, image(launch, snapshots=(DEFAULT_KEY,))).refusal is None


def test_make_public_and_share_with_default_key_mentions_both() -> None:
    intent = Intent(C.SHARE, add=lt(A1, public=True))
    plan = plan_image(intent, image(snapshots=(DEFAULT_KEY,)))
    assert plan.refusal is not None
    assert plan.refusal.code == ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC
    assert DEFAULT_KEY_FORBIDS_SHARING in plan.refusal.message


def test_customer_key_warns_and_names_the_key() -> None:
    state = image(snapshots=(ENCRYPTED, replace(ENCRYPTED, snapshot_id="snap-0b")))
    plan = plan_image(Intent(C.SHARE, add=lt(A1, orgs=(ORG,))), state)
    assert plan.refusal is None
    assert plan.requests == (add(lt(A1, orgs=(ORG,))),)
    (warning,) = plan.warnings
    assert KEY in warning
    assert "snap-0a, snap-0b" in warning
    assert A1 in warning and ORG in warning
    assert "key policy" in warning


def test_unknown_key_manager_warns() -> None:
    state = image(snapshots=(snap(encrypted=True, kms_key_id=KEY, key_manager=None),))
    plan = plan_image(Intent(C.SHARE, add=lt(A1)), state)
    assert plan.refusal is None
    (warning,) = plan.warnings
    assert KEY in warning and "key manager unknown" in warning


@pytest.mark.parametrize(
    ("intent", "state"),
    [
        (SHARE, image(snapshots=(snap(),))),  # unencrypted
        (SHARE, image(lt(A1, A2, orgs=(ORG,), ous=(OU,)), snapshots=(ENCRYPTED,))),  # no-op
        (Intent(C.UNSHARE, remove=lt(A1)), image(lt(A1), snapshots=(ENCRYPTED,))),
        (describe("x"), image(snapshots=(ENCRYPTED,))),
    ],
)
def test_no_key_warning_without_new_shares(intent: Intent, state: ImageState) -> None:
    assert plan_image(intent, state).warnings == ()


# ---------------------------------------------------------------- with_snapshots


def share_snap(*accounts: str, orgs: tuple[str, ...] = ()) -> Intent:
    return Intent(C.SHARE, add=lt(*accounts, orgs=orgs), with_snapshots=True)


def unshare_snap(*accounts: str) -> Intent:
    return Intent(C.UNSHARE, remove=lt(*accounts), with_snapshots=True)


@pytest.mark.parametrize(
    ("intent", "launch", "snapshots", "snapshot_requests"),
    [
        pytest.param(
            share_snap(A1, orgs=(ORG,)),
            NONE,
            (snap(),),
            (snap_change("snap-0a", Op.ADD, A1),),
            id="share-accounts-only-to-snapshot",
        ),
        pytest.param(
            share_snap(A1, A2),
            NONE,
            (snap(accounts=frozenset({A1})),),
            (snap_change("snap-0a", Op.ADD, A2),),
            id="share-snapshot-has-some",
        ),
        pytest.param(
            share_snap(A1), NONE, (snap(accounts=frozenset({A1, A3})),), (), id="snapshot-has-all"
        ),
        pytest.param(
            share_snap(A1),
            lt(A1),
            (snap(),),
            (snap_change("snap-0a", Op.ADD, A1),),
            id="image-shared-snapshot-not",
        ),
        pytest.param(
            share_snap(A1, A2),
            NONE,
            (snap(accounts=None),),
            (snap_change("snap-0a", Op.ADD, A1, A2),),
            id="share-unknown",
        ),
        pytest.param(share_snap(orgs=(ORG,)), NONE, (snap(),), (), id="org-never-on-snapshots"),
        pytest.param(
            Intent(C.MAKE_PUBLIC, add=PUBLIC, with_snapshots=True),
            NONE,
            (snap(),),
            (),
            id="public-never-on-snapshots",
        ),
        pytest.param(
            unshare_snap(A1),
            lt(A1),
            (snap(accounts=frozenset({A1, A2})),),
            (snap_change("snap-0a", Op.REMOVE, A1),),
            id="unshare",
        ),
        pytest.param(
            unshare_snap(A1),
            NONE,
            (snap(accounts=frozenset({A1})),),
            (snap_change("snap-0a", Op.REMOVE, A1),),
            id="unshare-snapshot-only",
        ),
        pytest.param(
            unshare_snap(A1),
            lt(A1),
            (snap(accounts=frozenset({A2})),),
            (),
            id="unshare-snapshot-lacks",
        ),
        pytest.param(
            unshare_snap(A1, A2),
            lt(A1),
            (snap(accounts=None),),
            (snap_change("snap-0a", Op.REMOVE, A1, A2),),
            id="unshare-unknown",
        ),
        pytest.param(
            Intent(C.UNSHARE, remove_all_shares=True, with_snapshots=True),
            lt(A1, A2, orgs=(ORG,)),
            (snap(accounts=frozenset({A1, A3})),),
            (snap_change("snap-0a", Op.REMOVE, A1),),
            id="all-shares-removes-image-accounts-only",
        ),
        pytest.param(
            Intent(C.SHARE, remove_all_shares=True, add=lt(A2), with_snapshots=True),
            lt(A1),
            (snap("snap-0b", accounts=frozenset({A1})), snap("snap-0a", accounts=frozenset({A2}))),
            (snap_change("snap-0b", Op.REMOVE, A1), snap_change("snap-0b", Op.ADD, A2)),
            id="sorted-by-snapshot-remove-before-add",
        ),
        pytest.param(Intent(C.SHARE, add=lt(A1)), NONE, (snap(),), (), id="without-with-snapshots"),
        pytest.param(
            Intent(C.RESET, reset=True, with_snapshots=True),
            lt(A1),
            (snap(accounts=frozenset({A1})),),
            (),
            id="reset-leaves-snapshots",
        ),
    ],
)
def test_snapshot_requests(
    intent: Intent,
    launch: LaunchTargets,
    snapshots: tuple[SnapshotState, ...],
    snapshot_requests: tuple[Request, ...],
) -> None:
    plan = plan_image(intent, image(launch, snapshots=snapshots))
    assert plan.refusal is None
    got = tuple(r for r in plan.requests if isinstance(r, SnapshotPermissionChange))
    assert got == snapshot_requests
    # Snapshot requests come after every launch-permission request.
    kinds = [isinstance(r, SnapshotPermissionChange) for r in plan.requests]
    assert kinds == sorted(kinds)


def test_unknown_snapshot_permissions_warn_and_become_concrete() -> None:
    plan = plan_image(share_snap(A1), image(snapshots=(snap(accounts=None, public=None),)))
    assert any("snap-0a" in w and "not read" in w for w in plan.warnings)
    (expected_snap,) = plan.expected.snapshots
    assert expected_snap.accounts == frozenset({A1})
    assert expected_snap.public is None
    assert plan_image(share_snap(A1), plan.expected).requests == ()


def test_snapshot_changes_are_batched_by_500() -> None:
    """ModifySnapshotAttribute takes at most 500 modifications per call."""
    accounts = [f"{n:012d}" for n in range(1007)]
    plan = plan_image(share_snap(*accounts), image(snapshots=(snap(),)))
    launch, *batches = plan.requests
    assert launch == add(lt(*accounts))
    assert [len(b.accounts) for b in batches if isinstance(b, SnapshotPermissionChange)] == [
        500,
        500,
        7,
    ]
    assert plan.expected.snapshots[0].accounts == frozenset(accounts)


# ---------------------------------------------------------------- apply_requests


def test_apply_requests_simulates_each_request() -> None:
    before = image(
        lt(A1, orgs=(ORG,)),
        description="old",
        snapshots=(snap(accounts=frozenset({A1})), snap("snap-0b", accounts=None)),
    )
    after = apply_requests(
        before,
        [
            remove(lt(A1, A3)),
            add(lt(A2, ous=(OU,), public=True)),
            snap_change("snap-0a", Op.REMOVE, A1),
            snap_change("snap-0a", Op.ADD, A2),
            snap_change("snap-0c", Op.ADD, A2),  # not behind this image: ignored
            SetDescription(REF, "new"),
            EnforceImdsV2(REF),
        ],
    )
    assert after.launch == lt(A2, orgs=(ORG,), ous=(OU,), public=True)
    assert after.description == "new"
    assert after.imds_support == "v2.0"
    assert after.snapshots == (snap(accounts=frozenset({A2})), snap("snap-0b", accounts=None))
    assert apply_requests(after, [ResetLaunchPermission(REF)]).launch == NONE
    assert apply_requests(before, []) == before


def test_apply_requests_rejects_another_image() -> None:
    with pytest.raises(ValueError, match="ami-0000000000000000f"):
        apply_requests(image(), [EnforceImdsV2(ImageRef("ami-0000000000000000f", REGION))])


# ---------------------------------------------------------------- verify_matches


KNOWN = image(
    lt(A1),
    description="d",
    imds_support="v2.0",
    snapshots=(snap(accounts=frozenset({A1}), public=False),),
)


@pytest.mark.parametrize(
    ("observed", "matches"),
    [
        (KNOWN, True),
        (replace(KNOWN, name="renamed", state="pending"), True),  # not compared
        (replace(KNOWN, launch=lt(A1, public=True)), False),
        (replace(KNOWN, launch=NONE), False),
        (replace(KNOWN, description="e"), False),
        (replace(KNOWN, imds_support=None), False),
        (replace(KNOWN, snapshots=(snap(accounts=frozenset({A1, A2}), public=False),)), False),
        (replace(KNOWN, snapshots=(snap(accounts=frozenset({A1}), public=True),)), False),
        (replace(KNOWN, snapshots=(snap(accounts=None, public=False),)), False),  # not read back
        (replace(KNOWN, snapshots=()), False),
        (replace(KNOWN, region="eu-west-1"), False),
    ],
)
def test_verify_matches(observed: ImageState, matches: bool) -> None:
    assert verify_matches(KNOWN, observed) is matches


def test_verify_ignores_unknown_expectations_and_empty_description() -> None:
    expected = image(description=None, snapshots=(snap(accounts=None, public=None),))
    observed = image(description="", snapshots=(snap(accounts=frozenset({A3}), public=True),))
    assert verify_matches(expected, observed)
    assert verify_matches(image(description=""), image(description=None))


# ---------------------------------------------------------------- is_risky, describe_change


@pytest.mark.parametrize(
    ("intent", "state", "risky"),
    [
        (MAKE_PUBLIC, image(), True),
        (MAKE_PUBLIC, image(PUBLIC), False),  # nothing to do
        (MAKE_PUBLIC, image(product_codes=(MARKETPLACE,)), False),  # refused: nothing sent
        (RESET, image(lt(A1)), True),
        (RESET, image(), False),
        (IMDS, image(), True),
        (SHARE, image(), False),
        (ALL_SHARES, image(lt(A1)), False),
        (MAKE_PRIVATE, image(PUBLIC), False),
        (describe("x"), image(), False),
    ],
)
def test_is_risky(intent: Intent, state: ImageState, risky: bool) -> None:
    assert is_risky(plan_image(intent, state)) is risky


def test_describe_change() -> None:
    intent = Intent(
        C.SHARE,
        add=lt(A2, A1, orgs=(ORG,), ous=(OU,), public=True),
        remove=lt(A3),
        description='say "hi"',
        enforce_imdsv2=True,
        with_snapshots=True,
    )
    plan = plan_image(intent, image(lt(A3), snapshots=(snap(accounts=frozenset({A3})),)))
    assert describe_change(plan) == [
        f"remove launch permission: account {A3}",
        f"add launch permission: public, account {A1}, account {A2}, organization {ORG}, "
        f"organizational unit {OU}",
        f"remove create-volume permission on snap-0a: account {A3}",
        f"add create-volume permission on snap-0a: account {A1}, account {A2}",
        'set description: "say \\"hi\\""',
        "enforce IMDSv2 (ImdsSupport=v2.0, irreversible)",
    ]


def test_describe_reset_and_clear() -> None:
    plan = plan_image(Intent(C.RESET, reset=True, description=""), image(PUBLIC, description="x"))
    assert describe_change(plan) == [
        "reset launch permissions: remove every account, organization, OU and public",
        "clear description",
    ]


# ---------------------------------------------------------------- plan_all


def test_plan_all_sorts_and_uses_each_regions_bpa() -> None:
    def at(image_id: str, region: str) -> ImageState:
        return replace(image(), image_id=image_id, region=region)

    states = [
        at("ami-0000000000000000b", "us-east-1"),
        at("ami-0000000000000000c", "eu-west-1"),
        at("ami-0000000000000000a", "us-east-1"),
        at("ami-0000000000000000d", "ap-south-1"),
    ]
    plans = plan_all(MAKE_PUBLIC, states, {"us-east-1": BPA_ON, "eu-west-1": "unblocked"})
    assert [(p.ref.region, p.ref.image_id) for p in plans] == [
        ("ap-south-1", "ami-0000000000000000d"),
        ("eu-west-1", "ami-0000000000000000c"),
        ("us-east-1", "ami-0000000000000000a"),
        ("us-east-1", "ami-0000000000000000b"),
    ]
    refusals = [p.refusal.code if p.refusal else None for p in plans]
    assert refusals == [None, None, BLOCK_PUBLIC_ACCESS_ENABLED, BLOCK_PUBLIC_ACCESS_ENABLED]
    assert plans[0].requests == (
        LaunchPermissionChange(ImageRef("ami-0000000000000000d", "ap-south-1"), Op.ADD, PUBLIC),
    )


# ---------------------------------------------------------------- hypothesis

OWNER = "123456789012"  # owner_id of every generated image
ACCOUNT_POOL = [A1, A2, A3, A4, OWNER]
ORG_POOL = [ORG, ORG2]
OU_POOL = [OU, OU2]
SNAPSHOT_IDS = ["snap-0a", "snap-0b", "snap-0c"]

launch_targets = st.builds(
    LaunchTargets.of,
    st.sets(st.sampled_from(ACCOUNT_POOL)),
    st.sets(st.sampled_from(ORG_POOL)),
    st.sets(st.sampled_from(OU_POOL)),
    st.booleans(),
)
optional_accounts = st.none() | st.frozensets(st.sampled_from(ACCOUNT_POOL))


@st.composite
def snapshots(draw: st.DrawFn) -> SnapshotState:
    encrypted = draw(st.booleans())
    key_manager = draw(st.none() | st.sampled_from(KeyManager)) if encrypted else None
    kms_key_id = draw(st.none() | st.sampled_from([KEY, "alias/aws/ebs"])) if encrypted else None
    return SnapshotState(
        snapshot_id=draw(st.sampled_from(SNAPSHOT_IDS)),
        encrypted=encrypted,
        kms_key_id=kms_key_id,
        key_manager=key_manager,
        accounts=draw(optional_accounts),
        public=draw(st.none() | st.booleans()),
    )


descriptions = st.none() | st.sampled_from(["", "Base image", "other"])

image_states = st.builds(
    ImageState,
    image_id=st.just(AMI),
    region=st.just(REGION),
    name=st.none() | st.just("base"),
    owner_id=st.just("123456789012"),
    state=st.just("available"),
    launch=launch_targets,
    description=descriptions,
    imds_support=st.none() | st.just("v2.0"),
    product_codes=st.lists(st.sampled_from([MARKETPLACE]), max_size=1).map(tuple),
    snapshots=st.lists(snapshots(), max_size=3, unique_by=lambda s: s.snapshot_id).map(tuple),
)


@st.composite
def intents(draw: st.DrawFn) -> Intent:
    reset = draw(st.booleans())
    return Intent(
        command=draw(st.sampled_from(C)),
        add=NONE if reset else draw(launch_targets),
        remove=draw(launch_targets),
        remove_all_shares=draw(st.booleans()),
        reset=reset,
        description=draw(descriptions),
        enforce_imdsv2=draw(st.booleans()),
        with_snapshots=draw(st.booleans()),
    )


bpa_states = st.sampled_from([None, "unblocked", BPA_ON])


def _without_owner(intent: Intent) -> Intent:
    """What the planner acts on: the owner's account is never a target."""
    owner = lt(OWNER)
    return replace(intent, add=intent.add.difference(owner), remove=intent.remove.difference(owner))


def _removal_wanted(intent: Intent, before: ImageState) -> LaunchTargets:
    wanted = intent.remove
    if intent.remove_all_shares:
        wanted = wanted.union(before.launch.shares)
    return wanted.difference(intent.add)


def _touches_launch_description_or_imds(plan: Plan) -> bool:
    return any(not isinstance(r, SnapshotPermissionChange) for r in plan.requests)


@given(intents(), image_states, bpa_states)
@settings(max_examples=400)
def test_prop_expected_is_requests_applied(
    intent: Intent, before: ImageState, bpa: str | None
) -> None:
    plan = plan_image(intent, before, bpa)
    assert apply_requests(before, plan.requests) == plan.expected


@given(intents(), image_states, bpa_states)
@settings(max_examples=400)
def test_prop_idempotent(intent: Intent, before: ImageState, bpa: str | None) -> None:
    plan = plan_image(intent, before, bpa)
    if not plan.is_refused:
        again = plan_image(intent, plan.expected, bpa)
        assert again.requests == ()
        assert again.refusal is None


@given(intents(), image_states, bpa_states)
def test_prop_never_empty_targets(intent: Intent, before: ImageState, bpa: str | None) -> None:
    for r in plan_image(intent, before, bpa).requests:
        if isinstance(r, LaunchPermissionChange):
            assert not r.targets.is_empty
        if isinstance(r, SnapshotPermissionChange):
            assert 0 < len(r.accounts) <= 500


@given(intents(), image_states, bpa_states)
def test_prop_refused_sends_nothing(intent: Intent, before: ImageState, bpa: str | None) -> None:
    plan = plan_image(intent, before, bpa)
    if plan.is_refused:
        assert plan.requests == ()
        assert plan.expected == before
        assert isinstance(plan.refusal, ErrorInfo) and plan.refusal.message


@given(intents(), image_states, bpa_states)
def test_prop_remove_before_add(intent: Intent, before: ImageState, bpa: str | None) -> None:
    requests = plan_image(intent, before, bpa).requests
    launch_ops = [r.op for r in requests if isinstance(r, LaunchPermissionChange)]
    assert launch_ops in ([], [Op.REMOVE], [Op.ADD], [Op.REMOVE, Op.ADD])
    for snapshot_id in SNAPSHOT_IDS:
        ops = [
            r.op
            for r in requests
            if isinstance(r, SnapshotPermissionChange) and r.snapshot_id == snapshot_id
        ]
        assert ops == sorted(ops, key=lambda op: op is Op.ADD)
    kinds = [type(r).__name__ for r in requests]
    order = [
        "ResetLaunchPermission",
        "LaunchPermissionChange",
        "SnapshotPermissionChange",
        "SetDescription",
        "EnforceImdsV2",
    ]
    assert kinds == sorted(kinds, key=order.index)


@given(intents(), image_states, bpa_states)
def test_prop_verify(intent: Intent, before: ImageState, bpa: str | None) -> None:
    plan = plan_image(intent, before, bpa)
    assert verify_matches(plan.expected, plan.expected)
    if _touches_launch_description_or_imds(plan) or plan.has_changes:
        assert not verify_matches(plan.expected, before)


@given(intents(), image_states, bpa_states)
@settings(max_examples=300)
def test_prop_plan_achieves_the_intent(intent: Intent, before: ImageState, bpa: str | None) -> None:
    plan = plan_image(intent, before, bpa)
    if plan.is_refused:
        return
    after = plan.expected
    intent = _without_owner(intent)
    if intent.reset:
        assert after.launch.is_empty
    else:
        assert intent.add.difference(after.launch).is_empty
        assert _removal_wanted(intent, before).intersection(after.launch).is_empty
        # Nothing the intent does not mention changes.
        untouched = before.launch.difference(_removal_wanted(intent, before))
        assert untouched.difference(after.launch).is_empty
        assert after.launch.difference(before.launch.union(intent.add)).is_empty
    if intent.description is not None:
        assert (after.description or "") == intent.description
    else:
        assert after.description == before.description
    if intent.enforce_imdsv2:
        assert after.imds_support == "v2.0"
    else:
        assert after.imds_support == before.imds_support
    for b, a in zip(before.snapshots, after.snapshots, strict=True):
        assert a.public == b.public
        if intent.with_snapshots and not intent.reset:
            assert intent.add.accounts <= (a.accounts or frozenset())
            assert not (_removal_wanted(intent, before).accounts & (a.accounts or frozenset()))
        else:
            assert a == b


@given(intents(), image_states, bpa_states)
def test_prop_the_owner_is_never_sent(intent: Intent, before: ImageState, bpa: str | None) -> None:
    """The owner's launch permission is implicit: no request adds or removes it, and a
    warning says so when the intent named it."""
    plan = plan_image(intent, before, bpa)
    for r in plan.requests:
        if isinstance(r, LaunchPermissionChange) and r.op is Op.ADD:
            assert OWNER not in r.targets.accounts
        if isinstance(r, SnapshotPermissionChange) and r.op is Op.ADD:
            assert OWNER not in r.accounts
    named = OWNER in intent.add.accounts | intent.remove.accounts
    assert named == any(w.startswith(f"account {OWNER} owns the image") for w in plan.warnings)


@given(intents(), image_states, bpa_states)
def test_prop_minimal_requests(intent: Intent, before: ImageState, bpa: str | None) -> None:
    """Only missing targets are added and only present ones removed."""
    for r in plan_image(intent, before, bpa).requests:
        if isinstance(r, LaunchPermissionChange) and r.op is Op.ADD:
            assert r.targets.intersection(before.launch).is_empty
        if isinstance(r, LaunchPermissionChange) and r.op is Op.REMOVE:
            assert r.targets.difference(before.launch).is_empty
            assert not r.targets.public or intent.remove.public
        if isinstance(r, SnapshotPermissionChange) and r.op is Op.ADD:
            (s,) = [s for s in before.snapshots if s.snapshot_id == r.snapshot_id]
            assert not (r.accounts & (s.accounts or frozenset()))


@given(intents(), image_states, bpa_states)
def test_prop_refusal_only_when_something_would_be_sent(
    intent: Intent, before: ImageState, bpa: str | None
) -> None:
    """Remove every reason to refuse: the same intent then plans requests, and the refusal
    code names a reason the image really has."""
    plan = plan_image(intent, before, bpa)
    if not plan.is_refused:
        return
    safe = replace(
        before,
        product_codes=(),
        snapshots=tuple(
            replace(s, encrypted=False, key_manager=None, kms_key_id=None) for s in before.snapshots
        ),
    )
    assert plan_image(intent, safe, "unblocked").requests != ()
    assert plan.refusal is not None
    code = plan.refusal.code
    if code == PRODUCT_CODES_FORBID_PUBLIC:
        assert before.product_codes
    elif code == ENCRYPTED_SNAPSHOTS_FORBID_PUBLIC:
        assert before.has_encrypted_snapshot
    elif code == BLOCK_PUBLIC_ACCESS_ENABLED:
        assert bpa == BPA_ON
    else:
        assert code == DEFAULT_KEY_FORBIDS_SHARING
        assert any(s.uses_default_key for s in before.snapshots)


@given(intents(), st.lists(image_states, max_size=4), bpa_states)
def test_prop_plan_all_sorted(intent: Intent, states: list[ImageState], bpa: str | None) -> None:
    ids = ["ami-0000000000000000a", "ami-0000000000000000b", "ami-0000000000000000c"]
    states = [
        replace(s, image_id=ids[i % 3], region=["us-east-1", "eu-west-1"][i % 2])
        for i, s in enumerate(states)
    ]
    plans = plan_all(intent, states, {"us-east-1": bpa} if bpa else {})
    keys = [(p.ref.region, p.ref.image_id) for p in plans]
    assert keys == sorted(keys)
    assert len(plans) == len(states)
    for p in plans:
        assert len(describe_change(p)) == len(p.requests)
