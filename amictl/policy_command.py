"""`plan FILE`, `apply FILE` and `export` (spec §7): a policy file is many intents.

plan/apply: load the policy (every problem → exit 2, before any call) → select and read the
images of each `[[image]]` entry → one image, one entry (`check_overlaps`) → plan each
entry's images with its Intent → `plan` renders the plan and exits 0 (nothing to do), 4
(changes) or 1 (refused/failed); `apply` goes through the shared confirm → run → verify →
render path (`commands.confirm_and_run`).

export: read the selected images with snapshot permissions → the policy TOML on stdout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import validate
from .commands import (
    DEFAULT_CONCURRENCY,
    Context,
    _connect,
    change_settings,
    confirm_and_run,
    expected_states,
    progress,
    selection_from,
)
from .errors import ExitCode, UsageError
from .model import Command, ImageRef, ImageState, Plan, Result, Status
from .plan import plan_all
from .policy import Policy, PolicyEntry, check_overlaps, export_policy, load_policy
from .render import error, info, warn
from .runner import Runner, RunOptions, Selection, failed_reads_as_results

if TYPE_CHECKING:
    from .cli import ChangeOptions, SelectOptions
    from .ec2 import Boto3Gateway


# ---------------------------------------------------------------- reading the entries' images


@dataclass(frozen=True)
class _Read:
    """One read: every entry in it shares the regions and whether snapshot permissions
    are needed; ID entries are read together, each selector entry on its own."""

    regions: tuple[str, ...]
    snapshots: bool
    entries: tuple[PolicyEntry, ...]

    @property
    def selection(self) -> Selection:
        if self.entries[0].is_selector:
            return Selection(filters=self.entries[0].filters)
        return Selection(image_ids=tuple(e.image_id for e in self.entries if e.image_id))


@dataclass
class PolicyImages:
    """The images each entry selected, by entry index, and what could not be read."""

    states: dict[int, list[ImageState]] = field(default_factory=dict)
    failed: list[Result] = field(default_factory=list)
    block_public_access: dict[str, str] = field(default_factory=dict)


def _regions_by_entry(
    policy: Policy, default: Sequence[str], gateway: Boto3Gateway
) -> dict[int, tuple[str, ...]]:
    """Entry index → its regions: its own, else the command's; `all` asked for once."""
    enabled: list[tuple[str, ...]] = []

    def resolve(regions: tuple[str, ...]) -> tuple[str, ...]:
        if regions != (validate.ALL_REGIONS,):
            return regions
        if not enabled:
            enabled.append(tuple(gateway.enabled_regions()))
        return enabled[0]

    return {e.index: resolve(e.regions or tuple(default)) for e in policy.entries}


def _reads(policy: Policy, regions_of: Mapping[int, tuple[str, ...]]) -> list[_Read]:
    by_ids: dict[tuple[tuple[str, ...], bool], list[PolicyEntry]] = {}
    reads = []
    for entry in policy.entries:
        regions = regions_of[entry.index]
        if entry.is_selector:
            reads.append(_Read(regions, entry.snapshots, (entry,)))
        else:
            by_ids.setdefault((regions, entry.snapshots), []).append(entry)
    reads += [_Read(r, s, tuple(entries)) for (r, s), entries in by_ids.items()]
    return reads


def _static_overlaps(policy: Policy, regions_of: Mapping[int, tuple[str, ...]]) -> None:
    """The same ID in two entries is caught before any image is read."""
    check_overlaps(
        policy,
        {
            e.index: [ImageRef(e.image_id, r) for r in regions_of[e.index]]
            for e in policy.entries
            if e.image_id is not None
        },
    )


def read_policy_images(
    ctx: Context, policy: Policy, concurrency: int, verify_timeout: float = 20.0
) -> tuple[Runner, PolicyImages]:
    """Select and read every entry's images. Raises ConfigFileError (exit 2) when two entries
    select the same image. Returns a runner for the plans (dry run per --dry-run)."""
    need_default = any(not e.regions for e in policy.entries)
    gateway, default = _connect(ctx, concurrency, need_regions=need_default)
    regions_of = _regions_by_entry(policy, default, gateway)
    _static_overlaps(policy, regions_of)

    def runner(snapshots: bool) -> Runner:
        options = RunOptions(
            dry_run=ctx.g.dry_run,
            verify_timeout=verify_timeout,
            concurrency=concurrency,
            read_snapshot_permissions=snapshots,
            read_block_public_access=policy.may_make_public,
        )
        return Runner(gateway, options, progress(ctx))

    images = PolicyImages()
    for read in _reads(policy, regions_of):
        outcome = runner(read.snapshots).read(read.regions, read.selection)
        images.block_public_access.update(outcome.block_public_access)
        images.failed += failed_reads_as_results(outcome.errors)
        owner = {e.image_id: e.index for e in read.entries}
        for entry in read.entries:
            images.states.setdefault(entry.index, [])
        for state in outcome.states:
            index = read.entries[0].index if read.entries[0].is_selector else owner[state.image_id]
            images.states[index].append(state)
        for entry in read.entries:
            if entry.is_selector and not images.states[entry.index]:
                where = ", ".join(read.regions)
                warn(ctx.err, f"{entry.label} matched no image you own in {where}")
    check_overlaps(policy, {i: [s.ref for s in st] for i, st in images.states.items()})
    return runner(False), images


def plan_policy(command: Command, policy: Policy, images: PolicyImages) -> list[Plan]:
    """Each entry's images planned with the entry's intent; sorted by (region, image ID)."""
    plans: list[Plan] = []
    for entry in policy.entries:
        states = images.states.get(entry.index, [])
        plans += plan_all(entry.intent(command), states, images.block_public_access)
    return sorted(plans, key=lambda p: (p.ref.region, p.ref.image_id))


# ---------------------------------------------------------------- plan


def planned_result(plan: Plan) -> Result:
    """What `plan` reports for one image without sending anything."""
    if plan.refusal is not None:
        return Result(plan.ref, Status.REFUSED, plan.before, None, plan.refusal, plan.warnings)
    status = Status.WOULD_CHANGE if plan.has_changes else Status.UNCHANGED
    return Result(plan.ref, status, plan.before, None, None, plan.warnings)


def plan_exit_code(results: Iterable[Result]) -> ExitCode:
    """1 when an image was refused or failed (the policy cannot be applied as it is); else 4
    when something would change; else 0."""
    statuses = {r.status for r in results}
    if any(s.is_problem for s in statuses):
        return ExitCode.PROBLEMS
    if Status.WOULD_CHANGE in statuses:
        return ExitCode.CHANGES_FOUND
    return ExitCode.OK


def _load(ctx: Context, path: Path) -> Policy:
    policy = load_policy(path, ctx.config.accounts)
    if not policy.entries:
        ctx.say(f"{path}: the policy has no [[image]] entries")
    return policy


def run_plan(ctx: Context, path: Path) -> int:
    """`plan FILE`: read-only. With --dry-run, also ask EC2 (DryRun=True) whether each
    change would be permitted, as `apply --dry-run` does."""
    policy = _load(ctx, path)
    concurrency = validate.concurrency(ctx.config.concurrency or DEFAULT_CONCURRENCY)
    runner, images = read_policy_images(ctx, policy, concurrency)
    plans = plan_policy(Command.PLAN, policy, images)
    if ctx.g.dry_run:
        results = runner.execute(plans).results + images.failed
    else:
        results = [planned_result(p) for p in plans] + images.failed
    ctx.renderer.results(Command.PLAN, ctx.g.dry_run, results, expected=expected_states(plans))
    return int(plan_exit_code(results))


# ---------------------------------------------------------------- apply


def run_apply(ctx: Context, chg: ChangeOptions, path: Path) -> int:
    """`apply FILE`: the plan, then the confirmation every apply asks (typed `yes` when an
    image would get IMDSv2), then run and verify."""
    policy = _load(ctx, path)
    verify_timeout, concurrency = change_settings(ctx, chg)
    runner, images = read_policy_images(ctx, policy, concurrency, verify_timeout)
    plans = plan_policy(Command.APPLY, policy, images)
    return confirm_and_run(ctx, Command.APPLY, runner, plans, images.failed, from_selector=False)


# ---------------------------------------------------------------- export


def run_export(ctx: Context, sel: SelectOptions, ids: Sequence[str]) -> int:
    """`export [AMI...|--filter|--tag|--all]`: the policy TOML on stdout; unreadable images
    are errors on stderr (exit 1) and left out of the file."""
    if ctx.g.output is not None:
        raise UsageError(
            f"export writes a policy file (TOML); -o {ctx.g.output.value} does not apply",
            "for the images' state as JSON, use amictl show ... -o json",
        )
    selection = selection_from(ids, sel)
    if selection.is_empty:
        raise UsageError("no images given", "give AMI IDs, or select with --filter, --tag or --all")
    concurrency = validate.concurrency(ctx.config.concurrency or DEFAULT_CONCURRENCY)
    gateway, regions = _connect(ctx, concurrency)
    options = RunOptions(
        concurrency=concurrency, read_snapshot_permissions=True, read_block_public_access=False
    )
    read = Runner(gateway, options, progress(ctx)).read(regions, selection)
    ctx.out.file.write(export_policy(read.states))
    ctx.out.file.flush()
    for e in read.errors:
        error(ctx.err, f"{e.ref.image_id} ({e.ref.region}): {e.code}: {e.message}")
    count = len(read.states)
    info(ctx.err, f"exported {count} image{'' if count == 1 else 's'}")
    return int(ExitCode.PROBLEMS if read.errors else ExitCode.OK)
