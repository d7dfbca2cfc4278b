"""The WSGI middleware in front of moto: records every request, answers the knobs (IAM
deny, token buckets, injected faults, latency) and serialises access to moto's backends.

Order for each request: latency sleep (outside any lock, so concurrent clients overlap),
IAM deny, token bucket, random fault, then moto under `BACKEND_LOCK`.
"""

from __future__ import annotations

import io
import json
import re
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from . import kms
from .ec2_errors import error_body, query_error_body
from .faults import Fault, FaultInjector, TokenBuckets
from .recording import RecordedRequest, RequestLog
from .state import BACKEND_LOCK

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>")
# (HTTP status, EC2 error code, message) of the answers the middleware gives itself.
ErrorAnswer = tuple[int, str, str]
THROTTLED: ErrorAnswer = (503, "RequestLimitExceeded", "Request limit exceeded.")
INTERNAL_ERROR: ErrorAnswer = (500, "InternalError", "An internal error has occurred")
UNAVAILABLE: ErrorAnswer = (
    503,
    "Unavailable",
    "The service is unavailable. Please try again shortly.",
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    412: "Precondition Failed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Call:
    """Who is asked what: from the SigV4 credential scope and the query/form body."""

    service: str
    region: str
    action: str
    params: dict[str, str] = field(default_factory=dict)
    json_protocol: bool = False

    @property
    def dry_run(self) -> bool:
        return self.params.get("DryRun", "").lower() == "true"


def read_call(environ: Environ) -> Call | None:
    """Parse the request (putting the body back for moto); None for moto's own API."""
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)

    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region, service = (match.group(1), match.group(2)) if match else ("us-east-1", "unknown")
    content_type = environ.get("CONTENT_TYPE", "")
    params: dict[str, str] = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    json_protocol = "json" in content_type
    if json_protocol:
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = {}
        if isinstance(document, dict):
            for key, value in document.items():
                params[key] = value if isinstance(value, str) else json.dumps(value)
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    action = params.pop("Action", "")
    params.pop("Version", None)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not action and target:
        action = target.rsplit(".", 1)[-1]
    return Call(service, region, action, params, json_protocol)


def error_code(status: int, body: bytes) -> str | None:
    """The error code in an answer (EC2/query XML or JSON protocols), None on success."""
    if status < 400:
        return None
    match = _XML_CODE.search(body)
    if match:
        return match.group(1).decode()
    try:
        document = json.loads(body)
    except ValueError:
        return f"HTTP{status}"
    code = document.get("__type") if isinstance(document, dict) else None
    return str(code).rsplit("#", 1)[-1] if code else f"HTTP{status}"


class SandboxMiddleware:
    """Wraps moto's WSGI app; see the module docstring."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        faults: FaultInjector,
        buckets: TokenBuckets,
        log: RequestLog,
        account_id: str,
    ) -> None:
        self.app = app
        self.faults = faults
        self.buckets = buckets
        self.log = log
        self.account_id = account_id
        self.denied: frozenset[tuple[str, str]] = frozenset()  # (service, action)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        call = read_call(environ)
        if call is None:
            status, headers, body = self._dispatch(environ)
            return self._respond(start_response, status, headers, body)

        settings = self.faults.settings
        is_ec2 = call.service == "ec2"
        if is_ec2 and settings.latency and settings.hits(call.action):
            time.sleep(settings.latency)

        if (call.service, call.action) in self.denied:
            return self._deny(call, start_response)
        if is_ec2 and not self.buckets.take(call.action, call.region):
            return self._ec2_error(call, start_response, THROTTLED, "token-bucket")
        fault = self.faults.draw(call.action) if is_ec2 else None
        if fault is Fault.DROP:
            self._record(call, None, None, fault.value)
            _drop_connection(environ)
        if fault is not None:
            if fault is Fault.THROTTLE:
                answer = THROTTLED
            else:
                answer = INTERNAL_ERROR if self.faults.coin() else UNAVAILABLE
            return self._ec2_error(call, start_response, answer, fault.value)

        if call.service == "kms":
            self._before_kms(call)
        try:
            status, headers, body = self._dispatch(environ)
        except NotImplementedError as e:
            # Not a retryable server fault: EC2's answer to an action it does not know.
            return self._ec2_error(call, start_response, (400, "InvalidAction", str(e)), None)
        except Exception as e:  # a bug in moto or the extension: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            answer = (500, "InternalError", f"sandbox error: {e!r}")
            return self._ec2_error(call, start_response, answer, None)
        self._record(call, error_code(status, body), status, None)
        return self._respond(start_response, status, headers, body)

    # ------------------------------------------------------------ moto

    def _dispatch(self, environ: Environ) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        with BACKEND_LOCK:
            result = self.app(environ, capture)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return int(captured["status"].split()[0]), list(captured["headers"]), b"".join(chunks)

    def _before_kms(self, call: Call) -> None:
        """Make DescribeKey faithful for AWS managed keys (see `kms.py`)."""
        with BACKEND_LOCK:
            key_id = call.params.get("KeyId")
            if key_id:
                kms.ensure_reserved_alias(self.account_id, call.region, key_id)
            kms.mark_aws_managed_keys(self.account_id, call.region)

    # ------------------------------------------------------------ answers

    def _record(self, call: Call, error: str | None, status: int | None, fault: str | None) -> None:
        self.log.append(
            RecordedRequest(
                service=call.service,
                region=call.region,
                action=call.action,
                params=dict(call.params),
                dry_run=call.dry_run,
                error=error,
                status=status,
                fault=fault,
            )
        )

    def _ec2_error(
        self, call: Call, start_response: StartResponse, answer: ErrorAnswer, fault: str | None
    ) -> Iterable[bytes]:
        status, code, message = answer
        self._record(call, code, status, fault)
        headers = [("Content-Type", "text/xml")]
        return self._respond(start_response, status, headers, error_body(code, message))

    def _deny(self, call: Call, start_response: StartResponse) -> Iterable[bytes]:
        """An explicit IAM deny (facts §3 UnauthorizedOperation), for real and DryRun calls."""
        message = (
            f"You are not authorized to perform this operation. User: "
            f"arn:aws:iam::{self.account_id}:user/sandbox is not authorized to perform: "
            f"{call.service}:{call.action} with an explicit deny in an identity-based policy"
        )
        if call.service == "ec2":
            answer = (403, "UnauthorizedOperation", message)
            return self._ec2_error(call, start_response, answer, "deny")
        if call.json_protocol:
            self._record(call, "AccessDeniedException", 400, "deny")
            body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1")]
            return self._respond(start_response, 400, headers, body)
        self._record(call, "AccessDenied", 403, "deny")
        body = query_error_body("AccessDenied", message)
        return self._respond(start_response, 403, [("Content-Type", "text/xml")], body)

    @staticmethod
    def _respond(
        start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> Iterable[bytes]:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [body]


def _drop_connection(environ: Environ) -> None:
    """Reset the TCP connection without an answer; botocore sees a connection error and
    retries it. Raising ConnectionError makes werkzeug treat it as a dropped client."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("sandbox fault: connection dropped")
