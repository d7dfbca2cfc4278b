"""One sandbox per test session, reset before every test; real boto3 clients over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import boto3.session
import pytest
from botocore.config import Config

from amictl.sandbox import Sandbox
from tests.sandbox.sandbox_support import REGION

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def _session_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_session_sandbox: Sandbox) -> Sandbox:
    _session_sandbox.reset()
    return _session_sandbox


@pytest.fixture(scope="session")
def _clients(_session_sandbox: Sandbox) -> ClientFactory:
    session = boto3.session.Session()
    cache: dict[tuple[str, str, int, str], Any] = {}

    def make(
        service: str = "ec2", region: str = REGION, attempts: int = 1, mode: str = "standard"
    ) -> Any:
        key = (service, region, attempts, mode)
        if key not in cache:
            cache[key] = session.client(
                service,
                endpoint_url=_session_sandbox.endpoint_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(
                    retries={"total_max_attempts": attempts, "mode": mode},
                    connect_timeout=5,
                    read_timeout=10,
                ),
            )
        return cache[key]

    return make


@pytest.fixture
def client(sandbox: Sandbox, _clients: ClientFactory) -> ClientFactory:
    """client(service="ec2", region=REGION, attempts=1, mode="standard"): a cached boto3
    client; retries are off unless asked for (attempts counts the first try), so tests see
    raw faults."""
    return _clients


@pytest.fixture
def ec2(client: ClientFactory) -> Any:
    return client()
