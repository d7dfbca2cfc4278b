"""validate.py: tables of good and bad input, and hypothesis properties. No I/O."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from amictl import validate
from amictl.errors import ExitCode, UsageError
from amictl.gateway import Filter

ALIASES = {"prod": "111122223333", "staging": "444455556666", "zero": "012345678901"}
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"


def usage_error(func: object, *args: object) -> UsageError:
    """Call and return the UsageError it must raise."""
    assert callable(func)
    with pytest.raises(UsageError) as info:
        func(*args)
    assert info.value.exit_code is ExitCode.USAGE
    return info.value


# ---------------------------------------------------------------- AMI IDs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ami-12345678", "ami-12345678"),
        ("ami-0123456789abcdef0", "ami-0123456789abcdef0"),
        ("ami-abcdefab", "ami-abcdefab"),
        ("  ami-0123456789abcdef0\n", "ami-0123456789abcdef0"),
        ("\tami-deadbeef ", "ami-deadbeef"),
    ],
)
def test_ami_id_accepts(value: str, expected: str) -> None:
    assert validate.ami_id(value) == expected


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("ami-0123456789ABCDEF0", "AMI IDs are lowercase: ami-0123456789abcdef0"),
        ("AMI-DEADBEEF", "AMI IDs are lowercase: ami-deadbeef"),
        ("ami-1234567", "it has 7 hex digits after 'ami-'; AMI IDs have 8 or 17"),
        ("ami-123456789", "it has 9 hex digits after 'ami-'; AMI IDs have 8 or 17"),
        ("ami-0123456789abcdef", "it has 16 hex digits after 'ami-'; AMI IDs have 8 or 17"),
        ("ami-0123456789abcdefg", "only the hex digits 0-9 and a-f may follow 'ami-'"),
        ("snap-0123456789abcdef0", "snap-0123456789abcdef0 looks like a snapshot ID"),
        ("i-0123456789abcdef0", "looks like an instance ID, not an AMI ID"),
        ("0123456789abcdef0", None),
        ("", None),
        ("ami-", "it has 0 hex digits after 'ami-'"),
        ("ami_0123456789abcdef0", None),
        ("ami-0123456789abcdef0,ami-12345678", "give several AMI IDs as separate arguments"),
        ("ami-0123 456789abcdef0", "only the hex digits 0-9 and a-f may follow 'ami-'"),
        ("ami-١٢٣٤٥٦٧٨", "only the hex digits 0-9 and a-f"),  # non-ASCII digits
    ],
)
def test_ami_id_rejects(value: str, hint: str | None) -> None:
    error = usage_error(validate.ami_id, value)
    assert repr(value) in error.message
    assert "8 or 17 lowercase hex digits, e.g. ami-0123456789abcdef0" in error.message
    if hint is None:
        assert error.hint is None
    else:
        assert error.hint is not None and hint in error.hint


hex_digit = st.sampled_from("0123456789abcdef")


@given(st.sampled_from([8, 17]).flatmap(lambda n: st.text(hex_digit, min_size=n, max_size=n)))
def test_any_well_formed_ami_id_round_trips(digits: str) -> None:
    assert validate.ami_id(f"ami-{digits}") == f"ami-{digits}"
    assert validate.ami_id(f" ami-{digits}\n") == f"ami-{digits}"


@given(st.text(max_size=40))
def test_random_text_that_is_not_an_ami_id_is_rejected_naming_it(text: str) -> None:
    assume(not re.fullmatch(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})", text.strip()))
    error = usage_error(validate.ami_id, text)
    assert repr(text) in error.message


# ---------------------------------------------------------------- accounts


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("111122223333", "111122223333"),
        ("012345678901", "012345678901"),
        ("000000000000", "000000000000"),
        (" 111122223333 ", "111122223333"),
        ("prod", "111122223333"),
        ("zero", "012345678901"),
        (" staging ", "444455556666"),
    ],
)
def test_account_id_accepts(value: str, expected: str) -> None:
    assert validate.account_id(value, ALIASES) == expected


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        (
            "1111-2222-3333",
            "invalid account ID '1111-2222-3333': expected exactly 12 digits",
            "write it without hyphens: 111122223333",
        ),
        (
            "12345678901",
            "invalid account ID '12345678901': expected exactly 12 digits",
            "did you mean 012345678901?",
        ),
        ("1111222233334", "invalid account ID '1111222233334'", None),
        ("", "invalid account ID ''", None),
        ("1111 2222 3333", "invalid account ID '1111 2222 3333'", None),
        ("١١١١٢٢٢٢٣٣٣٣", "invalid account ID '١١١١٢٢٢٢٣٣٣٣'", None),  # non-ASCII digits
        (
            "prdo",
            "unknown account alias 'prdo': not a 12-digit account ID and not one of the "
            "config's [accounts] aliases: prod, staging, zero",
            "did you mean 'prod'?",
        ),
        (
            "Prod",
            "unknown account alias 'Prod'",  # aliases are case-sensitive
            "did you mean 'prod'?",
        ),
        (
            "arn:aws:iam::111122223333:root",
            "unknown account alias 'arn:aws:iam::111122223333:root'",
            None,
        ),
    ],
)
def test_account_id_rejects(value: str, message: str, hint: str | None) -> None:
    error = usage_error(validate.account_id, value, ALIASES)
    assert message in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_unknown_alias_without_any_aliases_says_none_are_defined() -> None:
    error = usage_error(validate.account_id, "prod", {})
    assert error.message == (
        "unknown account alias 'prod': not a 12-digit account ID and not one of "
        "the config's [accounts] aliases (none are defined)"
    )
    assert error.hint == 'define it in the config file: [accounts] prod = "111122223333"'


def test_no_definition_hint_for_a_name_that_cannot_be_an_alias() -> None:
    assert usage_error(validate.account_id, "my account", {}).hint is None


def test_alias_that_maps_to_a_bad_id_is_rejected() -> None:
    error = usage_error(validate.account_id, "bad", {"bad": "123"})
    assert error.message == "account alias 'bad' maps to '123', not 12 digits"


def test_account_ids_split_resolve_sort_and_deduplicate() -> None:
    values = ["prod,444455556666", " 012345678901 , staging", "111122223333"]
    assert validate.account_ids(values, ALIASES) == [
        "012345678901",
        "111122223333",
        "444455556666",
    ]
    assert validate.account_ids([], ALIASES) == []
    assert validate.account_ids("prod", ALIASES) == ["111122223333"]  # a lone string


@pytest.mark.parametrize("value", ["prod,", ",prod", "prod,,staging", "", " "])
def test_account_ids_reject_empty_items(value: str) -> None:
    error = usage_error(validate.account_ids, [value], ALIASES)
    assert error.message == f"empty account ID in {value!r}"


def test_account_ids_name_the_bad_item() -> None:
    error = usage_error(validate.account_ids, ["prod,nope,staging"], ALIASES)
    assert error.message.startswith("unknown account alias 'nope'")


@given(st.text(string.digits, min_size=12, max_size=12))
def test_any_12_digit_string_is_accepted_unchanged(digits: str) -> None:
    assert validate.account_id(digits, {}) == digits
    assert validate.account_id(digits, ALIASES) == digits
    assert validate.numeric_account_id(digits) == digits


@given(st.text(max_size=40))
def test_anything_else_is_rejected_naming_the_value(text: str) -> None:
    assume(not re.fullmatch(r"[0-9]{12}", text.strip()) and text.strip() not in ALIASES)
    error = usage_error(validate.account_id, text, ALIASES)
    assert repr(text) in error.message


@given(st.lists(st.text(string.digits, min_size=12, max_size=12), max_size=8))
def test_account_ids_is_sorted_and_unique(ids: list[str]) -> None:
    assert validate.account_ids([",".join(ids)] if ids else [], {}) == sorted(set(ids))


@pytest.mark.parametrize("name", ["prod", "staging-eu", "team_a", "a1", "_", "2nd-team", "x-1"])
def test_alias_name_accepts(name: str) -> None:
    assert validate.alias_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "111122223333",
            "invalid alias name '111122223333': an alias cannot itself be an account ID",
        ),
        ("1234", "invalid alias name '1234': use letters, digits, '_' or '-'"),
        ("1111-2222-3333", "invalid alias name '1111-2222-3333': use letters"),
        ("my alias", "invalid alias name 'my alias'"),
        ("a,b", "invalid alias name 'a,b'"),
        ("", "invalid alias name ''"),
        ("prod.eu", "invalid alias name 'prod.eu'"),
    ],
)
def test_alias_name_rejects(name: str, message: str) -> None:
    assert message in usage_error(validate.alias_name, name).message


# ---------------------------------------------------------------- organizations and OUs

ACCOUNT = "123456789012"


@pytest.mark.parametrize("partition", validate.PARTITIONS)
def test_org_and_ou_arns_accept_every_partition(partition: str) -> None:
    org = f"arn:{partition}:organizations::{ACCOUNT}:organization/o-abc123def4"
    ou = f"arn:{partition}:organizations::{ACCOUNT}:ou/o-abc123def4/ou-ab12-cd34ef56"
    assert validate.organization_arn(org) == org
    assert validate.organizational_unit_arn(ou) == ou
    assert validate.organization_arn(f" {org}\n") == org


@pytest.mark.parametrize(
    "value",
    [
        ORG,
        "arn:aws:organizations::000000000000:organization/o-0123456789",
        "arn:aws:organizations::123456789012:organization/o-" + "a" * 32,
        "arn:aws-us-gov:organizations::123456789012:organization/o-exampleorgid",
    ],
)
def test_organization_arn_accepts(value: str) -> None:
    assert validate.organization_arn(value) == value


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (
            "o-abc123def4",
            "EC2 needs the full organization ARN, not the ID: "
            "arn:aws:organizations::<management-account-id>:organization/o-abc123def4",
        ),
        (OU, "that is an organizational unit ARN, not an organization ARN (OUs go with --ou)"),
        ("ou-ab12-cd34ef56", "an OU is given with --ou"),
        (
            "arn:aws:organizations::123456789012:organization/o-ABC123DEF4",
            "lowercase: arn:aws:organizations::123456789012:organization/o-abc123def4",
        ),
        (
            "arn:aws:organizations:us-east-1:123456789012:organization/o-abc123def4",
            "organization ARNs have no region",
        ),
        ("arn:aws:organizations::123456789012:organization/o-abc123", None),  # id too short
        ("arn:aws:organizations::123456789012:organization/o-" + "a" * 33, None),
        ("arn:aws:organizations::12345678901:organization/o-abc123def4", None),
        ("arn:azure:organizations::123456789012:organization/o-abc123def4", None),
        ("arn:aws-:organizations::123456789012:organization/o-abc123def4", None),
        ("arn:aws:iam::123456789012:organization/o-abc123def4", None),
        ("arn:aws:organizations::123456789012:root/o-abc123def4/r-ab12", None),
        ("", None),
    ],
)
def test_organization_arn_rejects(value: str, hint: str | None) -> None:
    error = usage_error(validate.organization_arn, value)
    assert error.message.startswith(f"invalid organization ARN {value!r}: expected ")
    assert validate.ORG_ARN_EXAMPLE in error.message
    if hint is None:
        assert error.hint is None
    else:
        assert error.hint is not None and hint in error.hint


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (
            "ou-ab12-cd34ef56",
            "EC2 needs the full OU ARN, not the ID: "
            "arn:aws:organizations::<management-account-id>:ou/<o-id>/ou-ab12-cd34ef56",
        ),
        ("ou-ab12-cd34ef56", "--organizational-unit-id ou-ab12-cd34ef56"),
        (ORG, "that is an organization ARN, not an OU ARN (organizations go with --org)"),
        ("o-abc123def4", "an organization is given with --org"),
        ("arn:aws:organizations::123456789012:ou/ou-ab12-cd34ef56", None),  # no o- part
        ("arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab1-cd34ef56", None),
        ("arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef5", None),
        (OU.upper(), None),  # "ARN:AWS:..." lowercased is valid, but the hint needs lowercase
    ],
)
def test_organizational_unit_arn_rejects(value: str, hint: str | None) -> None:
    error = usage_error(validate.organizational_unit_arn, value)
    assert error.message.startswith(f"invalid organizational unit ARN {value!r}: expected ")
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_uppercase_ou_arn_gets_a_lowercase_hint() -> None:
    error = usage_error(validate.organizational_unit_arn, OU.upper())
    assert error.hint == f"ARNs and organization IDs are lowercase: {OU}"


def test_arn_lists_split_sort_and_deduplicate() -> None:
    other = "arn:aws-cn:organizations::123456789012:organization/o-zzzzzzzzzz"
    assert validate.organization_arns([f"{ORG},{other}", ORG]) == [other, ORG]  # "-" < ":"
    assert validate.organizational_unit_arns([OU, f" {OU} "]) == [OU]
    assert validate.organization_arns([]) == []
    assert usage_error(validate.organizational_unit_arns, [f"{OU},"]).message.startswith(
        "empty OU ARN in "
    )


lower_alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
partitions = st.sampled_from(validate.PARTITIONS)
accounts = st.text(string.digits, min_size=12, max_size=12)
org_ids = st.text(lower_alnum, min_size=10, max_size=32).map(lambda s: f"o-{s}")
ou_ids = st.tuples(
    st.text(lower_alnum, min_size=4, max_size=32), st.text(lower_alnum, min_size=8, max_size=32)
).map(lambda p: f"ou-{p[0]}-{p[1]}")


@given(partitions, accounts, org_ids, ou_ids)
def test_generated_arns_round_trip(partition: str, account: str, org: str, ou: str) -> None:
    org_arn = f"arn:{partition}:organizations::{account}:organization/{org}"
    ou_arn = f"arn:{partition}:organizations::{account}:ou/{org}/{ou}"
    assert validate.organization_arn(org_arn) == org_arn
    assert validate.organizational_unit_arn(ou_arn) == ou_arn
    assert validate.organization_arns([f"{org_arn},{org_arn}"]) == [org_arn]
    # and each kind is refused where the other is expected
    assert "--ou" in (usage_error(validate.organization_arn, ou_arn).hint or "")
    assert "--org" in (usage_error(validate.organizational_unit_arn, org_arn).hint or "")
    assert "full organization ARN" in (usage_error(validate.organization_arn, org).hint or "")
    assert "full OU ARN" in (usage_error(validate.organizational_unit_arn, ou).hint or "")


@given(st.text(max_size=80))
def test_random_text_is_not_an_organization_arn(text: str) -> None:
    assume(not text.strip().startswith("arn:aws"))
    assert repr(text) in usage_error(validate.organization_arn, text).message
    assert repr(text) in usage_error(validate.organizational_unit_arn, text).message


# ---------------------------------------------------------------- filters and tags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("name=base-*", Filter("name", ("base-*",))),
        ("state=available,pending", Filter("state", ("available", "pending"))),
        ("tag:Team=base", Filter("tag:Team", ("base",))),
        ("name=my image (v2)", Filter("name", ("my image (v2)",))),
        ("description=a=b", Filter("description", ("a=b",))),
        ("Name=name,Values=base-*", Filter("name", ("base-*",))),
        ("Name=tag:Team,Values=base,infra", Filter("tag:Team", ("base", "infra"))),
        ("Name=architecture,Values=x86_64", Filter("architecture", ("x86_64",))),
        ("tag-key=Team", Filter("tag-key", ("Team",))),
    ],
)
def test_image_filter_accepts(value: str, expected: Filter) -> None:
    assert validate.image_filter(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("name", "invalid filter 'name': no '='; expected Name=VALUE[,VALUE]"),
        ("", "invalid filter '': no '='"),
        ("=base", "invalid filter '=base': the filter name must be non-empty without spaces"),
        ("name =base", "invalid filter 'name =base': the filter name must be non-empty"),
        ("tag:My Team=base", "invalid filter 'tag:My Team=base': the filter name"),
        ("name=", "invalid filter 'name=': empty value"),
        ("name=a,,b", "invalid filter 'name=a,,b': empty value"),
        ("name=a,", "invalid filter 'name=a,': empty value"),
        ("Name=name", "invalid filter 'Name=name': the AWS CLI form needs Values"),
        ("Name=name,Values=", "invalid filter 'Name=name,Values=': empty value"),
        ("Name=,Values=x", "invalid filter 'Name=,Values=x': the filter name must be non-empty"),
        ("name=name,Values=x", "the AWS CLI form starts with a capital 'Name='"),
    ],
)
def test_image_filter_rejects(value: str, message: str) -> None:
    assert message in usage_error(validate.image_filter, value).message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Team=base", Filter("tag:Team", ("base",))),
        ("Name=web,db", Filter("tag:Name", ("web,db",))),  # tag values are taken whole
        ("aws:cloudformation:stack-name=x", Filter("tag:aws:cloudformation:stack-name", ("x",))),
        ("Cost Center=42", Filter("tag:Cost Center", ("42",))),
        ("k=a=b", Filter("tag:k", ("a=b",))),
    ],
)
def test_tag_accepts(value: str, expected: Filter) -> None:
    assert validate.tag(value) == expected


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        ("Team", "invalid tag 'Team': no '='; expected KEY=VALUE, e.g. Team=base", None),
        ("=base", "invalid tag '=base': empty key; expected KEY=VALUE", None),
        ("", "invalid tag '': no '='", None),
        ("Team=", "invalid tag 'Team=': empty value", "--filter tag-key=Team"),
    ],
)
def test_tag_rejects(value: str, message: str, hint: str | None) -> None:
    error = usage_error(validate.tag, value)
    assert message in error.message
    assert error.hint == (None if hint is None else f"to match any value, use {hint}")


safe_text = st.text(st.characters(exclude_characters=",="), min_size=1, max_size=20)


@given(safe_text, st.lists(safe_text, min_size=1, max_size=5))
def test_filter_forms_agree(name: str, values: list[str]) -> None:
    assume(name != "Name" and not any(c.isspace() for c in name))
    expected = Filter(name, tuple(values))
    assert validate.image_filter(f"{name}={','.join(values)}") == expected
    assert validate.image_filter(f"Name={name},Values={','.join(values)}") == expected


# ---------------------------------------------------------------- regions


@pytest.mark.parametrize(
    "value",
    [
        "us-east-1",
        "eu-west-2",
        "us-gov-west-1",
        "us-gov-east-1",
        "cn-north-1",
        "cn-northwest-1",
        "ap-southeast-5",
        "il-central-1",
        "me-central-1",
        "ca-west-1",
        "mx-central-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "us-isof-south-1",
        "eusc-de-east-1",
        "all",
    ],
)
def test_region_accepts(value: str) -> None:
    assert validate.region(value) == value
    assert validate.region(f" {value} ") == value


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("US-EAST-1", "region names are lowercase: us-east-1"),
        ("ALL", "region names are lowercase: all"),
        ("us-east-1a", "us-east-1a is an availability zone; its region is us-east-1"),
        ("us-east", None),
        ("useast1", None),
        ("us-east-", None),
        ("", None),
        ("us_east_1", None),
        ("us-east-1,eu-west-1", None),
        ("global", None),
        ("u-east-1", None),
    ],
)
def test_region_rejects(value: str, hint: str | None) -> None:
    error = usage_error(validate.region, value)
    assert error.message == (
        f"invalid region {value!r}: expected a region name such as us-east-1 or 'all'"
    )
    assert error.hint == hint


def test_regions_split_and_deduplicate_in_order() -> None:
    values = ["eu-west-1,us-east-1", "eu-west-1", " ap-south-1 "]
    assert validate.regions(values) == ["eu-west-1", "us-east-1", "ap-south-1"]
    assert validate.regions(["all", "all"]) == ["all"]
    assert validate.regions([]) == []


@pytest.mark.parametrize("values", [["all", "us-east-1"], ["us-east-1,all"]])
def test_regions_refuse_all_with_others(values: list[str]) -> None:
    error = usage_error(validate.regions, values)
    assert error.message == "region 'all' cannot be combined with other regions (us-east-1)"


def test_regions_reject_empty_items() -> None:
    assert usage_error(validate.regions, ["us-east-1,"]).message == "empty region in 'us-east-1,'"


# ---------------------------------------------------------------- descriptions


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Base image",
        "  leading and trailing spaces kept  ",
        "Ünïcödé ✓ 日本語 🚀",
        "[red]markup stays text[/red]",
        "x" * 255,
        "🚀" * 255,
        "zero\u200bwidth",
    ],
)
def test_description_accepts(text: str) -> None:
    assert validate.description(text) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 256, "description is 256 characters long; EC2 allows at most 255: 'xxxx"),
        ("x" * 1000, "description is 1000 characters long"),
        (
            "two\nlines",
            "invalid description 'two\\nlines': control character or line break '\\n' "
            "at position 4",
        ),
        ("tab\there", "'\\t' at position 4"),
        ("nul\x00", "'\\x00' at position 4"),
        ("\r", "'\\r' at position 1"),
        ("del\x7f", "'\\x7f' at position 4"),
        ("c1\x85", "'\\x85' at position 3"),
        ("sep\u2028x", "'\\u2028' at position 4"),
        ("bad\udcff", "invalid description 'bad\\udcff': not valid Unicode at position 4"),
    ],
)
def test_description_rejects(text: str, message: str) -> None:
    assert message in usage_error(validate.description, text).message


printable = st.text(
    st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=validate.DESCRIPTION_MAX
)


@given(printable)
def test_any_printable_text_up_to_255_is_a_description(text: str) -> None:
    assert validate.description(text) == text


@given(printable, st.characters(categories=["Cc"]), st.integers(0, 300))
def test_a_control_character_anywhere_is_rejected(text: str, control: str, at: int) -> None:
    bad = text[:at] + control + text[at:]
    assume(len(bad) <= validate.DESCRIPTION_MAX)
    error = usage_error(validate.description, bad)
    assert f"{control!r} at position {min(at, len(text)) + 1}" in error.message


# ---------------------------------------------------------------- endpoint, timeout, concurrency


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:5000",
        "https://ec2.us-east-1.amazonaws.com",
        "http://localhost",
        "http://localhost:4566/",
        "https://proxy.example.com:8443/aws/ec2",
        "http://[::1]:5000",
        "HTTP://LOCALHOST:5000",
    ],
)
def test_endpoint_url_accepts(value: str) -> None:
    assert validate.endpoint_url(value) == value
    assert validate.endpoint_url(f" {value} ") == value


@pytest.mark.parametrize(
    "value",
    [
        "localhost:5000",
        "127.0.0.1",
        "ftp://example.com",
        "http://",
        "http://:5000",
        "http://localhost:99999",
        "http://localhost:port",
        "http://local host",
        "http://localhost/?x=1",
        "http://localhost/#frag",
        "",
        "http//localhost",
    ],
)
def test_endpoint_url_rejects(value: str) -> None:
    error = usage_error(validate.endpoint_url, value)
    assert error.message == (
        f"invalid endpoint URL {value!r}: expected http(s)://host[:port][/path], "
        "e.g. http://127.0.0.1:5000"
    )


def test_endpoint_url_with_credentials_is_rejected_without_echoing_them() -> None:
    error = usage_error(validate.endpoint_url, "http://AKIAEXAMPLE:s3cr3t@localhost:5000")
    assert "s3cr3t" not in error.message and "AKIAEXAMPLE" not in error.message
    assert error.message == (
        "invalid endpoint URL 'http://***@localhost:5000': it must not contain credentials"
    )


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 20, 3600, 3600.0])
def test_verify_timeout_accepts(value: float) -> None:
    assert validate.verify_timeout(value) == float(value)


@pytest.mark.parametrize("value", [-1, -0.001, 3600.5, 10**6, float("nan"), float("inf")])
def test_verify_timeout_rejects(value: float) -> None:
    error = usage_error(validate.verify_timeout, value)
    assert error.message == f"invalid verify timeout {value!r}: expected seconds from 0 to 3600"


@pytest.mark.parametrize("value", [1, 8, 64])
def test_concurrency_accepts(value: int) -> None:
    assert validate.concurrency(value) == value


@pytest.mark.parametrize("value", [0, -1, 65, 1000, True])
def test_concurrency_rejects(value: int) -> None:
    error = usage_error(validate.concurrency, value)
    assert error.message == f"invalid concurrency {value!r}: expected 1 to 64"


@pytest.mark.parametrize("value", ["table", "json", "text", " json "])
def test_output_accepts(value: str) -> None:
    assert validate.output(value) == value.strip()


@pytest.mark.parametrize("value", ["yaml", "JSON", "", "tables"])
def test_output_rejects(value: str) -> None:
    error = usage_error(validate.output, value)
    assert error.message == f"invalid output format {value!r}: expected one of table, json, text"


def test_long_values_are_cut_in_messages() -> None:
    value = "x" * 500
    error = usage_error(validate.ami_id, value)
    assert f"{'x' * 120!r}... (500 characters)" in error.message
    assert len(error.message) < 300
