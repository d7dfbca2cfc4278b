"""Policy files (spec §7): the parser, the planner's exact-set semantics, export, and the
`plan`, `apply` and `export` commands against the emulator."""

from __future__ import annotations

import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amictl.config import ConfigFileError
from amictl.gateway import Filter
from amictl.model import (
    IMDS_V2,
    Command,
    EnforceImdsV2,
    ImageRef,
    ImageState,
    LaunchPermissionChange,
    LaunchTargets,
    Op,
    ProductCode,
    SetDescription,
    SnapshotPermissionChange,
    SnapshotState,
    TargetKind,
)
from amictl.plan import apply_requests, plan_image
from amictl.policy import (
    PolicyEntry,
    check_overlaps,
    export_policy,
    load_policy,
    parse_policy,
    snapshots_in_step,
    toml_string,
)
from amictl.sandbox import Sandbox

from .terminal import finish, spawn_amictl

if sys.version_info >= (3, 11):
    from tomllib import loads as toml_loads
else:  # the same fallback as amictl itself
    from tomli import loads as toml_loads

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ACCOUNT = "111122223333"
ACCOUNT_2 = "444455556666"
ACCOUNT_3 = "777788889999"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
AMI = "ami-0123456789abcdef0"
AMI_2 = "ami-0123456789abcdef1"
POLICY = Path("policy.toml")
NO_TARGETS = LaunchTargets()

SPEC_EXAMPLE = f"""\
[accounts]
prod = "{ACCOUNT}"

[[image]]
id = "{AMI}"          # or: select = {{ tags = {{ Team = "base" }} }}
region = "us-east-1"
accounts = ["prod"]
organizations = []
organizational_units = []
public = false
description = "Base image"
imds_support = "v2.0"
snapshots = true                        # keep createVolumePermission in step
"""


def problems(text: str, aliases: dict[str, str] | None = None) -> list[str]:
    """Every rendered problem line of an invalid policy, without the file name."""
    with pytest.raises(ConfigFileError) as info:
        parse_policy(text, POLICY, MappingProxyType(aliases or {}))
    assert info.value.path == POLICY
    lines = info.value.message.splitlines()
    assert all(line.startswith(f"{POLICY}:") for line in lines), lines
    return [line[len(f"{POLICY}:") :] for line in lines]


def only_problem(text: str, aliases: dict[str, str] | None = None) -> str:
    found = problems(text, aliases)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- parsing valid files


def test_the_spec_example_parses_into_one_entry() -> None:
    policy = parse_policy(SPEC_EXAMPLE, POLICY)
    assert policy.path == POLICY
    assert dict(policy.accounts) == {"prod": ACCOUNT}
    assert policy.entries == (
        PolicyEntry(
            index=0,
            line=4,
            image_id=AMI,
            regions=(REGION,),
            accounts=frozenset({ACCOUNT}),
            organizations=frozenset(),
            organizational_units=frozenset(),
            public=False,
            description="Base image",
            enforce_imdsv2=True,
            snapshots=True,
        ),
    )
    assert policy.needs_snapshot_permissions
    assert not policy.may_make_public


def test_the_entry_becomes_an_exact_set_intent() -> None:
    (entry,) = parse_policy(SPEC_EXAMPLE, POLICY).entries
    intent = entry.intent(Command.APPLY)
    assert intent.command is Command.APPLY
    assert intent.add == LaunchTargets.of([ACCOUNT])
    assert intent.remove == LaunchTargets(public=True)
    assert intent.exact == frozenset(TargetKind)
    assert intent.description == "Base image"
    assert intent.enforce_imdsv2
    assert intent.snapshots_follow_image
    assert not intent.with_snapshots


def test_omitted_attributes_are_left_alone() -> None:
    (entry,) = parse_policy(f'[[image]]\nid = "{AMI}"\n', POLICY).entries
    assert entry == PolicyEntry(index=0, line=1, image_id=AMI)
    intent = entry.intent(Command.PLAN)
    assert intent.add.is_empty and intent.remove.is_empty
    assert intent.exact == frozenset()
    assert intent.description is None
    assert not intent.enforce_imdsv2 and not intent.snapshots_follow_image


def test_only_the_listed_kinds_are_exact() -> None:
    text = f'[[image]]\nid = "{AMI}"\norganizations = ["{ORG}"]\npublic = true\n'
    (entry,) = parse_policy(text, POLICY).entries
    intent = entry.intent(Command.PLAN)
    assert intent.exact == {TargetKind.ORGANIZATIONS}
    assert intent.add == LaunchTargets.of(organizations=[ORG], public=True)
    assert intent.remove.is_empty
    assert parse_policy(text, POLICY).may_make_public


def test_aliases_come_from_the_config_and_the_file_overrides_them() -> None:
    text = (
        f'[accounts]\nprod = "{ACCOUNT_2}"\n\n[[image]]\nid = "{AMI}"\n'
        'accounts = ["prod", "staging", " 777788889999 "]\n'
    )
    config_aliases = {"prod": ACCOUNT, "staging": ACCOUNT_3}
    policy = parse_policy(text, POLICY, MappingProxyType(config_aliases))
    assert policy.entries[0].accounts == {ACCOUNT_2, ACCOUNT_3}
    assert dict(policy.accounts) == {"prod": ACCOUNT_2, "staging": ACCOUNT_3}


@pytest.mark.parametrize(
    ("select", "filters"),
    [
        ('{ tags = { Team = "base" } }', (Filter("tag:Team", ("base",)),)),
        (
            '{ tags = { Team = "base", "cost center" = "42" } }',
            (Filter("tag:Team", ("base",)), Filter("tag:cost center", ("42",))),
        ),
        ('{ filters = { name = "base-*" } }', (Filter("name", ("base-*",)),)),
        (
            '{ filters = { name = ["base-*", "web-*"], architecture = "arm64" } }',
            (Filter("name", ("base-*", "web-*")), Filter("architecture", ("arm64",))),
        ),
        (
            '{ tags = { Team = "base" }, filters = { name = "b*" } }',
            (Filter("tag:Team", ("base",)), Filter("name", ("b*",))),
        ),
    ],
)
def test_select_forms(select: str, filters: tuple[Filter, ...]) -> None:
    (entry,) = parse_policy(f"[[image]]\nselect = {select}\n", POLICY).entries
    assert entry.image_id is None
    assert entry.is_selector
    assert entry.filters == filters


def test_select_as_a_sub_table() -> None:
    text = '[[image]]\naccounts = []\n[image.select.tags]\nTeam = "base"\n'
    (entry,) = parse_policy(text, POLICY).entries
    assert entry.filters == (Filter("tag:Team", ("base",)),)
    assert entry.accounts == frozenset()


@pytest.mark.parametrize(
    ("region", "regions"),
    [
        ('"eu-west-1"', (OTHER_REGION,)),
        ('["us-east-1", "eu-west-1", "us-east-1"]', (REGION, OTHER_REGION)),
        ('"all"', ("all",)),
    ],
)
def test_region_forms(region: str, regions: tuple[str, ...]) -> None:
    (entry,) = parse_policy(f'[[image]]\nid = "{AMI}"\nregion = {region}\n', POLICY).entries
    assert entry.regions == regions


def test_an_empty_policy_has_no_entries() -> None:
    assert parse_policy("# nothing yet\n", POLICY).entries == ()


def test_entries_keep_their_index_and_line() -> None:
    text = f'[[image]]\nid = "{AMI}"\n\n# second\n[[image]]\nid = "{AMI_2}"\n'
    entries = parse_policy(text, POLICY).entries
    assert [(e.index, e.line, e.key) for e in entries] == [(0, 1, "image[0]"), (1, 5, "image[1]")]
    assert entries[1].label == f"image[1] ({AMI_2})"


def test_load_policy_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    assert load_policy(path).entries == parse_policy(SPEC_EXAMPLE, path).entries


# ---------------------------------------------------------------- every kind of error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[[image]]\nid = "ami-xyz"\n',
            "2: image[0].id: invalid AMI ID 'ami-xyz'",
            id="bad-ami-id",
        ),
        pytest.param(
            "[[image]]\nid = 12\n", "2: image[0].id: expected an AMI ID string", id="id-type"
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\naccounts = ["{ACCOUNT}", "12345"]\n',
            "3: image[0].accounts[1]: invalid account ID '12345'",
            id="bad-account",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\naccounts = [\n  "{ACCOUNT}",\n  "nosuch",\n]\n',
            "5: image[0].accounts[1]: unknown account alias 'nosuch'",
            id="unknown-alias-line-of-the-element",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\naccounts = [{ACCOUNT}]\n',
            "3: image[0].accounts[0]: expected a string, got integer",
            id="account-as-integer",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\naccounts = "{ACCOUNT}"\n',
            "3: image[0].accounts: expected an array of strings",
            id="accounts-not-an-array",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\norganizations = ["o-abc123def4"]\n',
            "3: image[0].organizations[0]: invalid organization ARN 'o-abc123def4'",
            id="bad-org",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\norganizational_units = ["{ORG}"]\n',
            "3: image[0].organizational_units[0]: invalid organizational unit ARN",
            id="org-as-ou",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\npublic = "no"\n',
            "3: image[0].public: expected true or false, got string 'no'",
            id="public-type",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nsnapshots = 1\n',
            "3: image[0].snapshots: expected true or false, got integer 1",
            id="snapshots-type",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\ndescription = "a\\tb"\n',
            "3: image[0].description: invalid description 'a\\tb': control character",
            id="description-control-character",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\ndescription = "{"x" * 256}"\n',
            "3: image[0].description: description is 256 characters long",
            id="description-too-long",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nimds_support = "v1.0"\n',
            "3: image[0].imds_support: invalid imds_support 'v1.0': the only value is 'v2.0'",
            id="imds-v1",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nregion = "mars-1"\n',
            "3: image[0].region: invalid region 'mars-1'",
            id="bad-region",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nregion = ["us-east-1", "all"]\n',
            "3: image[0].region: region 'all' cannot be combined with other regions",
            id="region-all-and-more",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nregion = []\n',
            "3: image[0].region: empty array",
            id="region-empty",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nregion = 5\n',
            "3: image[0].region: expected a region name or an array of region names",
            id="region-type",
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\npublik = true\n',
            "3: image[0].publik: unknown key 'publik'; expected one of accounts, description, "
            "id, imds_support, organizational_units, organizations, public, region, select, "
            "snapshots (hint: did you mean 'public'?)",
            id="unknown-key",
        ),
        pytest.param(
            f'[[images]]\nid = "{AMI}"\n',
            "1: images: unknown section 'images'; expected one of accounts, image "
            "(hint: did you mean 'image'?)",
            id="unknown-section",
        ),
        pytest.param(
            f'[image]\nid = "{AMI}"\n',
            "1: image: expected an array of tables, got a table",
            id="single-brackets",
        ),
        pytest.param(
            "[[image]]\naccounts = []\n", "1: image[0]: no image: give id or select", id="no-image"
        ),
        pytest.param(
            f'[[image]]\nid = "{AMI}"\nselect = {{ tags = {{ Team = "base" }} }}\n',
            "1: image[0]: give either id or select, not both",
            id="id-and-select",
        ),
        pytest.param(
            "[[image]]\nselect = {}\n",
            "2: image[0].select: select matches nothing: give tags or filters",
            id="select-empty",
        ),
        pytest.param(
            '[[image]]\nselect = "Team=base"\n',
            "2: image[0].select: expected a table",
            id="select-type",
        ),
        pytest.param(
            '[[image]]\nselect = { tag = { Team = "base" } }\n',
            "2: image[0].select.tag: unknown key 'tag'; expected one of filters, tags "
            "(hint: did you mean 'tags'?)",
            id="select-unknown-key",
        ),
        pytest.param(
            "[[image]]\nselect = { tags = { Team = 1 } }\n",
            "2: image[0].select.tags.Team: expected a string (the tag's value), got integer 1",
            id="tag-value-type",
        ),
        pytest.param(
            "[[image]]\nselect = { filters = { name = [] } }\n",
            "2: image[0].select.filters.name: empty array",
            id="filter-empty",
        ),
        pytest.param(
            '[[image]]\nselect = { filters = { "bad name" = "x" } }\n',
            "2: image[0].select.filters.\"bad name\": invalid filter 'bad name=x'",
            id="filter-name",
        ),
        pytest.param(
            '[accounts]\nprod = "1234"\n',
            "2: accounts.prod: invalid account ID '1234'",
            id="bad-alias-target",
        ),
        pytest.param(
            f"[accounts]\nprod = {ACCOUNT}\n",
            "2: accounts.prod: expected the account ID as a string, got integer",
            id="alias-as-integer",
        ),
    ],
)
def test_each_error_names_the_key_path_and_the_line(text: str, expected: str) -> None:
    assert only_problem(text).startswith(expected)


def test_syntax_errors_give_the_parser_s_line() -> None:
    found = only_problem("[[image]\n")
    assert found.startswith("1:8: invalid TOML: "), found
    assert "']]'" in found
    at_end = only_problem(f'[[image]]\nid = "{AMI}"\naccounts = [\n')
    assert at_end.startswith("3: invalid TOML: "), at_end


def test_every_problem_of_every_entry_is_reported_in_line_order() -> None:
    text = (
        f'[[image]]\nid = "{AMI}"\n\n'  # 1-3: fine
        '[[image]]\nid = "ami-xyz"\n'  # 4-5
        'accounts = ["nosuch"]\n'  # 6
        "public = 1\n"  # 7
        "\n[[image]]\n"  # 9
        "snapshots = true\n"  # 10
    )
    found = problems(text)
    assert [line.split(": ")[0] + ": " + line.split(": ")[1] for line in found] == [
        "5: image[1].id",
        "6: image[1].accounts[0]",
        "7: image[1].public",
        "9: image[2]",
    ]


def test_a_bad_alias_is_reported_once_at_its_definition() -> None:
    text = f'[accounts]\nprod = "1234"\n\n[[image]]\nid = "{AMI}"\naccounts = ["prod"]\n'
    (found,) = problems(text)
    assert found.startswith("2: accounts.prod:")


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(b'[[image]]\nid = "\xff"\n')
    with pytest.raises(ConfigFileError) as info:
        load_policy(path)
    assert info.value.message == f"{path}:2: the file is not UTF-8 text"


# ---------------------------------------------------------------- overlaps


def test_two_entries_selecting_the_same_image_name_both() -> None:
    text = (
        f'[[image]]\nid = "{AMI}"\n\n'
        '[[image]]\nselect = { tags = { Team = "base" } }\n\n'
        f'[[image]]\nid = "{AMI_2}"\n'
    )
    policy = parse_policy(text, POLICY)
    ref = ImageRef(AMI, REGION)
    check_overlaps(
        policy, {0: [ref], 1: [ImageRef(AMI, OTHER_REGION)], 2: [ImageRef(AMI_2, REGION)]}
    )
    with pytest.raises(ConfigFileError) as info:
        check_overlaps(policy, {0: [ref], 1: [ref, ImageRef(AMI_2, REGION)], 2: []})
    assert info.value.message == (
        f"{POLICY}:4: image[1]: image[1] (select tag:Team=base) and image[0] ({AMI}) "
        f"(line 1) both select {AMI} ({REGION}); an image may be in one entry only, so "
        "that its attributes are set once"
    )


# ---------------------------------------------------------------- planning a policy (pure)


def state(
    image_id: str = AMI,
    *,
    launch: LaunchTargets = NO_TARGETS,
    description: str | None = None,
    imds_support: str | None = None,
    snapshots: tuple[SnapshotState, ...] = (),
    product_codes: tuple[ProductCode, ...] = (),
) -> ImageState:
    return ImageState(
        image_id,
        REGION,
        "img",
        "123456789012",
        "available",
        launch=launch,
        description=description,
        imds_support=imds_support,
        snapshots=snapshots,
        product_codes=product_codes,
    )


def entry_of(body: str) -> PolicyEntry:
    (entry,) = parse_policy(f'[[image]]\nid = "{AMI}"\n{body}', POLICY).entries
    return entry


def test_exact_accounts_remove_what_the_list_lacks_and_leave_other_kinds_alone() -> None:
    before = state(launch=LaunchTargets.of([ACCOUNT, ACCOUNT_2], [ORG], [OU], public=True))
    plan = plan_image(
        entry_of(f'accounts = ["{ACCOUNT}", "{ACCOUNT_3}"]\n').intent(Command.APPLY), before
    )
    ref = before.ref
    assert plan.requests == (
        LaunchPermissionChange(ref, Op.REMOVE, LaunchTargets.of([ACCOUNT_2])),
        LaunchPermissionChange(ref, Op.ADD, LaunchTargets.of([ACCOUNT_3])),
    )
    assert plan.expected.launch == LaunchTargets.of([ACCOUNT, ACCOUNT_3], [ORG], [OU], public=True)


def test_empty_lists_remove_every_target_of_those_kinds() -> None:
    before = state(launch=LaunchTargets.of([ACCOUNT], [ORG], [OU], public=True))
    intent = entry_of("organizations = []\norganizational_units = []\npublic = false\n").intent(
        Command.APPLY
    )
    plan = plan_image(intent, before)
    assert plan.requests == (
        LaunchPermissionChange(
            before.ref, Op.REMOVE, LaunchTargets.of([], [ORG], [OU], public=True)
        ),
    )
    assert plan.expected.launch == LaunchTargets.of([ACCOUNT])


def test_snapshots_follow_the_image_s_accounts_after_the_change() -> None:
    snaps = (
        SnapshotState("snap-1", False, accounts=frozenset({ACCOUNT_2, ACCOUNT_3}), public=False),
        SnapshotState("snap-2", False, accounts=frozenset(), public=False),
    )
    before = state(launch=LaunchTargets.of([ACCOUNT_2]), snapshots=snaps)
    plan = plan_image(
        entry_of(f'accounts = ["{ACCOUNT}"]\nsnapshots = true\n').intent(Command.APPLY), before
    )
    ref = before.ref
    assert plan.requests == (
        LaunchPermissionChange(ref, Op.REMOVE, LaunchTargets.of([ACCOUNT_2])),
        LaunchPermissionChange(ref, Op.ADD, LaunchTargets.of([ACCOUNT])),
        SnapshotPermissionChange(ref, "snap-1", Op.REMOVE, frozenset({ACCOUNT_2, ACCOUNT_3})),
        SnapshotPermissionChange(ref, "snap-1", Op.ADD, frozenset({ACCOUNT})),
        SnapshotPermissionChange(ref, "snap-2", Op.ADD, frozenset({ACCOUNT})),
    )
    assert snapshots_in_step(plan.expected)


def test_snapshots_true_without_accounts_follows_the_accounts_the_image_has() -> None:
    snaps = (SnapshotState("snap-1", False, accounts=frozenset(), public=False),)
    before = state(launch=LaunchTargets.of([ACCOUNT]), snapshots=snaps)
    plan = plan_image(entry_of("snapshots = true\n").intent(Command.APPLY), before)
    assert plan.requests == (
        SnapshotPermissionChange(before.ref, "snap-1", Op.ADD, frozenset({ACCOUNT})),
    )


def test_snapshots_false_leaves_snapshot_permissions_alone() -> None:
    snaps = (SnapshotState("snap-1", False, accounts=frozenset({ACCOUNT_3}), public=False),)
    before = state(launch=LaunchTargets.of([ACCOUNT]), snapshots=snaps)
    plan = plan_image(entry_of("accounts = []\nsnapshots = false\n").intent(Command.APPLY), before)
    assert plan.requests == (
        LaunchPermissionChange(before.ref, Op.REMOVE, LaunchTargets.of([ACCOUNT])),
    )


def test_description_and_imdsv2_and_the_irreversible_flag() -> None:
    before = state(description="old")
    plan = plan_image(
        entry_of('description = "new"\nimds_support = "v2.0"\n').intent(Command.APPLY), before
    )
    assert plan.requests == (SetDescription(before.ref, "new"), EnforceImdsV2(before.ref))
    assert plan.irreversible
    done = plan_image(
        entry_of('description = "new"\nimds_support = "v2.0"\n').intent(Command.APPLY),
        state(description="new", imds_support=IMDS_V2),
    )
    assert done.requests == () and not done.irreversible


def test_public_true_is_still_refused_for_a_marketplace_image() -> None:
    before = state(product_codes=(ProductCode("abc", "marketplace"),))
    plan = plan_image(entry_of("public = true\n").intent(Command.APPLY), before)
    assert plan.is_refused
    assert plan.refusal is not None and plan.refusal.code == "ProductCodesForbidPublic"


# ---------------------------------------------------------------- export (pure)


def test_export_writes_every_attribute() -> None:
    snaps = (SnapshotState("snap-1", False, accounts=frozenset({ACCOUNT}), public=False),)
    exported = export_policy(
        [
            state(
                AMI_2,
                launch=LaunchTargets.of([ACCOUNT_2, ACCOUNT], [ORG], [OU], public=True),
                description='say "hi"',
                imds_support=IMDS_V2,
            ),
            state(launch=LaunchTargets.of([ACCOUNT]), snapshots=snaps),
        ]
    )
    body = exported.split("\n\n", 1)[1]
    assert exported.startswith("# amictl policy: the current state of 2 images")
    assert body == (
        "[[image]]\n"
        '# name: "img"\n'
        f'id = "{AMI}"\n'
        f'region = "{REGION}"\n'
        f'accounts = ["{ACCOUNT}"]\n'
        "organizations = []\n"
        "organizational_units = []\n"
        "public = false\n"
        'description = ""\n'
        "snapshots = true\n"
        "\n"
        "[[image]]\n"
        '# name: "img"\n'
        f'id = "{AMI_2}"\n'
        f'region = "{REGION}"\n'
        "accounts = [\n"
        f'  "{ACCOUNT}",\n'
        f'  "{ACCOUNT_2}",\n'
        "]\n"
        f'organizations = ["{ORG}"]\n'
        f'organizational_units = ["{OU}"]\n'
        "public = true\n"
        'description = "say \\"hi\\""\n'
        'imds_support = "v2.0"\n'
        "snapshots = false\n"
    )


def test_export_leaves_out_a_description_a_policy_cannot_hold() -> None:
    exported = export_policy([state(description="two\nlines")])
    assert "description =" not in exported
    assert "# description left out" in exported
    (entry,) = parse_policy(exported, POLICY).entries
    assert entry.description is None


@pytest.mark.parametrize(
    ("snapshots", "in_step"),
    [
        ((), False),
        ((SnapshotState("snap-1", False),), False),  # permissions not read
        ((SnapshotState("snap-1", False, accounts=frozenset({ACCOUNT}), public=False),), True),
        ((SnapshotState("snap-1", False, accounts=frozenset({ACCOUNT}), public=True),), False),
        ((SnapshotState("snap-1", False, accounts=frozenset(), public=False),), False),
    ],
)
def test_snapshots_in_step(snapshots: tuple[SnapshotState, ...], in_step: bool) -> None:
    assert (
        snapshots_in_step(state(launch=LaunchTargets.of([ACCOUNT]), snapshots=snapshots)) is in_step
    )


@pytest.mark.parametrize("text", ["", "plain", 'q"uote', "back\\slash", "tab\there", "\x7f", "é ✓"])
def test_toml_string_round_trips(text: str) -> None:
    assert toml_loads(f"x = {toml_string(text)}")["x"] == text


# ---------------------------------------------------------------- properties: export, then plan

accounts_st = st.frozensets(st.sampled_from([ACCOUNT, ACCOUNT_2, ACCOUNT_3]))
orgs_st = st.frozensets(
    st.sampled_from([ORG, "arn:aws:organizations::123456789012:organization/o-zzz999yyy8"])
)
ous_st = st.frozensets(st.sampled_from([OU]))
description_st = st.none() | st.text(max_size=300)


@st.composite
def snapshots_st(draw: st.DrawFn, ids: tuple[str, ...]) -> tuple[SnapshotState, ...]:
    return tuple(
        SnapshotState(
            snapshot_id,
            draw(st.booleans()),
            accounts=draw(st.none() | accounts_st),
            public=draw(st.booleans()),
        )
        for snapshot_id in ids
    )


@st.composite
def image_st(
    draw: st.DrawFn, image_id: str, snapshot_ids: tuple[str, ...], refusable: bool = True
) -> ImageState:
    encrypted_ok = refusable
    snaps = draw(snapshots_st(snapshot_ids))
    if not encrypted_ok:
        snaps = tuple(
            SnapshotState(s.snapshot_id, False, accounts=s.accounts, public=s.public) for s in snaps
        )
    return ImageState(
        image_id,
        draw(st.sampled_from([REGION, OTHER_REGION])) if refusable else REGION,
        draw(st.none() | st.text(max_size=20)),
        "123456789012",
        "available",
        launch=LaunchTargets(draw(accounts_st), draw(orgs_st), draw(ous_st), draw(st.booleans())),
        description=draw(description_st),
        imds_support=draw(st.sampled_from([None, IMDS_V2, "v1.0"])),
        product_codes=(
            (ProductCode("abc", "marketplace"),) if refusable and draw(st.booleans()) else ()
        ),
        snapshots=snaps,
    )


@st.composite
def fleet_st(draw: st.DrawFn) -> list[ImageState]:
    count = draw(st.integers(0, 4))
    return [
        draw(
            image_st(f"ami-{n:017x}", tuple(f"snap-{n}{m}" for m in range(draw(st.integers(0, 2)))))
        )
        for n in range(count)
    ]


@settings(max_examples=200, deadline=None)
@given(fleet_st())
def test_export_then_plan_against_the_same_state_sends_nothing(states: list[ImageState]) -> None:
    policy = parse_policy(export_policy(states), POLICY)
    by_id = {s.image_id: s for s in states}
    assert sorted(e.image_id or "" for e in policy.entries) == sorted(by_id)
    for entry in policy.entries:
        assert entry.image_id is not None
        current = by_id[entry.image_id]
        assert entry.regions == (current.region,)
        assert entry.accounts == current.launch.accounts
        assert entry.organizations == current.launch.organizations
        assert entry.organizational_units == current.launch.organizational_units
        assert entry.public is current.launch.public
        assert entry.enforce_imdsv2 is (current.imds_support == IMDS_V2)
        plan = plan_image(entry.intent(Command.PLAN), current)
        assert plan.requests == ()
        assert plan.refusal is None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_applying_an_export_to_another_state_converges_to_the_exported_one(
    data: st.DataObject,
) -> None:
    snapshot_ids = tuple(f"snap-{m}" for m in range(data.draw(st.integers(0, 2))))
    wanted = data.draw(image_st(AMI, snapshot_ids, refusable=False))
    current = data.draw(image_st(AMI, snapshot_ids, refusable=False))
    (entry,) = parse_policy(export_policy([wanted]), POLICY).entries
    intent = entry.intent(Command.APPLY)
    plan = plan_image(intent, current)
    after = apply_requests(current, plan.requests)
    assert after.launch == wanted.launch
    if entry.description is not None:
        assert (after.description or "") == (wanted.description or "")
    if wanted.imds_support == IMDS_V2:
        assert after.imds_support == IMDS_V2
    else:
        assert after.imds_support == current.imds_support  # left alone: it cannot be undone
    if entry.snapshots:
        # (unread snapshot permissions are planned as if empty: apply reads them first)
        assert all((s.accounts or frozenset()) == wanted.launch.accounts for s in after.snapshots)
    else:
        assert after.snapshots == current.snapshots
    assert plan_image(intent, after).requests == ()


# ---------------------------------------------------------------- against the emulator


def write_policy(tmp_path: Path, text: str, name: str = "policy.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def launch_of(ec2: Any, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))


def described(ec2: Any, image_id: str) -> dict[str, Any]:
    (found,) = ec2.describe_images(ImageIds=[image_id])["Images"]
    return dict(found)


def snapshot_accounts(ec2: Any, image_id: str) -> list[str]:
    snapshot_id = described(ec2, image_id)["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    answer = ec2.describe_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission"
    )
    return sorted(p["UserId"] for p in answer["CreateVolumePermissions"] if "UserId" in p)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["image_id"]: r["status"] for r in doc["results"]}


@pytest.fixture
def fleet(sandbox: Sandbox) -> dict[str, str]:
    """Images of every kind a policy can describe, in two regions."""
    return {
        "plain": sandbox.create_image(REGION, "plain", description="Plain"),
        "shared": sandbox.create_image(
            REGION,
            "shared",
            accounts=[ACCOUNT, ACCOUNT_2],
            organizations=[ORG],
            organizational_units=[OU],
            snapshot_accounts=[ACCOUNT],
        ),
        "in-step": sandbox.create_image(
            REGION, "in-step", accounts=[ACCOUNT], snapshot_accounts=[ACCOUNT]
        ),
        "public": sandbox.create_image(REGION, "public", public=True, description="Public"),
        "marketplace": sandbox.create_image(
            REGION, "marketplace", product_code="abc123", accounts=[ACCOUNT_3]
        ),
        "encrypted": sandbox.create_image(
            REGION, "encrypted", encrypted="aws-managed", description="AWS key"
        ),
        "imdsv2": sandbox.create_image(REGION, "imdsv2", imds_v2=True, tags={"Team": "base"}),
        "odd": sandbox.create_image(REGION, "odd", description='quote " and \\ and ✓'),
        "eu": sandbox.create_image(OTHER_REGION, "eu", accounts=[ACCOUNT_2]),
    }


BOTH_REGIONS = ["--region", REGION, "--region", OTHER_REGION]


def test_export_all_then_plan_finds_nothing_to_change(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    exported = amictl(["export", "--all", *BOTH_REGIONS])
    assert exported.exit_code == 0, exported
    assert "exported 9 images" in exported.stderr
    policy = parse_policy(exported.stdout, POLICY)
    assert sorted(e.image_id or "" for e in policy.entries) == sorted(fleet.values())
    entries = {e.image_id: e for e in policy.entries}
    assert entries[fleet["shared"]].accounts == {ACCOUNT, ACCOUNT_2}
    assert entries[fleet["shared"]].organizations == {ORG}
    assert entries[fleet["shared"]].organizational_units == {OU}
    assert entries[fleet["shared"]].snapshots is False  # ACCOUNT_2 cannot copy it
    assert entries[fleet["in-step"]].snapshots is True
    assert entries[fleet["public"]].public is True
    assert entries[fleet["imdsv2"]].enforce_imdsv2 is True
    assert entries[fleet["odd"]].description == 'quote " and \\ and ✓'
    assert entries[fleet["eu"]].regions == (OTHER_REGION,)

    path = write_policy(tmp_path, exported.stdout)
    planned = amictl(["plan", path, "-o", "json"])  # the entries name their regions
    assert planned.exit_code == 0, planned
    assert statuses(planned.json) == dict.fromkeys(fleet.values(), "unchanged")
    assert sandbox.mutating_requests() == []


def test_export_by_id_and_by_tag(sandbox: Sandbox, amictl: Any, fleet: dict[str, str]) -> None:
    by_id = amictl(["export", fleet["plain"], fleet["shared"]])
    assert by_id.exit_code == 0, by_id
    assert sorted(e.image_id or "" for e in parse_policy(by_id.stdout, POLICY).entries) == sorted(
        [fleet["plain"], fleet["shared"]]
    )
    by_tag = amictl(["export", "--tag", "Team=base"])
    assert by_tag.exit_code == 0, by_tag
    assert [e.image_id for e in parse_policy(by_tag.stdout, POLICY).entries] == [fleet["imdsv2"]]


def test_export_of_a_missing_image_is_an_error_and_it_is_left_out(
    sandbox: Sandbox, amictl: Any, fleet: dict[str, str]
) -> None:
    r = amictl(["export", fleet["plain"], AMI])
    assert r.exit_code == 1, r
    assert f"{AMI} ({REGION}): InvalidAMIID.NotFound" in r.stderr
    assert [e.image_id for e in parse_policy(r.stdout, POLICY).entries] == [fleet["plain"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export"], "no images given"),
        (["export", "--all", "-o", "json"], "-o json does not apply"),
        (["export", "ami-nothex"], "invalid AMI ID 'ami-nothex'"),
    ],
)
def test_export_usage_errors(sandbox: Sandbox, amictl: Any, args: list[str], message: str) -> None:
    r = amictl(args)
    assert r.exit_code == 2, r
    assert message in r.stderr
    assert sandbox.requests == []


def test_plan_exit_4_lists_the_changes_and_sends_nothing(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["{ACCOUNT}"]\n\n'
        f'[[image]]\nid = "{fleet["public"]}"\ndescription = "Public"\n',
    )
    r = amictl(["plan", path])
    assert r.exit_code == 4, r
    assert f"{fleet['plain']} ({REGION}): would-change" in r.stdout
    assert f"+ {ACCOUNT}" in r.stdout
    assert f"{fleet['public']} ({REGION}): unchanged" in r.stdout
    assert "1 unchanged, 1 would change" in r.stderr
    assert sandbox.mutating_requests() == []  # not even a DryRun probe
    assert launch_of(ec2, fleet["plain"]) == []


def test_plan_json_is_the_results_document(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["plain"]}"\ndescription = "New"\n\n'
        f'[[image]]\nid = "{fleet["imdsv2"]}"\nimds_support = "v2.0"\n',
    )
    r = amictl(["plan", path, "-o", "json"])
    assert r.exit_code == 4, r
    doc = r.json
    assert list(doc) == ["command", "dry_run", "results"]
    assert (doc["command"], doc["dry_run"]) == ("plan", False)
    plain, imdsv2 = sorted(doc["results"], key=lambda x: x["image_id"] != fleet["plain"])
    assert list(plain) == ["image_id", "region", "status", "before", "after", "error"]
    assert (plain["image_id"], plain["region"], plain["status"]) == (
        fleet["plain"],
        REGION,
        "would-change",
    )
    assert plain["before"]["description"] == "Plain"
    assert plain["before"]["name"] == "plain"
    assert plain["after"] is None and plain["error"] is None
    assert (imdsv2["status"], imdsv2["after"], imdsv2["error"]) == ("unchanged", None, None)
    assert imdsv2["before"]["imds_support"] == "v2.0"
    assert [x["image_id"] for x in doc["results"]] == sorted(x["image_id"] for x in doc["results"])


def test_plan_exit_1_for_a_refused_or_missing_image(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["marketplace"]}"\npublic = true\n\n'
        f'[[image]]\nid = "{AMI}"\naccounts = []\n\n'
        f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["{ACCOUNT}"]\n',
    )
    r = amictl(["plan", path, "-o", "json"])
    assert r.exit_code == 1, r
    assert statuses(r.json) == {
        fleet["marketplace"]: "refused",
        AMI: "failed",
        fleet["plain"]: "would-change",
    }
    errors = {x["image_id"]: x["error"]["code"] for x in r.json["results"] if x["error"]}
    assert errors == {
        fleet["marketplace"]: "ProductCodesForbidPublic",
        AMI: "InvalidAMIID.NotFound",
    }
    assert sandbox.mutating_requests() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f'[[image]]\nid = "{AMI}"\npublik = true\n',
            "policy.toml:3: image[0].publik: unknown key",
        ),
        ("[[image]\n", "policy.toml:1:8: invalid TOML"),
        (f'[[image]]\nid = "{AMI}"\naccounts = ["prod"]\n', "unknown account alias 'prod'"),
        (
            f'[[image]]\nid = "{AMI}"\n\n[[image]]\nid = "{AMI}"\ndescription = "x"\n',
            f"policy.toml:4: image[1]: image[1] ({AMI}) and image[0] ({AMI}) (line 1) both select",
        ),
    ],
    ids=["unknown-key", "syntax", "alias", "same-id-twice"],
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_bad_policy_is_a_usage_error_before_any_call(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, command: str, text: str, message: str
) -> None:
    path = write_policy(tmp_path, text)
    r = amictl([command, path, "--yes"])
    assert r.exit_code == 2, r
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert sandbox.requests == []


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_missing_policy_file_is_a_usage_error(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, command: str
) -> None:
    r = amictl([command, str(tmp_path / "nope.toml")])
    assert r.exit_code == 2, r
    assert "nope.toml" in r.stderr and "does not exist" in r.stderr
    assert sandbox.requests == []


def test_aliases_come_from_the_config_file(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    config = write_policy(tmp_path, f'[accounts]\nprod = "{ACCOUNT}"\n', "amictl.toml")
    path = write_policy(tmp_path, f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["prod"]\n')
    r = amictl(["apply", path, "--yes", "--config", config])
    assert r.exit_code == 0, r
    assert launch_of(ec2, fleet["plain"]) == [{"UserId": ACCOUNT}]


def test_two_entries_selecting_one_image_is_a_usage_error_naming_both(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        '[[image]]\nselect = { tags = { Team = "base" } }\ndescription = "a"\n\n'
        f'[[image]]\nid = "{fleet["imdsv2"]}"\ndescription = "b"\n',
    )
    r = amictl(["apply", path, "--yes"])
    assert r.exit_code == 2, r
    assert (
        f"policy.toml:5: image[1]: image[1] ({fleet['imdsv2']}) and image[0] "
        f"(select tag:Team=base) (line 1) both select {fleet['imdsv2']} ({REGION})"
    ) in r.stderr
    assert sandbox.mutating_requests() == []


def test_apply_with_yes_makes_the_images_what_the_file_says(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    eu = client(sandbox, OTHER_REGION)
    path = write_policy(
        tmp_path,
        f'[accounts]\nprod = "{ACCOUNT}"\n\n'
        # exact sets: ACCOUNT_2 and the OU go; the organization is not listed, so it stays
        f'[[image]]\nid = "{fleet["shared"]}"\naccounts = ["prod", "{ACCOUNT_3}"]\n'
        "organizational_units = []\n\n"
        f'[[image]]\nid = "{fleet["public"]}"\npublic = false\ndescription = "Now private"\n\n'
        f'[[image]]\nid = "{fleet["plain"]}"\norganizations = ["{ORG}"]\n\n'
        f'[[image]]\nid = "{fleet["eu"]}"\nregion = "{OTHER_REGION}"\naccounts = []\n',
    )
    r = amictl(["apply", path, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert (r.json["command"], r.json["dry_run"]) == ("apply", False)
    assert statuses(r.json) == dict.fromkeys(
        [fleet["shared"], fleet["public"], fleet["plain"], fleet["eu"]], "changed"
    )
    shared = next(x for x in r.json["results"] if x["image_id"] == fleet["shared"])
    assert shared["after"]["accounts"] == sorted([ACCOUNT, ACCOUNT_3])

    assert launch_of(ec2, fleet["shared"]) == [
        {"OrganizationArn": ORG},
        {"UserId": ACCOUNT},
        {"UserId": ACCOUNT_3},
    ]
    assert snapshot_accounts(ec2, fleet["shared"]) == [ACCOUNT]  # snapshots omitted: untouched
    assert launch_of(ec2, fleet["public"]) == []
    assert described(ec2, fleet["public"])["Description"] == "Now private"
    assert launch_of(ec2, fleet["plain"]) == [{"OrganizationArn": ORG}]
    assert described(ec2, fleet["plain"])["Description"] == "Plain"  # omitted: left alone
    assert launch_of(eu, fleet["eu"]) == []
    # Images the file does not name are not touched.
    touched = {r.params["ImageId"] for r in sandbox.mutating_requests()}
    assert touched == {fleet["shared"], fleet["public"], fleet["plain"], fleet["eu"]}

    sandbox.clear_requests()
    again = amictl(["apply", path, "-o", "json"])  # no --yes, no terminal: nothing to ask
    assert again.exit_code == 0, again
    assert set(statuses(again.json).values()) == {"unchanged"}
    assert sandbox.mutating_requests() == []
    replan = amictl(["plan", path])
    assert replan.exit_code == 0, replan


def client(sandbox: Sandbox, region: str) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=sandbox.endpoint_url)


def test_apply_sends_one_remove_then_one_add_per_image(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path, f'[[image]]\nid = "{fleet["shared"]}"\naccounts = ["{ACCOUNT}", "{ACCOUNT_3}"]\n'
    )
    r = amictl(["apply", path, "--yes"])
    assert r.exit_code == 0, r
    sent = [
        dict(x.params)
        for x in sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False)
    ]
    assert sent == [
        {"ImageId": fleet["shared"], "LaunchPermission.Remove.1.UserId": ACCOUNT_2},
        {"ImageId": fleet["shared"], "LaunchPermission.Add.1.UserId": ACCOUNT_3},
    ]


def test_snapshots_true_keeps_create_volume_permission_equal_to_the_accounts(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["shared"]}"\naccounts = ["{ACCOUNT_2}", "{ACCOUNT_3}"]\n'
        "snapshots = true\n\n"
        f'[[image]]\nid = "{fleet["in-step"]}"\nsnapshots = true\n',
    )
    r = amictl(["apply", path, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert statuses(r.json) == {fleet["shared"]: "changed", fleet["in-step"]: "unchanged"}
    assert [p.get("UserId") for p in launch_of(ec2, fleet["shared"]) if "UserId" in p] == [
        ACCOUNT_2,
        ACCOUNT_3,
    ]
    assert snapshot_accounts(ec2, fleet["shared"]) == [ACCOUNT_2, ACCOUNT_3]
    assert snapshot_accounts(ec2, fleet["in-step"]) == [ACCOUNT]


def test_snapshot_sharing_on_the_aws_managed_key_is_refused(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["encrypted"]}"\naccounts = ["{ACCOUNT}"]\nsnapshots = true\n',
    )
    r = amictl(["apply", path, "--yes", "-o", "json"])
    assert r.exit_code == 1, r
    (result,) = r.json["results"]
    assert (result["status"], result["error"]["code"]) == ("refused", "DefaultKeyForbidsSharing")
    assert sandbox.mutating_requests() == []
    assert launch_of(ec2, fleet["encrypted"]) == []


def test_a_selector_entry_applies_to_every_owned_image_it_matches(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path
) -> None:
    tagged = sorted(
        sandbox.create_image(REGION, f"web-{n}", tags={"Team": "web"}, accounts=[ACCOUNT_2])
        for n in range(2)
    )
    other = sandbox.create_image(REGION, "data", tags={"Team": "data"}, accounts=[ACCOUNT_2])
    foreign = sandbox.create_image(
        REGION, "foreign", tags={"Team": "web"}, owner_id="999988887777", public=True
    )
    path = write_policy(
        tmp_path,
        f'[[image]]\nselect = {{ tags = {{ Team = "web" }} }}\naccounts = ["{ACCOUNT}"]\n\n'
        '[[image]]\nselect = { tags = { Team = "nobody" } }\ndescription = "x"\n',
    )
    r = amictl(["apply", path, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert statuses(r.json) == dict.fromkeys(tagged, "changed")
    assert "image[1] (select tag:Team=nobody) matched no image you own in us-east-1" in r.stderr
    assert all(launch_of(ec2, i) == [{"UserId": ACCOUNT}] for i in tagged)
    assert launch_of(ec2, other) == [{"UserId": ACCOUNT_2}]
    assert foreign not in r.stdout


def test_apply_without_a_terminal_and_without_yes_changes_nothing(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["{ACCOUNT}"]\n\n'
        f'[[image]]\nid = "{fleet["imdsv2"]}"\ndescription = ""\n\n'
        f'[[image]]\nid = "{AMI}"\naccounts = []\n',
    )
    r = amictl(["apply", path, "-o", "json"])
    assert r.exit_code == 3, r
    assert "--yes" in r.stderr
    assert sandbox.mutating_requests() == []
    assert r.json["command"] == "apply"
    skipped = sorted([fleet["plain"], fleet["imdsv2"]])
    assert [
        (x["image_id"], x["status"], x["error"]["code"], x["after"]) for x in r.json["results"]
    ] == [
        *((i, "skipped", "ConfirmationRequired", None) for i in skipped),
        (AMI, "failed", "InvalidAMIID.NotFound", None),
    ]
    assert launch_of(ec2, fleet["plain"]) == []


def test_apply_dry_run_asks_ec2_and_changes_nothing(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(tmp_path, f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["{ACCOUNT}"]\n')
    r = amictl(["apply", path, "--dry-run", "-o", "json"])
    assert r.exit_code == 0, r
    assert (r.json["command"], r.json["dry_run"]) == ("apply", True)
    assert statuses(r.json) == {fleet["plain"]: "would-change"}
    probes = sandbox.mutating_requests()
    assert [(p.dry_run, dict(p.params)) for p in probes] == [
        (
            True,
            {
                "ImageId": fleet["plain"],
                "LaunchPermission.Add.1.UserId": ACCOUNT,
                "DryRun": "true",
            },
        )
    ]
    assert launch_of(ec2, fleet["plain"]) == []


def test_plan_dry_run_also_asks_ec2_and_reports_a_denied_change(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(tmp_path, f'[[image]]\nid = "{fleet["plain"]}"\naccounts = ["{ACCOUNT}"]\n')
    allowed = amictl(["plan", path, "--dry-run", "-o", "json"])
    assert allowed.exit_code == 4, allowed
    assert (allowed.json["command"], allowed.json["dry_run"]) == ("plan", True)
    assert statuses(allowed.json) == {fleet["plain"]: "would-change"}
    assert all(p.dry_run for p in sandbox.mutating_requests())
    sandbox.deny(["ModifyImageAttribute"])
    denied = amictl(["plan", path, "--dry-run", "-o", "json"])
    assert denied.exit_code == 1, denied
    (result,) = denied.json["results"]
    assert (result["status"], result["error"]["code"]) == ("failed", "UnauthorizedOperation")
    assert sandbox.mutating_requests(include_dry_run=False) == []


def test_entries_without_a_region_use_the_command_s_regions(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(tmp_path, f'[[image]]\nid = "{fleet["eu"]}"\naccounts = []\n')
    here = amictl(["plan", path, "-o", "json"])  # AWS_REGION=us-east-1: not found there
    assert here.exit_code == 1, here
    assert statuses(here.json) == {fleet["eu"]: "failed"}
    there = amictl(["plan", path, "-o", "json", *BOTH_REGIONS])
    assert there.exit_code == 4, there
    assert [(x["image_id"], x["region"]) for x in there.json["results"]] == [
        (fleet["eu"], OTHER_REGION)
    ]


def test_entries_that_name_their_regions_need_no_default_region(
    sandbox: Sandbox,
    amictl: Any,
    tmp_path: Path,
    fleet: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    path = write_policy(tmp_path, f'[[image]]\nid = "{fleet["eu"]}"\nregion = "{OTHER_REGION}"\n')
    assert amictl(["plan", path]).exit_code == 0
    other = write_policy(tmp_path, f'[[image]]\nid = "{fleet["eu"]}"\n', "other.toml")
    r = amictl(["plan", other])
    assert r.exit_code == 2, r
    assert "no region given" in r.stderr


# ---------------------------------------------------------------- the typed `yes` (pty)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "code"),
    [("y", 3), ("", 3), (" yes ", 0)],
    ids=["y-is-not-enough", "enter-is-no", "yes"],
)
def test_apply_with_imds_support_needs_the_typed_word_yes(
    sandbox: Sandbox, ec2: Any, tmp_path: Path, answer: str, code: int
) -> None:
    target = sandbox.create_image(REGION, "to-enforce")
    shared = sandbox.create_image(REGION, "to-share")
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{target}"\nimds_support = "v2.0"\n\n'
        f'[[image]]\nid = "{shared}"\naccounts = ["{ACCOUNT}"]\n',
    )
    child = spawn_amictl(["apply", path])
    child.expect("Type 'yes'")
    shown = str(child.before)
    assert "apply will change 2 image(s)" in shown
    assert "cannot be undone" in shown
    assert target in shown and shared in shown
    assert sandbox.mutating_requests() == []
    child.sendline(answer)
    assert finish(child) == code
    if code == 0:
        assert described(ec2, target)["ImdsSupport"] == "v2.0"
        assert launch_of(ec2, shared) == [{"UserId": ACCOUNT}]
    else:
        assert sandbox.mutating_requests() == []
        assert "ImdsSupport" not in described(ec2, target)


@pytest.mark.slow
@pytest.mark.parametrize(("answer", "code"), [("n", 3), ("y", 0)])
def test_apply_asks_y_n_without_irreversible_items(
    sandbox: Sandbox, ec2: Any, tmp_path: Path, answer: str, code: int
) -> None:
    image_id = sandbox.create_image(REGION, "to-share")
    path = write_policy(tmp_path, f'[[image]]\nid = "{image_id}"\naccounts = ["{ACCOUNT}"]\n')
    child = spawn_amictl(["apply", path])
    child.expect(r"Proceed\? \[y/N\]")
    assert f"add launch permission: account {ACCOUNT}" in str(child.before)
    child.sendline(answer)
    assert finish(child) == code
    assert launch_of(ec2, image_id) == ([{"UserId": ACCOUNT}] if code == 0 else [])


def test_region_all_reads_every_enabled_region_once(
    sandbox: Sandbox, amictl: Any, tmp_path: Path, fleet: dict[str, str]
) -> None:
    path = write_policy(
        tmp_path,
        f'[[image]]\nid = "{fleet["eu"]}"\nregion = "all"\naccounts = []\n\n'
        f'[[image]]\nid = "{fleet["plain"]}"\nregion = "all"\n',
    )
    r = amictl(["plan", path, "-o", "json"])
    assert r.exit_code == 4, r
    assert {(x["image_id"], x["region"], x["status"]) for x in r.json["results"]} == {
        (fleet["eu"], OTHER_REGION, "would-change"),
        (fleet["plain"], REGION, "unchanged"),
    }
    assert sandbox.count("DescribeRegions") == 1
