"""Bad input: exit 2, a message naming the bad value, no traceback, and no API call at all
(counted at the emulator)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amictl.sandbox import Sandbox

GOOD_AMI = "ami-0123456789abcdef0"
GOOD_ACCOUNT = "111122223333"
NO_FIXTURE_RESET = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_usage_error(r: Any, sandbox: Sandbox, named: str) -> None:
    assert r.exit_code == 2, r
    # Unprintable characters are named in their escaped form, never sent raw to a terminal.
    assert named in r.stderr or repr(named)[1:-1] in r.stderr, r
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout == ""
    assert sandbox.requests == [], [q.action for q in sandbox.requests]


def cli_safe(value: str) -> bool:
    # Values starting with '-' are parsed as options by Click; that is a usage error too,
    # but its message is Click's, so leave them to the table tests.
    return bool(value) and not value.startswith("-") and value.strip() == value


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["show", "ami-12345"], "ami-12345"),
        (["show", "AMI-0123456789ABCDEF0"], "AMI-0123456789ABCDEF0"),
        (["share", GOOD_AMI, "--account", "1111-2222-3333"], "1111-2222-3333"),
        (["share", GOOD_AMI, "--account", "111122223333,12"], "12"),
        (["share", GOOD_AMI, "--account", "prod"], "prod"),
        (["share", GOOD_AMI, "--org", "o-abc123def4"], "o-abc123def4"),
        (
            [
                "share",
                GOOD_AMI,
                "--ou",
                "arn:aws:organizations::123456789012:organization/o-abc123def4",
            ],
            "organization/o-abc123def4",
        ),
        (
            [
                "share",
                GOOD_AMI,
                "--org",
                "arn:azure:organizations::123456789012:organization/o-abc123def4",
            ],
            "arn:azure",
        ),
        (["show", "--filter", "name"], "name"),
        (["show", "--tag", "=x"], "=x"),
        (["show", GOOD_AMI, "--region", "moon-1"], "moon-1"),
        (["show", GOOD_AMI, "--region", "all,us-east-1"], "all"),
        (["show", GOOD_AMI, "--endpoint-url", "ftp://x"], "ftp://x"),
        (["share", GOOD_AMI, "--account", GOOD_ACCOUNT, "--verify-timeout", "-1"], "-1"),
        (["share", GOOD_AMI, "--account", GOOD_ACCOUNT, "--concurrency", "0"], "0"),
        (["set-description", GOOD_AMI, "x" * 256], "256"),
        (["share", GOOD_AMI], "--account"),
        (["unshare", GOOD_AMI], "--all-shares"),
        (["make-public"], "AMI"),
        (["share", GOOD_AMI, "--tag", "a=b", "--account", GOOD_ACCOUNT], "not both"),
        (["show", GOOD_AMI, "--output", "yaml"], "yaml"),
        (["show", GOOD_AMI, "--config", "/nonexistent/amictl.toml"], "/nonexistent/amictl.toml"),
    ],
)
def test_bad_input_table(sandbox: Sandbox, amictl: Any, args: list[str], named: str) -> None:
    assert_usage_error(amictl(args), sandbox, named)


def test_bad_config_file_names_file_key_and_line(
    sandbox: Sandbox, amictl: Any, tmp_path: Any
) -> None:
    config = tmp_path / "amictl.toml"
    config.write_text('[accounts]\nprod = "111122223333"\nstaging = "4444"\n')
    r = amictl(["share", GOOD_AMI, "--account", "prod", "--config", str(config)])
    assert_usage_error(r, sandbox, "accounts.staging")
    assert str(config) in r.stderr
    assert ":3" in r.stderr  # the line of `staging = ...`


def test_alias_from_config_is_resolved(sandbox: Sandbox, amictl: Any, tmp_path: Any) -> None:
    config = tmp_path / "amictl.toml"
    config.write_text('[accounts]\nprod = "111122223333"\n')
    r = amictl(["share", GOOD_AMI, "--account", "prodd", "--config", str(config)])
    assert_usage_error(r, sandbox, "prodd")
    assert "prod" in r.stderr  # the known aliases are listed


@NO_FIXTURE_RESET
@given(st.text(min_size=1, max_size=30).filter(cli_safe))
def test_any_malformed_ami_id_is_rejected(sandbox: Sandbox, amictl: Any, value: str) -> None:
    if re.fullmatch(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})", value):
        return
    sandbox.clear_requests()
    assert_usage_error(amictl(["show", value]), sandbox, value)


@NO_FIXTURE_RESET
@given(st.text(min_size=1, max_size=20).filter(cli_safe))
def test_any_malformed_account_is_rejected(sandbox: Sandbox, amictl: Any, value: str) -> None:
    if re.fullmatch(r"\d{12}", value) or "," in value:
        return
    sandbox.clear_requests()
    assert_usage_error(amictl(["share", GOOD_AMI, "--account", value]), sandbox, value)


@NO_FIXTURE_RESET
@given(
    st.sampled_from(["--org", "--ou"]),
    st.from_regex(
        r"arn:aws:organizations::\d{0,14}:(organization|ou)/o-[a-z0-9]{0,12}", fullmatch=True
    ),
)
def test_malformed_arns_are_rejected(sandbox: Sandbox, amictl: Any, flag: str, value: str) -> None:
    good_org = re.fullmatch(r"arn:aws:organizations::\d{12}:organization/o-[a-z0-9]{10,32}", value)
    if flag == "--org" and good_org:
        return
    sandbox.clear_requests()
    assert_usage_error(amictl(["share", GOOD_AMI, flag, value]), sandbox, value)
