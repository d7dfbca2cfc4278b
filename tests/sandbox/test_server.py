"""The server itself: loopback only, lifecycle, reset, and the foreground `serve()`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from amictl.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_listens_on_loopback_only(sandbox: Sandbox) -> None:
    host, port = sandbox.server_address
    assert host == "127.0.0.1"
    assert sandbox.endpoint_url == f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_refuses_other_interfaces(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(host=host)


def test_not_reachable_on_other_local_addresses(sandbox: Sandbox) -> None:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    addresses = {str(i[4][0]) for i in infos} - {"127.0.0.1"}
    addresses = {a for a in addresses if not a.startswith("127.")}
    if not addresses:
        pytest.skip("no non-loopback IPv4 address on this machine")
    _, port = sandbox.server_address
    for address in addresses:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=1):
            pass


def test_reset_wipes_everything(sandbox: Sandbox, client: Any) -> None:
    ec2 = client()
    sandbox.seed_demo()
    client("kms").create_key()
    sandbox.set_faults(latency=0.01)
    ec2.describe_images()
    sandbox.reset()
    assert sandbox.requests == []
    assert ec2.describe_images()["Images"] == []  # also: moto's default AMIs are off
    assert ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    assert client("kms").list_keys()["Keys"] == []
    west = client(region="eu-west-1")
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "unblocked"
    )


def test_lifecycle() -> None:
    other = Sandbox()
    with pytest.raises(RuntimeError):
        _ = other.endpoint_url
    with other:
        ec2 = boto3.client(
            "ec2",
            endpoint_url=other.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert ec2.describe_regions()["Regions"]
        assert other.account_id == "123456789012"
    with pytest.raises(RuntimeError):
        _ = other.endpoint_url
    other.stop()  # idempotent


def test_package_import_is_cheap() -> None:
    code = "import sys, amictl.sandbox; print('moto' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def start_foreground(ignore_sigint: bool = False) -> tuple[subprocess.Popen[str], str]:
    """`python -m amictl.sandbox --port 0` until its banner; the process and the banner.
    With `ignore_sigint` it starts with SIGINT ignored, as a non-interactive shell starts
    a background job (`amictl sandbox &` in a script)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen(
        [sys.executable, "-m", "amictl.sandbox", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore if ignore_sigint else None,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            break
    return process, "\n".join(lines)


def stop(process: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    """Send `signum`; what the process printed once it ended (killed after 10 s)."""
    try:
        process.send_signal(signum)
        return process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_serve_in_the_foreground() -> None:
    process, text = start_foreground()
    try:
        match = re.search(r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+) ", text)
        assert match, text
        assert (
            "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1" in text
        )
        shown = dict(re.findall(r"^  (\S+)\s+(ami-[0-9a-f]{17})$", text, re.MULTILINE))
        assert {"plain", "public", "encrypted-aws-key", "eu-west-1/plain"} <= set(shown)

        ec2 = boto3.client(
            "ec2",
            endpoint_url=match.group(1),
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        found = ec2.describe_images(ImageIds=[shown["plain"]])["Images"]
        assert found[0]["Name"] == "demo-plain"
    finally:
        stdout, stderr = stop(process, signal.SIGINT)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "Stopped." in stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "ignore_sigint"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGINT-inherited-as-ignored"],
)
def test_a_background_sandbox_stops_on_kill(signum: int, ignore_sigint: bool) -> None:
    """`amictl sandbox &` in a script: `kill` (TERM) stops it cleanly, and so does
    `kill -INT`, although a non-interactive shell starts background jobs with SIGINT
    ignored."""
    process, text = start_foreground(ignore_sigint=ignore_sigint)
    assert "Press Ctrl-C" in text, text
    stdout, stderr = stop(process, signum)
    assert process.returncode == 0, (process.returncode, stderr)
    assert "Traceback" not in stderr
    assert "Stopped." in stdout
