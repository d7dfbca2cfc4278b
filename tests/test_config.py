"""config.py: loading, checking and locating problems in the TOML config (spec §7)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from amictl import config as cfg
from amictl.config import Config, ConfigFileError, Problem
from amictl.errors import ConfigError, ExitCode, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"

SPEC_EXAMPLE = f"""\
[defaults]
region = ["us-east-1", "eu-west-1"]
profile = "images-admin"
output = "table"
with_snapshots = true

[accounts]           # aliases usable wherever an account ID is
prod = "111122223333"
staging = "444455556666"

[audit]
trusted_accounts = ["prod", "staging"]
trusted_organizations = ["{ORG}"]
"""


def write(tmp_path: Path, text: str, name: str = "amictl.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> ConfigFileError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as info:
        cfg.load_config_file(path)
    assert info.value.path == path
    return info.value


def only_line(tmp_path: Path, text: str) -> str:
    """The one rendered problem line for `text`, without the file name."""
    error = problems_of(tmp_path, text)
    assert len(error.problems) == 1, error.message
    prefix = f"{tmp_path / 'amictl.toml'}:"
    assert error.message.startswith(prefix)
    return error.message[len(prefix) :]


# ---------------------------------------------------------------- valid files


def test_spec_example_loads(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE)
    assert cfg.load_config_file(path) == Config(
        path=path,
        regions=("us-east-1", "eu-west-1"),
        profile="images-admin",
        output="table",
        with_snapshots=True,
        verify_timeout=None,
        concurrency=None,
        accounts=MappingProxyType({"prod": "111122223333", "staging": "444455556666"}),
        trusted_accounts=("111122223333", "444455556666"),
        trusted_organizations=(ORG,),
    )


def test_every_setting(tmp_path: Path) -> None:
    text = f"""
[defaults]
region = "ap-southeast-5"
profile = "p"
output = "json"
with_snapshots = false
verify_timeout = 45
concurrency = 16

[accounts]
zero = "012345678901"
"team-b" = "222233334444"

[audit]
trusted_accounts = ["999988887777", "zero", "zero", "team-b"]
trusted_organizations = [
  "arn:aws-us-gov:organizations::123456789012:organization/o-govgovgov1",
  "{ORG}",
  "{ORG}",
]
"""
    config = cfg.parse_config(text, tmp_path / "c.toml")
    assert config.path == tmp_path / "c.toml"
    assert config.regions == ("ap-southeast-5",)
    assert (config.profile, config.output, config.with_snapshots) == ("p", "json", False)
    assert config.verify_timeout == 45.0 and isinstance(config.verify_timeout, float)
    assert config.concurrency == 16
    assert dict(config.accounts) == {"zero": "012345678901", "team-b": "222233334444"}
    assert config.trusted_accounts == ("012345678901", "222233334444", "999988887777")
    assert config.trusted_organizations == (
        "arn:aws-us-gov:organizations::123456789012:organization/o-govgovgov1",
        ORG,
    )


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ('"all"', ("all",)),
        ('"us-east-1,eu-west-1"', ("us-east-1", "eu-west-1")),
        ('["eu-west-1", "us-east-1", "eu-west-1"]', ("eu-west-1", "us-east-1")),
        ("[]", ()),
    ],
)
def test_region_forms(region: str, expected: tuple[str, ...]) -> None:
    assert cfg.parse_config(f"[defaults]\nregion = {region}\n").regions == expected


def test_empty_file_and_empty_config() -> None:
    assert cfg.parse_config("") == Config(path=Path("amictl.toml"))
    empty = Config.empty()
    assert empty == Config()
    assert (empty.path, empty.regions, empty.profile, empty.output) == (None, (), None, None)
    assert (empty.with_snapshots, empty.verify_timeout, empty.concurrency) == (False, None, None)
    assert dict(empty.accounts) == {} and empty.trusted_accounts == ()
    assert empty.trusted_organizations == ()


def test_config_is_frozen() -> None:
    config = cfg.parse_config('[accounts]\nprod = "111122223333"\n')
    with pytest.raises(AttributeError):
        config.profile = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.accounts["new"] = "222233334444"  # type: ignore[index]


def test_dotted_keys_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "amictl.toml"
    path.write_bytes(b'\xef\xbb\xbfdefaults.region = "us-east-1"\naccounts.prod = "111122223333"\n')
    config = cfg.load_config_file(path)
    assert config.regions == ("us-east-1",)
    assert dict(config.accounts) == {"prod": "111122223333"}


# ---------------------------------------------------------------- one problem of each kind


PROBLEM_CASES = [
    # (file text, "LINE[:COLUMN]", key path, message start)
    # syntax errors: the parser's line and column
    ("[defaults]\nregion = \n", "2:10", "", "invalid TOML: Invalid value"),
    ('[defaults]\nprofile = "x\n', "2:13", "", "invalid TOML: Illegal character '\\n'"),
    ('[accounts]\na = "x"\na = "y"\n', "3:8", "", "invalid TOML: Cannot overwrite a value"),
    ('[defaults]\nprofile = """x', "2", "", "invalid TOML: Unterminated string"),
    # unknown sections and keys
    ("[default]\n", "1", "default", "unknown section 'default'; expected one of accounts, "),
    ('region = "us-east-1"\n', "1", "region", "unknown section 'region'"),
    ("[defaults]\nwith_snapshot = true\n", "2", "defaults.with_snapshot", "unknown key"),
    ("[audit]\n\ntrusted_account = []\n", "3", "audit.trusted_account", "unknown key"),
    ("[defaults.extra]\nx = 1\n", "1", "defaults.extra", "unknown key 'extra'"),
    # wrong types
    ("defaults = 1\n", "1", "defaults", "expected a table, got integer 1"),
    ("[defaults]\nregion = 1\n", "2", "defaults.region", "expected a string or an array of"),
    ('[defaults]\nprofile = ["a"]\n', "2", "defaults.profile", "expected a string, got an array"),
    ('[defaults]\nwith_snapshots = "yes"\n', "2", "defaults.with_snapshots", "expected true or"),
    ("[defaults]\nverify_timeout = true\n", "2", "defaults.verify_timeout", "expected a number"),
    ('[defaults]\nverify_timeout = "20"\n', "2", "defaults.verify_timeout", "expected a number"),
    ("[defaults]\nconcurrency = 2.5\n", "2", "defaults.concurrency", "expected an integer, got"),
    ("[defaults]\noutput = 1979-05-27\n", "2", "defaults.output", "expected a string: table, js"),
    ("accounts = []\n", "1", "accounts", "expected a table, got an array"),
    ('[audit]\ntrusted_accounts = "p"\n', "2", "audit.trusted_accounts", "expected an array of"),
    ("[audit]\ntrusted_organizations = [1]\n", "2", "audit.trusted_organizations[0]", "expected"),
    # bad values
    ('[defaults]\nregion = "us-east"\n', "2", "defaults.region", "invalid region 'us-east'"),
    ('[defaults]\nregion = ["all", "us-east-1"]\n', "2", "defaults.region", "region 'all' cann"),
    ('[defaults]\noutput = "yaml"\n', "2", "defaults.output", "invalid output format 'yaml'"),
    ('[defaults]\nprofile = " "\n', "2", "defaults.profile", "invalid profile ' '"),
    ("[defaults]\nverify_timeout = 7200\n", "2", "defaults.verify_timeout", "invalid verify ti"),
    ("[defaults]\nverify_timeout = nan\n", "2", "defaults.verify_timeout", "invalid verify tim"),
    ("[defaults]\nconcurrency = 0\n", "2", "defaults.concurrency", "invalid concurrency 0"),
    ('[accounts]\nprod = "1111-2222-3333"\n', "2", "accounts.prod", "invalid account ID '1111-"),
    ('[accounts]\nprod = "staging"\n', "2", "accounts.prod", "invalid account ID 'staging'"),
    ("[accounts]\nprod = 12345678901\n", "2", "accounts.prod", "expected the account ID as a s"),
    ("[accounts]\nprod = true\n", "2", "accounts.prod", "expected a 12-digit account ID string"),
    ('[accounts]\n111122223333 = "111122223333"\n', "2", "accounts.111122223333", "invalid alias"),
    ('[accounts]\n"my alias" = "111122223333"\n', "2", 'accounts."my alias"', "invalid alias"),
    ('[audit]\ntrusted_accounts = ["prod"]\n', "2", "audit.trusted_accounts[0]", "unknown accou"),
    (f'[audit]\ntrusted_organizations = ["{OU}"]\n', "2", "audit.trusted_organizations[0]", "inv"),
]


@pytest.mark.parametrize(("text", "where", "key", "message"), PROBLEM_CASES)
def test_each_problem_names_line_and_key(
    tmp_path: Path, text: str, where: str, key: str, message: str
) -> None:
    # The column is optional: tomllib (3.11+) and tomli (3.10) place some errors differently.
    where_re = rf"{re.escape(where)}(?::\d+)?"
    rest = f"{key}: {message}" if key else message
    assert re.match(rf"{where_re}: {re.escape(rest)}", only_line(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[default]\n",
            "1: default: unknown section 'default'; expected one of accounts, audit, defaults "
            "(hint: did you mean 'defaults'?)",
        ),
        (
            "[defaults]\nwith_snapshot = true\n",
            "2: defaults.with_snapshot: unknown key 'with_snapshot'; expected one of concurrency, "
            "output, profile, region, verify_timeout, with_snapshots "
            "(hint: did you mean 'with_snapshots'?)",
        ),
        (
            "[defaults]\noutput = 1979-05-27\n",
            "2: defaults.output: expected a string: table, json or text, "
            "got date/time datetime.date(1979, 5, 27)",
        ),
        (
            '[audit]\ntrusted_accounts = "prod"\n',
            '2: audit.trusted_accounts: expected an array of strings, e.g. ["prod", '
            "\"111122223333\"], got string 'prod'",
        ),
        (
            '[accounts]\nprod = "1111-2222-3333"\n',
            "2: accounts.prod: invalid account ID '1111-2222-3333': expected exactly 12 digits, "
            "e.g. 111122223333 (hint: write it without hyphens: 111122223333)",
        ),
        (
            "[accounts]\nprod = 12345678901\n",
            "2: accounts.prod: expected the account ID as a string, got integer 12345678901 "
            '(hint: quote it, keeping leading zeros: prod = "012345678901")',
        ),
        (
            '[accounts]\n111122223333 = "111122223333"\n',
            "2: accounts.111122223333: invalid alias name '111122223333': "
            "an alias cannot itself be an account ID",
        ),
        (
            '[audit]\ntrusted_accounts = ["prod"]\n',
            "2: audit.trusted_accounts[0]: unknown account alias 'prod': not a 12-digit account "
            "ID and not one of the config's [accounts] aliases (none are defined) "
            '(hint: define it in the config file: [accounts] prod = "111122223333")',
        ),
        (
            "[defaults]\nverify_timeout = 7200\n",
            "2: defaults.verify_timeout: invalid verify timeout 7200: "
            "expected seconds from 0 to 3600",
        ),
    ],
)
def test_whole_problem_lines(tmp_path: Path, text: str, expected: str) -> None:
    assert only_line(tmp_path, text) == expected


def test_org_problem_carries_the_hint(tmp_path: Path) -> None:
    line = only_line(tmp_path, f'[audit]\ntrusted_organizations = ["{OU}"]\n')
    assert line.endswith(
        "(hint: that is an organizational unit ARN, not an organization ARN (OUs go with --ou))"
    )
    line = only_line(tmp_path, '[audit]\ntrusted_organizations = ["o-abc123def4"]\n')
    assert "(hint: EC2 needs the full organization ARN, not the ID: " in line


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "amictl.toml"
    path.write_bytes(b'[defaults]\nprofile = "caf\xe9"\n')
    with pytest.raises(ConfigFileError) as info:
        cfg.load_config_file(path)
    assert info.value.message == f"{path}:2: the file is not UTF-8 text"


def test_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        cfg.load_config_file(tmp_path)  # a directory
    assert info.value.message.startswith(f"{tmp_path}: cannot read the file: ")


def test_config_file_error_is_a_usage_error() -> None:
    error = ConfigFileError(Path("x.toml"), [Problem(("a", 0), "bad", line=3)])
    assert isinstance(error, ConfigError) and isinstance(error, UsageError)
    assert error.exit_code is ExitCode.USAGE
    assert str(error) == error.message == "x.toml:3: a[0]: bad"


# ---------------------------------------------------------------- every problem at once

MANY_PROBLEMS = """\
# amictl config with a problem on many lines
[defaults]
region = [
  "us-east-1",
  "US-EAST-2",   # comment with "quotes", [brackets] and a = sign
  7,
]
profile = "images-admin"
output = "yaml"
with_snapshot = true

[accounts]
prod = "1111-2222-3333"
staging = "444455556666"
"111122223333" = "111122223333"

[audit]
trusted_accounts = [
    "prod",           # invalid alias above: not reported again here
    "staging",
    "nope",
]
trusted_organizations = ["o-abc123def4"]
"""


def test_every_problem_is_reported_with_file_key_and_line(tmp_path: Path) -> None:
    error = problems_of(tmp_path, MANY_PROBLEMS)
    path = tmp_path / "amictl.toml"
    located = [(p.line, cfg.format_key_path(p.key)) for p in error.problems]
    assert located == [
        (5, "defaults.region[1]"),
        (6, "defaults.region[2]"),
        (9, "defaults.output"),
        (10, "defaults.with_snapshot"),
        (13, "accounts.prod"),
        (15, "accounts.111122223333"),
        (21, "audit.trusted_accounts[2]"),
        (23, "audit.trusted_organizations[0]"),
    ]
    lines = error.message.split("\n")
    assert len(lines) == 8
    assert lines[0] == (
        f"{path}:5: defaults.region[1]: invalid region 'US-EAST-2': expected a region name "
        "such as us-east-1 or 'all' (hint: region names are lowercase: us-east-2)"
    )
    assert lines[1] == f"{path}:6: defaults.region[2]: expected a string, got integer 7"
    assert lines[6].startswith(
        f"{path}:21: audit.trusted_accounts[2]: unknown account alias 'nope'"
    )
    assert "aliases: staging" in lines[6]


# ---------------------------------------------------------------- finding lines


def test_key_lines_for_a_policy_like_file() -> None:
    text = """\
[accounts]
prod = "111122223333"  # ] } [ not structure

[[image]]
id = "ami-0123456789abcdef0"
description = '''
[not-a-table]
still = "the string"'''
accounts = [ "prod",
  "staging" ]
select = { tags = { Team = "base" }, region = "us-east-1" }

[[image]]
"quoted.key" = "x#y"
accounts = [
  # a comment
  [ "nested", "array" ],
  "b",
]

[image.select]
tags.Team = "infra"
"""
    lines = cfg.key_lines(text)
    assert lines[("accounts",)] == 1
    assert lines[("accounts", "prod")] == 2
    assert lines[("image",)] == 4
    assert lines[("image", 0)] == 4
    assert lines[("image", 0, "id")] == 5
    assert lines[("image", 0, "description")] == 6
    assert ("not-a-table",) not in lines and ("image", 0, "still") not in lines
    assert lines[("image", 0, "accounts")] == 9
    assert lines[("image", 0, "accounts", 0)] == 9
    assert lines[("image", 0, "accounts", 1)] == 10
    assert lines[("image", 0, "select", "tags", "Team")] == 11
    assert lines[("image", 0, "select", "region")] == 11
    assert lines[("image", 1)] == 13
    assert lines[("image", 1, "quoted.key")] == 14
    assert lines[("image", 1, "accounts", 0)] == 17
    assert lines[("image", 1, "accounts", 0, 1)] == 17
    assert lines[("image", 1, "accounts", 1)] == 18
    assert lines[("image", 1, "select")] == 21
    assert lines[("image", 1, "select", "tags", "Team")] == 22


def test_line_of_falls_back_to_the_longest_known_prefix() -> None:
    lines = cfg.key_lines('[audit]\ntrusted_accounts = ["a"]\n')
    assert cfg.line_of(lines, ("audit", "trusted_accounts", 0)) == 2
    assert cfg.line_of(lines, ("audit", "trusted_accounts", 5)) == 2
    assert cfg.line_of(lines, ("audit", "other")) == 1
    assert cfg.line_of(lines, ("nowhere",)) is None


def test_key_lines_skip_escaped_quotes_and_multiline_strings() -> None:
    text = (
        'a = "say \\"hi\\" # [x]"\nb = """one\\"""\n[c]"""\nc = 1\nd = \'\'\'x\'\'\'\'\'\ne = 2\n'
    )
    assert tomllib.loads(text)["b"] == 'one"""\n[c]'
    assert cfg.key_lines(text) == {("a",): 1, ("b",): 2, ("c",): 4, ("d",): 5, ("e",): 6}


def test_key_lines_never_fails_on_odd_text() -> None:
    assert cfg.key_lines('a = "unterminated\n[b]\n') == {("a",): 1}
    assert cfg.key_lines("= = =") == {}
    assert cfg.key_lines("") == {}


def test_crlf_line_endings(tmp_path: Path) -> None:
    error = problems_of(tmp_path, '[defaults]\r\n\r\noutput = "yaml"\r\n')
    assert [p.line for p in error.problems] == [3]


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (("defaults", "region", 1), "defaults.region[1]"),
        (("accounts", "my alias"), 'accounts."my alias"'),
        (("image", 2, "accounts", 0), "image[2].accounts[0]"),
        (("tag.key",), '"tag.key"'),
        ((), ""),
    ],
)
def test_format_key_path(key: cfg.KeyPath, text: str) -> None:
    assert cfg.format_key_path(key) == text


# ---------------------------------------------------------------- discovery


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A home, an XDG dir and a working directory, with no config anywhere yet."""
    home, xdg, work = tmp_path / "home", tmp_path / "xdg", tmp_path / "work"
    for directory in (home, xdg, work):
        directory.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.delenv("AMICTL_CONFIG", raising=False)
    monkeypatch.chdir(work)
    return {"home": home, "xdg": xdg, "work": work, "tmp": tmp_path}


def config_with_profile(path: Path, profile: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[defaults]\nprofile = "{profile}"\n', encoding="utf-8")
    return path


def test_discovery_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cfg.find_config_file() is None
    assert cfg.load_config() == Config.empty()

    home_file = config_with_profile(places["home"] / ".config/amictl/config.toml", "home")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert cfg.find_config_file() == home_file
    assert cfg.load_config().profile == "home"

    xdg_file = config_with_profile(places["xdg"] / "amictl/config.toml", "xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(places["xdg"]))
    assert cfg.find_config_file() == xdg_file
    assert cfg.load_config().profile == "xdg"

    config_with_profile(places["work"] / "amictl.toml", "local")
    assert cfg.find_config_file() == Path("amictl.toml")
    assert cfg.load_config().profile == "local"

    env_file = config_with_profile(places["tmp"] / "env.toml", "env")
    monkeypatch.setenv("AMICTL_CONFIG", str(env_file))
    assert cfg.load_config().profile == "env"

    explicit = config_with_profile(places["tmp"] / "explicit.toml", "explicit")
    assert cfg.load_config(explicit).profile == "explicit"
    assert cfg.load_config(str(explicit)).path == explicit


def test_relative_xdg_config_home_is_ignored(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_with_profile(places["work"] / "rel/amictl/config.toml", "relative")
    home_file = config_with_profile(places["home"] / ".config/amictl/config.toml", "home")
    monkeypatch.setenv("XDG_CONFIG_HOME", "rel")
    assert cfg.user_config_path() == home_file
    assert cfg.load_config().profile == "home"


def test_missing_explicit_config_is_a_usage_error(places: dict[str, Path]) -> None:
    missing = places["tmp"] / "nope.toml"
    with pytest.raises(UsageError) as info:
        cfg.load_config(missing)
    assert info.value.message == f"config file {str(missing)!r} (from --config) does not exist"
    with pytest.raises(UsageError) as info:
        cfg.load_config(places["tmp"])
    assert info.value.message == f"config file {str(places['tmp'])!r} (from --config) is not a file"


def test_missing_env_config_is_a_usage_error(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_with_profile(places["work"] / "amictl.toml", "local")
    monkeypatch.setenv("AMICTL_CONFIG", "gone.toml")
    with pytest.raises(UsageError) as info:
        cfg.load_config()
    assert info.value.message == "config file 'gone.toml' (from $AMICTL_CONFIG) does not exist"
    monkeypatch.setenv("AMICTL_CONFIG", "")  # empty counts as unset
    assert cfg.load_config().profile == "local"


def test_invalid_discovered_config_is_reported_not_skipped(places: dict[str, Path]) -> None:
    (places["work"] / "amictl.toml").write_text('[defaults]\noutput = "yaml"\n', encoding="utf-8")
    config_with_profile(places["xdg"] / "amictl/config.toml", "xdg")
    with pytest.raises(ConfigFileError) as info:
        cfg.load_config()
    assert info.value.message.startswith("amictl.toml:2: defaults.output: invalid output format")
