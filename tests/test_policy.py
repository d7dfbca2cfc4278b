"""Policy files (spec §7): the parser, the planner's exact-set semantics, export, and the
`plan`, `apply` and `export` commands against the emulator."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

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
    import tomllib

    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text


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
