"""Trouble with credentials, region or endpoint: one clear line with the fix, no traceback;
--debug shows the wire log with secrets redacted."""

from __future__ import annotations

import re
import time
from typing import Any

import botocore.exceptions
import pytest

from amictl.ec2 import redact, translate
from amictl.errors import AwsError, EnvironmentProblem
from amictl.sandbox import Sandbox


def no_traceback(r: Any) -> None:
    assert "Traceback" not in r.stderr + r.stdout, r


def test_missing_credentials(sandbox: Sandbox, amictl: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    r = amictl(["show", "ami-0123456789abcdef0"])
    assert r.exit_code == 1, r
    assert "no AWS credentials found" in r.stderr
    assert "hint:" in r.stderr
    no_traceback(r)


def test_no_region(sandbox: Sandbox, amictl: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    r = amictl(["show", "ami-0123456789abcdef0"])
    assert r.exit_code == 2, r
    assert "no region" in r.stderr and "--region" in r.stderr
    assert sandbox.requests == []
    no_traceback(r)


def test_unknown_profile_is_a_usage_error(sandbox: Sandbox, amictl: Any) -> None:
    r = amictl(["show", "ami-0123456789abcdef0", "--profile", "nosuchprofile"])
    assert r.exit_code == 2, r
    assert "nosuchprofile" in r.stderr
    assert sandbox.requests == []
    no_traceback(r)


def test_unreachable_endpoint_fails_fast(amictl: Any) -> None:
    started = time.monotonic()
    r = amictl(["show", "ami-0123456789abcdef0", "--endpoint-url", "http://127.0.0.1:9"])
    assert r.exit_code == 1, r
    assert "could not connect" in r.stderr and "127.0.0.1:9" in r.stderr
    assert "hint:" in r.stderr
    no_traceback(r)
    assert time.monotonic() - started < 30


def test_debug_shows_wire_log_with_secrets_redacted(
    sandbox: Sandbox, amictl: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SuperSecretValue123")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "SessionTokenValue456")
    image_id = sandbox.create_image("us-east-1", "dbg")
    r = amictl(["show", image_id, "--debug", "-o", "json"])
    assert r.exit_code == 0, r
    assert "DescribeImages" in r.stderr  # the wire log is there
    assert "SuperSecretValue123" not in r.stderr
    assert "SessionTokenValue456" not in r.stderr
    assert not re.search(r"Signature=[0-9a-f]{16}", r.stderr)
    assert "<redacted>" in r.stderr
    assert r.json["images"][0]["image_id"] == image_id  # stdout stays clean JSON


def test_debug_shows_traceback_for_errors(sandbox: Sandbox, amictl: Any) -> None:
    r = amictl(["show", "ami-bad", "--debug"])
    assert r.exit_code == 2
    assert "Traceback" in r.stderr


def client_error(code: str, message: str = "m") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}}, "DescribeImages"
    )


@pytest.mark.parametrize("code", ["ExpiredToken", "RequestExpired", "InvalidClientTokenId"])
def test_credential_errors_stop_the_run(code: str) -> None:
    error = translate(client_error(code))
    assert isinstance(error, EnvironmentProblem)
    assert code in error.message
    assert error.hint


def test_per_image_errors_keep_their_code() -> None:
    error = translate(client_error("InvalidAMIID.NotFound", "gone"))
    assert isinstance(error, AwsError)
    assert (error.code, error.message) == ("InvalidAMIID.NotFound", "gone")
    assert error.hint and "region" in error.hint


def test_redact() -> None:
    line = (
        "'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261203/us-east-1/ec2/"
        "aws4_request, SignedHeaders=host, Signature=0123abcd', "
        "'X-Amz-Security-Token': 'tok123'"
    )
    out = redact(line)
    for secret in ("AKIAEXAMPLE", "0123abcd", "tok123"):
        assert secret not in out
