"""Shared fixtures: fake credentials → the local emulator on 127.0.0.1 → seeded images.

Every test talks HTTP to the emulator (moto's server plus amictl's fidelity extension);
nothing leaves loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from typer.testing import CliRunner

from amictl.cli import app
from amictl.sandbox import Sandbox

REGION = "us-east-1"


@pytest.fixture(autouse=True, scope="session")
def shared_service_models() -> Iterator[None]:
    """Each CLI run builds a new boto3 Session, whose loader parses botocore's EC2 model
    (megabytes of JSON, ~0.3 s) again. One loader for the whole test session parses it
    once; nothing else about the sessions changes."""
    loader = botocore.loaders.create_loader()

    def register_data_loader(session: botocore.session.Session) -> None:
        session._components.register_component("data_loader", loader)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "_register_data_loader", register_data_loader)
        yield


@pytest.fixture(autouse=True)
def aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Fake credentials and no user AWS/amictl config, so nothing real can be reached."""
    empty = tmp_path_factory.mktemp("home")
    for name in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        "AMICTL_CONFIG",
        "NO_COLOR",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(empty / "xdg"))
    monkeypatch.chdir(empty)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A clean emulator for each test, with AWS_ENDPOINT_URL pointing at it."""
    sandbox_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint_url)
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def ec2(sandbox: Sandbox) -> Any:
    """A plain boto3 client on the emulator, for reading state back directly."""
    return boto3.client("ec2", region_name=REGION, endpoint_url=sandbox.endpoint_url)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:  # shown when an assertion on the run fails
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_cli(args: Sequence[str], input: str | None = None) -> Run:
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def amictl() -> Any:
    return run_cli


def launch_permissions(ec2: Any, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))
