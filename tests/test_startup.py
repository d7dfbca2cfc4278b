"""Start-up: --help, --version and usage errors never import boto3 (spec/DESIGN performance)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
from amictl.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
sys.stderr.write("\\nBOTO3_IMPORTED=%s\\n" % ("boto3" in sys.modules or "botocore" in sys.modules))
sys.exit(code)
"""


def run_probe(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["share", "--help"], 0),
        (["enforce-imdsv2", "--help"], 0),
        (["audit", "--help"], 0),
        (["plan", "--help"], 0),
        (["apply", "--help"], 0),
        (["export", "--help"], 0),
        (["plan", "/no/such/policy.toml"], 2),
        (["export"], 2),
        (["audit", "--fail-on", "critical"], 2),
        (["share", "ami-nothex", "--account", "111122223333"], 2),
        (["share", "ami-0123456789abcdef0", "--account", "12345"], 2),
        (["show", "ami-0123456789abcdef0", "--region", "mars-central-9x"], 2),
        (["show", "--filter", "novalue"], 2),
        (["set-description", "ami-0123456789abcdef0", "bad\ntext"], 2),
        (["make-public"], 2),
        (["no-such-command"], 2),
    ],
)
def test_no_boto3_import(args: list[str], code: int) -> None:
    result = run_probe(*args)
    assert result.returncode == code, result.stderr
    assert "BOTO3_IMPORTED=False" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_invalid_policy_file_does_not_import_boto3(tmp_path: Path, command: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[image]]\nid = "ami-nothex"\n', encoding="utf-8")
    result = run_probe(command, str(policy), "--yes")
    assert result.returncode == 2, result.stderr
    assert f"{policy}:2: image[0].id: invalid AMI ID 'ami-nothex'" in result.stderr
    assert "BOTO3_IMPORTED=False" in result.stderr, result.stderr


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "amictl", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    from amictl import __version__

    assert result.stdout.strip() == f"amictl {__version__}"


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    from amictl.cli import app

    commands = [
        "show",
        "status",
        "share",
        "unshare",
        "make-public",
        "make-private",
        "reset",
        "set-description",
        "enforce-imdsv2",
        "imdsv2",
        "audit",
        "plan",
        "apply",
        "export",
        "sandbox",
    ]
    for command in commands:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output
        if command != "sandbox":
            for option in ("--region", "--output", "--dry-run", "--endpoint-url", "--yes"):
                assert option in result.output, (command, option)
