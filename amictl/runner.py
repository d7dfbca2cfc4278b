"""Running the flow over many images and regions: select → read → (plan) → run → verify.

Work is spread over a bounded thread pool that shares one gateway (one boto3 client per
region). Progress leaves as plain events; Ctrl-C stops scheduling, lets in-flight images
finish, and reports the rest as skipped.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from .errors import AwsError
from .gateway import Ec2Gateway, Filter
from .model import (
    ErrorInfo,
    ImageRef,
    ImageState,
    Plan,
    ReadError,
    Result,
    SnapshotState,
    Status,
)
from .plan import verify_matches

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Selection:
    """Which images: explicit IDs, or a selector (filters/tags, or every owned image)."""

    image_ids: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    all_owned: bool = False

    @property
    def is_selector(self) -> bool:
        return bool(self.filters) or self.all_owned

    @property
    def is_empty(self) -> bool:
        return not self.image_ids and not self.is_selector


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    verify_timeout: float = 20.0
    concurrency: int = 16
    read_snapshot_permissions: bool = False
    read_block_public_access: bool = True


class ProgressListener(Protocol):
    def start(self, total: int, description: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class ReadOutcome:
    states: list[ImageState] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    block_public_access: dict[str, str] = field(default_factory=dict)


@dataclass
class RunOutcome:
    results: list[Result]
    interrupted: bool = False


INTERRUPTED = ErrorInfo("Interrupted", "not attempted: the run was interrupted (Ctrl-C)")


class Runner:
    def __init__(
        self,
        gateway: Ec2Gateway,
        options: RunOptions,
        progress: ProgressListener | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.options = options
        self.progress = progress or NullProgress()
        self._sleep = sleep
        self._clock = clock
        self._stop = threading.Event()

    # ------------------------------------------------------------------ pool

    def _map(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> tuple[dict[int, R | BaseException], bool]:
        """Run fn over items on the pool. Returns results by index (an exception when fn
        raised) and whether Ctrl-C stopped it; unstarted items are then left out."""
        outcomes: dict[int, R | BaseException] = {}
        if not items:
            return outcomes, False
        workers = max(1, min(self.options.concurrency, len(items)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="amictl")
        futures: dict[Future[R], int] = {
            pool.submit(self._guarded, fn, i): n for n, i in enumerate(items)
        }
        pending = set(futures)
        interrupted = False
        try:
            while pending:
                # A timeout keeps the main thread responsive to Ctrl-C.
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    self._collect(future, futures[future], outcomes)
        except KeyboardInterrupt:
            interrupted = True
            self._stop.set()
            for future in pending:
                future.cancel()
            # Let in-flight calls finish so nothing is half-reported.
            done, _ = wait(pending)
            for future in done:
                if not future.cancelled():
                    self._collect(future, futures[future], outcomes)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return outcomes, interrupted

    def _guarded(self, fn: Callable[[T], R], item: T) -> R:
        if self._stop.is_set():
            raise _NotStarted()
        return fn(item)

    @staticmethod
    def _collect(future: Future[R], index: int, outcomes: dict[int, R | BaseException]) -> None:
        exc = future.exception()
        if isinstance(exc, _NotStarted):
            return
        outcomes[index] = exc if exc is not None else future.result()

    # ------------------------------------------------------------------ read

    def read(self, regions: Sequence[str], selection: Selection) -> ReadOutcome:
        """One DescribeImages per region, then per-image launch permissions (and snapshot
        permissions when asked). Raises KeyboardInterrupt if interrupted (nothing changed)."""
        region_found, interrupted = self._map(
            lambda region: self._read_region(region, selection), list(regions)
        )
        if interrupted:
            raise KeyboardInterrupt
        outcome = ReadOutcome()
        missing: dict[str, list[ReadError]] = {}
        partial: list[tuple[ImageState, dict[str, SnapshotState]]] = []
        for index in sorted(region_found):
            found = _raise_if_exception(region_found[index])
            states, errors, bpa, details = found
            if bpa is not None:
                outcome.block_public_access[regions[index]] = bpa
            partial += [(s, details) for s in states]
            for error in errors:
                missing.setdefault(error.ref.image_id, []).append(error)
        # An explicit ID is not found only if no selected region has it.
        seen = {s.image_id for s, _ in partial}
        for image_id, errors in missing.items():
            if image_id not in seen:
                outcome.errors.append(_merge_not_found(image_id, errors))

        self.progress.start(len(partial), "Reading images")
        full, interrupted = self._map(self._complete_state, partial)
        self.progress.finish()
        if interrupted:
            raise KeyboardInterrupt
        for index, (state, _) in enumerate(partial):
            value = _raise_if_exception(full[index], allow=AwsError)
            if isinstance(value, AwsError):
                outcome.errors.append(ReadError(state.ref, value.code, value.message))
            else:
                outcome.states.append(value)
        outcome.states.sort(key=lambda s: (s.region, s.image_id))
        outcome.errors.sort(key=lambda e: (e.ref.region, e.ref.image_id))
        return outcome

    def _read_region(
        self, region: str, selection: Selection
    ) -> tuple[list[ImageState], list[ReadError], str | None, dict[str, SnapshotState]]:
        states, errors = self.gateway.describe_images(
            region,
            image_ids=selection.image_ids,
            filters=selection.filters,
            owned_only=selection.is_selector,
        )
        snapshot_ids = sorted({s.snapshot_id for st in states for s in st.snapshots})
        details = self.gateway.snapshot_details(region, snapshot_ids)
        bpa = None
        if self.options.read_block_public_access and states:
            try:
                bpa = self.gateway.block_public_access_state(region)
            except AwsError:
                bpa = None  # unknown: EC2 itself will refuse if it is on
        return states, errors, bpa, details

    def _complete_state(self, item: tuple[ImageState, dict[str, SnapshotState]]) -> ImageState:
        state, details = item
        try:
            return self._read_details(state, details, self.options.read_snapshot_permissions)
        finally:
            self.progress.advance()

    def _read_details(
        self, state: ImageState, details: dict[str, SnapshotState], snapshot_permissions: bool
    ) -> ImageState:
        try:
            launch = self.gateway.launch_permissions(state.ref)
            launch = replace(launch, public=state.launch.public or launch.public)
        except AwsError as exc:
            if exc.code != "AuthFailure":
                raise
            # Someone else's (public or shared) image: only its owner may read the
            # permissions (facts §2.1); DescribeImages still told us whether it is public.
            launch = state.launch
        snapshots = []
        for snap in state.snapshots:
            merged = details.get(snap.snapshot_id, snap)
            if snapshot_permissions:
                accounts, public = self.gateway.snapshot_permissions(state.region, snap.snapshot_id)
                merged = replace(merged, accounts=accounts, public=public)
            snapshots.append(merged)
        return replace(state, launch=launch, snapshots=tuple(snapshots))

    def read_one(self, before: ImageState, snapshot_permissions: bool) -> ImageState:
        """Re-read one image (for verification), reusing the snapshots' key details."""
        states, errors = self.gateway.describe_images(before.region, image_ids=[before.image_id])
        if not states:
            error = errors[0] if errors else None
            raise AwsError(
                error.code if error else "InvalidAMIID.NotFound",
                error.message if error else f"{before.image_id} not found",
            )
        details = {s.snapshot_id: s for s in before.snapshots}
        return self._read_details(states[0], details, snapshot_permissions)

    # ------------------------------------------------------------------ run

    def execute(self, plans: Sequence[Plan]) -> RunOutcome:
        """Send every plan's requests (DryRun=True in a dry run) and verify the changes."""
        active = [p for p in plans if p.has_changes]
        self.progress.start(len(active), "Would change" if self.options.dry_run else "Changing")
        outcomes, interrupted = self._map(self._execute_one, list(plans))
        self.progress.finish()
        results = []
        for index, plan in enumerate(plans):
            value = outcomes.get(index)
            if value is None:
                results.append(Result(plan.ref, Status.SKIPPED, plan.before, None, INTERRUPTED))
            else:
                results.append(_raise_if_exception(value))
        return RunOutcome(results, interrupted)

    def _execute_one(self, plan: Plan) -> Result:
        before, warnings = plan.before, plan.warnings
        if plan.refusal is not None:
            return Result(plan.ref, Status.REFUSED, before, None, plan.refusal, warnings)
        if not plan.requests:
            return Result(plan.ref, Status.UNCHANGED, before, None, None, warnings)
        try:
            if self.options.dry_run:
                return self._dry_run(plan)
            return self._apply(plan)
        finally:
            self.progress.advance()

    def _dry_run(self, plan: Plan) -> Result:
        for request in plan.requests:
            try:
                self.gateway.send(request, dry_run=True)
            except AwsError as exc:
                return self._failed(plan, exc, None)
        return Result(plan.ref, Status.WOULD_CHANGE, plan.before, None, None, plan.warnings)

    def _apply(self, plan: Plan) -> Result:
        sent = 0
        for request in plan.requests:
            try:
                self.gateway.send(request)
            except AwsError as exc:
                after = self._best_effort_read(plan) if sent else None
                return self._failed(plan, exc, after)
            sent += 1
        matched, after = self._verify(plan)
        if matched:
            return Result(plan.ref, Status.CHANGED, plan.before, after, None, plan.warnings)
        waited = "" if self._stop.is_set() else f" within {self.options.verify_timeout:g} s"
        error = ErrorInfo(
            "VerificationFailed",
            f"EC2 did not show the requested change{waited}; the last state read is in 'after'"
            + (" (interrupted while waiting)" if self._stop.is_set() else ""),
        )
        return Result(plan.ref, Status.FAILED, plan.before, after, error, plan.warnings)

    def _failed(self, plan: Plan, exc: AwsError, after: ImageState | None) -> Result:
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return Result(
            plan.ref, Status.FAILED, plan.before, after, ErrorInfo(exc.code, message), plan.warnings
        )

    def _snapshot_permissions_expected(self, plan: Plan) -> bool:
        return any(s.permissions_known for s in plan.expected.snapshots)

    def _best_effort_read(self, plan: Plan) -> ImageState | None:
        try:
            return self.read_one(plan.before, self._snapshot_permissions_expected(plan))
        except AwsError:
            return None

    def _verify(self, plan: Plan) -> tuple[bool, ImageState | None]:
        """Re-read until EC2 shows the expected state: exponential backoff with jitter, up to
        the verify timeout, because EC2 reads are eventually consistent (facts §9)."""
        deadline = self._clock() + self.options.verify_timeout
        delay = 0.25
        last: ImageState | None = None
        with_snapshots = self._snapshot_permissions_expected(plan)
        while True:
            try:
                last = self.read_one(plan.before, with_snapshots)
                if verify_matches(plan.expected, last):
                    return True, last
            except AwsError:
                pass  # a fresh change may briefly read as not found; keep trying
            remaining = deadline - self._clock()
            if remaining <= 0 or self._stop.is_set():
                return False, last
            self._sleep(min(remaining, delay * (0.5 + random.random())))
            delay = min(delay * 2, 4.0)


class _NotStarted(Exception):
    """Raised in a worker for an item picked up after Ctrl-C: it is reported as skipped."""


def _raise_if_exception(value: T | BaseException, allow: type[BaseException] | None = None) -> T:
    if isinstance(value, BaseException):
        if allow is not None and isinstance(value, allow):
            return value  # type: ignore[return-value]
        raise value
    return value


def _merge_not_found(image_id: str, errors: Iterable[ReadError]) -> ReadError:
    errors = list(errors)
    if len(errors) == 1:
        return errors[0]
    regions = ", ".join(e.ref.region for e in errors)
    return ReadError(
        ImageRef(image_id, errors[0].ref.region),
        "InvalidAMIID.NotFound",
        f"The image id '{image_id}' does not exist in any selected region ({regions})",
    )


def failed_reads_as_results(errors: Iterable[ReadError]) -> list[Result]:
    """Images that could not be read are per-image failures of a mutating command."""
    return [Result(e.ref, Status.FAILED, None, None, ErrorInfo(e.code, e.message)) for e in errors]
