"""`Sandbox`: moto's server plus the fidelity extension and fault injection, on 127.0.0.1.

    with Sandbox() as sandbox:
        ec2 = boto3.client("ec2", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")

moto's state is process-global, so one Sandbox per process at a time.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from flask import Flask
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.utils import convert_to_flask_response
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import seed
from .faults import FaultInjector, FaultSettings, TokenBuckets
from .fidelity import SandboxEC2Response
from .middleware import SandboxMiddleware
from .recording import RecordedRequest, RequestLog
from .state import BACKEND_LOCK, ExtensionState

DEMO_REGIONS = ("us-east-1", "eu-west-1")


class _QuietHandler(WSGIRequestHandler):
    """No request log on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox only listens on the loopback interface, not {host!r}")


class Sandbox:
    """A local EC2 (plus KMS, STS, ...) for amictl's tests and demos."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        _check_loopback(host)
        # moto reads this whenever it creates a region's EC2 backend (lazily, and again
        # after reset): no default AMIs, so start-up and DescribeImages stay fast.
        os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        self.host = host
        self.port = port
        self.account_id = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        self._extension = ExtensionState()
        self._faults = FaultInjector()
        self._buckets = TokenBuckets()
        self._log = RequestLog()
        response_class = SandboxEC2Response.bound_to(self._extension)

        def create_app(service: Any) -> Flask:
            app = create_backend_app(service)
            if service == "ec2":
                view = convert_to_flask_response(response_class.dispatch)
                app.view_functions = dict.fromkeys(app.view_functions, view)
            return app

        self._middleware = SandboxMiddleware(
            DomainDispatcherApplication(create_app),
            faults=self._faults,
            buckets=self._buckets,
            log=self._log,
            account_id=self.account_id,
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self.port, self._middleware, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long stop() may wait
            name="amictl-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop()` or KeyboardInterrupt."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.2)
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def server_address(self) -> tuple[str, int]:
        """The address the listening socket is bound to."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    def reset(self) -> None:
        """Wipe every moto backend (all services, regions, accounts), the extension's state,
        faults, token buckets, IAM denies and the request record."""
        with BACKEND_LOCK:
            moto_api_backend.reset()
            self._extension.clear()
        self._faults.configure(FaultSettings())
        self._buckets.clear()
        self._middleware.denied = frozenset()
        self._log.clear()

    # ------------------------------------------------------------ requests

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy), including the ones answered by faults."""
        return self._log.snapshot()

    def mutating_requests(
        self, action: str | None = None, *, include_dry_run: bool = True
    ) -> list[RecordedRequest]:
        """The mutating EC2 calls received (ModifyImageAttribute, ResetImageAttribute,
        ModifySnapshotAttribute, Enable/DisableImageBlockPublicAccess)."""
        return [
            r
            for r in self._log.snapshot()
            if r.is_mutating
            and (action is None or r.action == action)
            and (include_dry_run or not r.dry_run)
        ]

    def clear_requests(self) -> None:
        self._log.clear()

    def count(self, action: str) -> int:
        return sum(1 for r in self._log.snapshot() if r.action == action)

    # ------------------------------------------------------------ knobs

    def deny(self, actions: Iterable[str] = ()) -> None:
        """Answer these actions with an explicit IAM deny (EC2: UnauthorizedOperation, 403),
        for real and DryRun calls alike. Names are EC2 actions (`ModifyImageAttribute`) or
        `service:Action` (`kms:DescribeKey`). Replaces the previous set; `deny()` clears."""
        pairs = set()
        for name in actions:
            service, _, action = name.rpartition(":")
            pairs.add((service.lower() or "ec2", action))
        self._middleware.denied = frozenset(pairs)

    def set_faults(
        self,
        throttle_rate: float = 0.0,
        server_error_rate: float = 0.0,
        drop_rate: float = 0.0,
        latency: float = 0.0,
        consistency_lag: float = 0.0,
        actions: Iterable[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Inject faults into EC2 calls (all of them, or only `actions`); each call replaces
        the previous settings.

        Per request, at most one of: RequestLimitExceeded (503) with `throttle_rate`,
        InternalError (500) or Unavailable (503) with `server_error_rate`, a connection
        reset without an answer with `drop_rate`. `latency` seconds are added to every
        request. `consistency_lag`: for that many seconds after a successful change (by one
        of `actions`), reads of the changed image/snapshot/BPA state show the old state.
        """
        settings = FaultSettings(
            throttle_rate=throttle_rate,
            server_error_rate=server_error_rate,
            drop_rate=drop_rate,
            latency=latency,
            consistency_lag=consistency_lag,
            actions=None if actions is None else frozenset(actions),
            seed=seed,
        )
        self._faults.configure(settings)
        with BACKEND_LOCK:
            self._extension.set_lag(consistency_lag, settings.actions)

    def set_token_bucket(
        self,
        capacity: float = 100,
        refill_per_s: float = 5,
        actions: Iterable[str] = ("ModifyImageAttribute",),
    ) -> None:
        """EC2's request token bucket for these actions, per region (facts §8.1; sizes per
        action in `faults.EC2_BUCKETS`): one token per request, RequestLimitExceeded (503)
        when empty. Configuring an action again refills its buckets."""
        self._buckets.configure(capacity, refill_per_s, actions)

    # ------------------------------------------------------------ seeding

    def create_image(
        self,
        region: str,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        public: bool = False,
        accounts: Iterable[str] = (),
        organizations: Iterable[str] = (),
        organizational_units: Iterable[str] = (),
        product_code: str | None = None,
        encrypted: seed.Encryption | None = None,
        imds_v2: bool = False,
        owner_id: str | None = None,
        snapshot_accounts: Iterable[str] = (),
    ) -> str:
        """Create an image directly in the backend; returns its ID. `encrypted`:
        "aws-managed" (the region's `alias/aws/ebs` key) or "customer" (a customer
        managed key)."""
        with BACKEND_LOCK:
            return seed.create_image(
                self.account_id,
                region,
                name,
                description=description,
                tags=tags,
                public=public,
                accounts=accounts,
                organizations=organizations,
                organizational_units=organizational_units,
                product_code=product_code,
                encrypted=encrypted,
                imds_v2=imds_v2,
                owner_id=owner_id,
                snapshot_accounts=snapshot_accounts,
            )

    def set_block_public_access(self, region: str, state: str) -> None:
        """Set a region's image block public access state directly (no propagation lag)."""
        with BACKEND_LOCK:
            seed.set_block_public_access(self._extension, self.account_id, region, state)

    def seed_demo(self, regions: Sequence[str] = DEMO_REGIONS) -> dict[str, str]:
        """Demo images of every kind; returns label → image ID (see `seed.seed_demo`)."""
        with BACKEND_LOCK:
            return seed.seed_demo(self._extension, self.account_id, regions)
