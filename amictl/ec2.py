"""The boto3 gateway: clients, reads, writes, error translation and retry settings.

The only module (besides the sandbox) that imports boto3/botocore, and only when a
command actually talks to AWS, so `--help`, `--version` and usage errors stay fast.
Clients come from a botocore session, the one under every boto3 session: amictl needs no
boto3 resources or S3 transfers, and skipping `import boto3` (which imports s3transfer)
saves about 0.15 s of every command's start-up.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.session

from .errors import AwsError, EnvironmentProblem, UsageError
from .gateway import Filter
from .limits import EC2_REQUEST_BUCKETS, RequestPacer
from .model import (
    EnforceImdsV2,
    ImageRef,
    ImageState,
    KeyManager,
    LaunchPermissionChange,
    LaunchTargets,
    Op,
    ProductCode,
    ReadError,
    Request,
    ResetLaunchPermission,
    SetDescription,
    SnapshotPermissionChange,
    SnapshotState,
)

# Errors that mean the caller's credentials are unusable: they stop the whole run
# instead of failing image after image with the same message.
_CREDENTIAL_ERRORS = {
    "ExpiredToken": "your session token has expired: refresh your credentials (e.g. aws sso login)",
    "ExpiredTokenException": "your session token has expired: refresh your credentials",
    "RequestExpired": "the request or your temporary credentials expired: check the "
    "system clock and refresh your credentials",
    "InvalidClientTokenId": "the access key is not valid: check AWS_ACCESS_KEY_ID / --profile",
    "UnrecognizedClientException": "the access key is not valid: check your credentials",
    "SignatureDoesNotMatch": "the secret key does not match the access key: check your credentials",
}  # (AuthFailure is not here: it also means "not your image", so it stays per image.)

# Hints for common per-image failures (STYLE §6).
_HINTS = {
    "InvalidAMIID.NotFound": "check the region (--region): AMI IDs belong to one region",
    "InvalidAMIID.Unavailable": "the image is deregistered or in a state that forbids changes",
    "AuthFailure": "only the image's owner can change it; check --profile and the image ID",
    "UnauthorizedOperation": "your IAM policy does not allow this action",
}


@dataclass(frozen=True)
class ClientSettings:
    profile: str | None = None
    endpoint_url: str | None = None
    max_pool_connections: int = 32
    # EC2's token buckets to pace calls by (limits.py); empty: no client-side pacing.
    request_buckets: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: EC2_REQUEST_BUCKETS
    )


# Throttling and server errors that survive botocore's own retries get a few more tries
# here, with longer full-jitter backoff: bulk work should ride EC2's token bucket out
# (facts §8) without also making an unreachable endpoint take a minute to report.
_RETRYABLE_CODES = {
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "EC2ThrottledException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
}
_EXTRA_TRIES = 6
_BACKOFF_BASE = 0.5  # seconds
_BACKOFF_CAP = 8.0


def _retry_config() -> dict[str, Any]:
    """botocore's standard retry mode (3 attempts, like the AWS CLI v2);
    AWS_RETRY_MODE / AWS_MAX_ATTEMPTS still win."""
    retries: dict[str, Any] = {}
    if not os.environ.get("AWS_RETRY_MODE"):
        retries["mode"] = "standard"
    return retries


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _error_message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", str(exc)))


AmictlErrorLike = AwsError | EnvironmentProblem | UsageError


def translate(exc: Exception) -> AmictlErrorLike:
    """Turn a boto3/botocore exception into amictl's own, keeping the AWS code."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = _error_code(exc)
        hint = _CREDENTIAL_ERRORS.get(code)
        if hint:
            return EnvironmentProblem(f"{code}: {_error_message(exc)}", hint)
        return AwsError(code, _error_message(exc), _HINTS.get(code))
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return EnvironmentProblem(
            "no AWS credentials found",
            "set AWS_PROFILE or --profile, run `aws configure` / `aws sso login`, or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for the sandbox any value works)",
        )
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return UsageError("no region given", "pass --region or set AWS_REGION")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return EnvironmentProblem(
            f"could not connect to the endpoint {exc.kwargs.get('endpoint_url', '')}",
            "check --endpoint-url / AWS_ENDPOINT_URL and your network; is the sandbox running?",
        )
    if isinstance(
        exc, botocore.exceptions.ConnectionClosedError | botocore.exceptions.ReadTimeoutError
    ):
        return AwsError("ConnectionError", str(exc), "the connection failed after retries")
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return UsageError(str(exc), "check --profile / AWS_PROFILE against ~/.aws/config")
    if isinstance(exc, botocore.exceptions.PartialCredentialsError):
        return EnvironmentProblem(str(exc), "set both the access key and the secret key")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return EnvironmentProblem(str(exc))
    raise exc


class Boto3Gateway:
    """Ec2Gateway over botocore: one session, one client per (service, region), shared by
    threads."""

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        try:
            self._session = botocore.session.Session(profile=settings.profile)
            self._session.get_scoped_config()  # an unknown profile fails here, not mid-run
        except botocore.exceptions.ProfileNotFound as exc:
            raise translate(exc) from exc
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # sessions are not thread-safe; clients are
        self._key_managers: dict[tuple[str, str], KeyManager | None] = {}
        self._pacer = RequestPacer(settings.request_buckets)
        self._config = botocore.config.Config(
            retries=_retry_config(),
            max_pool_connections=settings.max_pool_connections,
            user_agent_extra="amictl",
        )

    def credential_values(self) -> list[str]:
        """The secret parts of the current credentials, so --debug can scrub them."""
        try:
            creds = self._session.get_credentials()
        except botocore.exceptions.BotoCoreError:
            return []
        if creds is None:
            return []
        frozen = creds.get_frozen_credentials()
        return [v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v]

    @property
    def default_region(self) -> str | None:
        region = self._session.get_config_variable("region")
        return str(region) if region else None

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.create_client(
                    service,
                    region_name=region,
                    endpoint_url=self._settings.endpoint_url,
                    config=self._config,
                )
            return self._clients[key]

    def _call(self, service: str, region: str, operation: str, **params: Any) -> Any:
        action = _action(operation) if service == "ec2" else ""
        for attempt in range(_EXTRA_TRIES + 1):
            self._pacer.wait(region, action)
            try:
                return getattr(self.client(service, region), operation)(**params)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                error = translate(exc)
                if isinstance(error, AwsError) and error.code == "RequestLimitExceeded":
                    self._pacer.throttled(region, action)
                if (
                    not isinstance(error, AwsError)
                    or error.code not in _RETRYABLE_CODES
                    or attempt == _EXTRA_TRIES
                ):
                    raise error from exc
            time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
        raise AssertionError("unreachable")

    def _paginate(
        self, service: str, region: str, operation: str, key: str, **params: Any
    ) -> Iterator[Any]:
        """Every item of a NextToken-paginated read; each page goes through `_call`, so a
        throttled page is retried like any other call instead of failing the whole read."""
        token: str | None = None
        while True:
            page = self._call(service, region, operation, **params, **_next(token))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    # ------------------------------------------------------------------ reads

    def enabled_regions(self) -> list[str]:
        region = self.default_region or "us-east-1"
        answer = self._call("ec2", region, "describe_regions")
        return sorted(r["RegionName"] for r in answer.get("Regions", []))

    def describe_images(
        self,
        region: str,
        image_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        owned_only: bool = False,
    ) -> tuple[list[ImageState], list[ReadError]]:
        # Explicit IDs go in an image-id filter rather than ImageIds, so one missing ID
        # does not fail the whole call (EC2 answers InvalidAMIID.NotFound for all of them).
        wire_filters = [{"Name": f.name, "Values": list(f.values)} for f in filters]
        if image_ids:
            wire_filters.append({"Name": "image-id", "Values": list(image_ids)})
        params: dict[str, Any] = {"Filters": wire_filters} if wire_filters else {}
        if owned_only:
            params["Owners"] = ["self"]
        states = [
            _image_state(raw, region)
            for raw in self._paginate("ec2", region, "describe_images", "Images", **params)
        ]
        found = {s.image_id for s in states}
        errors = [
            ReadError(
                ImageRef(i, region),
                "InvalidAMIID.NotFound",
                f"The image id '{i}' does not exist in {region}",
            )
            for i in image_ids
            if i not in found
        ]
        return sorted(states, key=lambda s: s.image_id), errors

    def launch_permissions(self, ref: ImageRef) -> LaunchTargets:
        answer = self._call(
            "ec2",
            ref.region,
            "describe_image_attribute",
            ImageId=ref.image_id,
            Attribute="launchPermission",
        )
        return LaunchTargets.from_wire(answer.get("LaunchPermissions", []))

    def snapshot_details(
        self, region: str, snapshot_ids: Sequence[str]
    ) -> dict[str, SnapshotState]:
        if not snapshot_ids:
            return {}
        details: dict[str, SnapshotState] = {}
        raw_snapshots = self._paginate(
            "ec2",
            region,
            "describe_snapshots",
            "Snapshots",
            Filters=[{"Name": "snapshot-id", "Values": sorted(set(snapshot_ids))}],
        )
        for raw in raw_snapshots:
            key_id = raw.get("KmsKeyId") or None
            encrypted = bool(raw.get("Encrypted"))
            details[raw["SnapshotId"]] = SnapshotState(
                snapshot_id=raw["SnapshotId"],
                encrypted=encrypted,
                kms_key_id=key_id,
                key_manager=self._key_manager(region, key_id) if encrypted and key_id else None,
            )
        return details

    def _key_manager(self, region: str, key_id: str) -> KeyManager | None:
        """kms:DescribeKey → KeyManager AWS (aws/ebs) or CUSTOMER; None when we may not ask."""
        cache_key = (region, key_id)
        if cache_key not in self._key_managers:
            try:
                meta = self._call("kms", region, "describe_key", KeyId=key_id)["KeyMetadata"]
                manager: KeyManager | None = KeyManager(meta.get("KeyManager", "CUSTOMER"))
            except (AwsError, ValueError):
                manager = None
            self._key_managers[cache_key] = manager
        return self._key_managers[cache_key]

    def snapshot_permissions(self, region: str, snapshot_id: str) -> tuple[frozenset[str], bool]:
        answer = self._call(
            "ec2",
            region,
            "describe_snapshot_attribute",
            SnapshotId=snapshot_id,
            Attribute="createVolumePermission",
        )
        items = answer.get("CreateVolumePermissions", [])
        accounts = frozenset(i["UserId"] for i in items if "UserId" in i)
        public = any(i.get("Group") == "all" for i in items)
        return accounts, public

    def block_public_access_state(self, region: str) -> str:
        answer = self._call("ec2", region, "get_image_block_public_access_state")
        return str(answer.get("ImageBlockPublicAccessState", "unblocked"))

    # ------------------------------------------------------------------ writes

    def send(self, request: Request, dry_run: bool = False) -> None:
        operation, params = wire_call(request)
        if dry_run:
            params["DryRun"] = True
        try:
            self._call("ec2", request.ref.region, operation, **params)
        except AwsError as exc:
            if dry_run and exc.code == "DryRunOperation":
                return
            raise


def _action(operation: str) -> str:
    """describe_image_attribute → DescribeImageAttribute (the API's action name)."""
    return "".join(word.capitalize() for word in operation.split("_"))


def _next(token: str | None) -> dict[str, str]:
    return {"NextToken": token} if token else {}


def wire_call(request: Request) -> tuple[str, dict[str, Any]]:
    """The boto3 operation and parameters for one request: the structured forms of the API
    reference's sample requests (LaunchPermission.Add.N.UserId, Description.Value, ...)."""
    image_id = request.ref.image_id
    if isinstance(request, LaunchPermissionChange):
        verb = "Add" if request.op is Op.ADD else "Remove"
        return "modify_image_attribute", {
            "ImageId": image_id,
            "LaunchPermission": {verb: request.targets.to_wire()},
        }
    if isinstance(request, ResetLaunchPermission):
        return "reset_image_attribute", {"ImageId": image_id, "Attribute": "launchPermission"}
    if isinstance(request, SetDescription):
        return "modify_image_attribute", {
            "ImageId": image_id,
            "Description": {"Value": request.text},
        }
    if isinstance(request, EnforceImdsV2):
        return "modify_image_attribute", {"ImageId": image_id, "ImdsSupport": {"Value": "v2.0"}}
    if isinstance(request, SnapshotPermissionChange):
        verb = "Add" if request.op is Op.ADD else "Remove"
        return "modify_snapshot_attribute", {
            "SnapshotId": request.snapshot_id,
            "Attribute": "createVolumePermission",
            "CreateVolumePermission": {verb: [{"UserId": a} for a in sorted(request.accounts)]},
        }
    raise TypeError(f"unknown request {request!r}")


def _image_state(raw: dict[str, Any], region: str) -> ImageState:
    snapshots = tuple(
        SnapshotState(snapshot_id=ebs["SnapshotId"], encrypted=bool(ebs.get("Encrypted")))
        for bdm in raw.get("BlockDeviceMappings", [])
        if (ebs := bdm.get("Ebs")) and ebs.get("SnapshotId")
    )
    return ImageState(
        image_id=raw["ImageId"],
        region=region,
        name=raw.get("Name"),
        owner_id=str(raw.get("OwnerId", "")),
        state=str(raw.get("State", "unknown")),
        launch=LaunchTargets(public=bool(raw.get("Public"))),
        description=raw.get("Description") or None,
        imds_support=raw.get("ImdsSupport") or None,
        product_codes=tuple(
            sorted(
                ProductCode(p.get("ProductCodeId", ""), p.get("ProductCodeType", "marketplace"))
                for p in raw.get("ProductCodes", [])
            )
        ),
        snapshots=tuple(sorted(snapshots, key=lambda s: s.snapshot_id)),
    )


# ---------------------------------------------------------------------- --debug


# Header values may be logged as str or bytes (b'...'), hence the optional b before quotes.
_VALUE = r"""b?['"]?[^'",}\s]+['"]?"""
_SECRET_PATTERNS = [
    re.compile(r"""(Authorization['"]?\s*[:=]\s*)b?['"][^'"]*['"]""", re.IGNORECASE),
    re.compile(rf"""(X-Amz-Security-Token['"]?\s*[:=]\s*){_VALUE}""", re.IGNORECASE),
    re.compile(rf"""(aws_secret_access_key['"]?\s*[:=]\s*){_VALUE}""", re.IGNORECASE),
    re.compile(rf"""(aws_session_token['"]?\s*[:=]\s*){_VALUE}""", re.IGNORECASE),
    re.compile(r"(Credential=)[^,/\s]+", re.IGNORECASE),
    re.compile(r"(Signature[=:]\s*)[0-9a-f]{16,}", re.IGNORECASE),
]


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1<redacted>", text)
    return text


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self._secrets)
        record.args = None
        return True


def enable_debug_logging(gateway: Boto3Gateway | None = None) -> None:
    """botocore's wire log on stderr, with authorization headers, signatures, keys and
    tokens redacted (the gateway's own credential values are scrubbed wherever they appear)."""
    secrets: list[str] = []
    if gateway is not None:
        secrets = gateway.credential_values()
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(_RedactingFilter(secrets))
    for name in ("botocore", "boto3", "urllib3", "amictl"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        # Idempotent: a second run in the same process (tests) replaces the old handler.
        for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time of the record."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass
