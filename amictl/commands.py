"""The flow every command follows (DESIGN.md), between the Typer layer and the core:

validate input → select and read images → plan → confirm → run → verify → render → exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from . import validate
from .config import Config, load_config
from .confirm import ConfirmationNeeded, confirm_plans
from .errors import ExitCode, UsageError
from .model import (
    Command,
    ErrorInfo,
    ImageRef,
    ImageState,
    Intent,
    LaunchTargets,
    Plan,
    Result,
    Status,
)
from .plan import plan_all
from .render import OutputFormat, error, info, make_consoles, renderer_for
from .runner import ProgressListener, Runner, RunOptions, Selection, failed_reads_as_results

T = TypeVar("T")
DEFAULT_VERIFY_TIMEOUT = 20.0
DEFAULT_CONCURRENCY = 16

if TYPE_CHECKING:
    from rich.console import Console

    from .cli import ChangeOptions, GlobalOptions, SelectOptions
    from .ec2 import Boto3Gateway
    from .render import Renderer


@dataclass(frozen=True)
class Context:
    """Everything a command needs that comes from flags, environment and config."""

    g: GlobalOptions
    config: Config
    output: OutputFormat
    out: Console
    err: Console
    renderer: Renderer

    @classmethod
    def create(cls, g: GlobalOptions) -> Context:
        config = load_config(g.config)
        output = OutputFormat(g.output.value if g.output else (config.output or "table"))
        out, err = make_consoles(no_color=g.no_color, quiet=g.quiet)
        return cls(g, config, output, out, err, renderer_for(output, out, err))

    def say(self, text: str) -> None:
        """A human message on stderr (suppressed by --quiet)."""
        info(self.err, text)


def launch_targets(
    ctx: Context,
    accounts: Sequence[str] | None,
    orgs: Sequence[str] | None,
    ous: Sequence[str] | None,
) -> LaunchTargets:
    return LaunchTargets.of(
        validate.account_ids(accounts or [], ctx.config.accounts),
        validate.organization_arns(orgs or []),
        validate.organizational_unit_arns(ous or []),
    )


def selection_from(ids: Sequence[str], sel: SelectOptions) -> Selection:
    image_ids = tuple(dict.fromkeys(validate.ami_id(i) for i in ids))
    filters = tuple(validate.image_filter(f) for f in sel.filters) + tuple(
        validate.tag(t) for t in sel.tags
    )
    selection = Selection(image_ids, filters, sel.all_images)
    if image_ids and selection.is_selector:
        raise UsageError(
            "give image IDs or a selector (--filter, --tag, --all), not both",
            "to narrow a selector to some images, use --filter image-id=ami-...",
        )
    return selection


def _connect(
    ctx: Context, concurrency: int = 16, need_regions: bool = True
) -> tuple[Boto3Gateway, list[str]]:
    """Build the boto3 gateway (the first boto3 import) and resolve the regions. With
    `need_regions=False` (every policy entry names its regions) no region found is `[]`."""
    regions = validate.regions(ctx.g.regions)
    if ctx.g.endpoint_url:
        validate.endpoint_url(ctx.g.endpoint_url)
    from .ec2 import Boto3Gateway, ClientSettings, enable_debug_logging

    profile = ctx.g.profile or os.environ.get("AWS_PROFILE") or ctx.config.profile
    gateway = Boto3Gateway(
        ClientSettings(
            profile=profile,
            endpoint_url=ctx.g.endpoint_url,
            max_pool_connections=max(10, concurrency * 2),
        )
    )
    if ctx.g.debug:
        enable_debug_logging(gateway)
    if not regions:
        env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if env:
            regions = validate.regions([env])
        elif ctx.config.regions:
            regions = list(ctx.config.regions)
        elif gateway.default_region:
            regions = [gateway.default_region]
        elif not need_regions:
            return gateway, []
        else:
            raise UsageError(
                "no region given", "pass --region, set AWS_REGION, or add region to the config"
            )
    if regions == ["all"]:
        regions = gateway.enabled_regions()
    return gateway, regions


# ---------------------------------------------------------------------- show


def run_show(ctx: Context, sel: SelectOptions, ids: Sequence[str], snapshots: bool) -> int:
    selection = selection_from(ids, sel)
    if selection.is_empty:
        raise UsageError("no images given", "give AMI IDs, or select with --filter/--tag/--all")
    gateway, regions = _connect(ctx)
    runner = Runner(gateway, RunOptions(read_snapshot_permissions=snapshots), progress(ctx))
    read = runner.read(regions, selection)
    ctx.renderer.show(read.states, read.errors, read.block_public_access)
    return int(ExitCode.PROBLEMS if read.errors else ExitCode.OK)


# ---------------------------------------------------------------------- changes


def run_change(
    ctx: Context,
    sel: SelectOptions,
    chg: ChangeOptions,
    ids: Sequence[str],
    intent: Intent,
    with_snapshots: bool | None = None,
) -> int:
    g = ctx.g
    selection = selection_from(ids, sel)
    verify_timeout, concurrency = change_settings(ctx, chg)
    if selection.is_empty:
        if intent.command is Command.ENFORCE_IMDSV2 and g.dry_run:
            selection = Selection(all_owned=True)  # `amictl imdsv2 --dry-run` lists the fleet
        else:
            raise UsageError(
                "no images given", "give AMI IDs, or select with --filter, --tag or --all"
            )
    if intent.command in (Command.SHARE, Command.UNSHARE):
        snapshots = ctx.config.with_snapshots if with_snapshots is None else with_snapshots
        intent = replace(intent, with_snapshots=snapshots)

    gateway, regions = _connect(ctx, concurrency)
    options = RunOptions(
        dry_run=g.dry_run,
        verify_timeout=verify_timeout,
        concurrency=concurrency,
        read_snapshot_permissions=intent.with_snapshots,
        read_block_public_access=intent.add.public,
    )
    runner = Runner(gateway, options, progress(ctx))
    read = runner.read(regions, selection)
    plans = plan_all(intent, read.states, read.block_public_access)
    failed_reads = failed_reads_as_results(read.errors)
    return confirm_and_run(ctx, intent.command, runner, plans, failed_reads, selection.is_selector)


def change_settings(ctx: Context, chg: ChangeOptions) -> tuple[float, int]:
    """(verify timeout, concurrency): flags win over the config file, which wins over the
    built-in defaults."""
    verify_timeout = validate.verify_timeout(
        _first(chg.verify_timeout, ctx.config.verify_timeout, DEFAULT_VERIFY_TIMEOUT)
    )
    concurrency = validate.concurrency(
        _first(chg.concurrency, ctx.config.concurrency, DEFAULT_CONCURRENCY)
    )
    return verify_timeout, concurrency


def confirm_and_run(
    ctx: Context,
    command: Command,
    runner: Runner,
    plans: Sequence[Plan],
    failed_reads: Sequence[Result],
    from_selector: bool,
) -> int:
    """The end of every mutating flow: confirm (unless a dry run), send and verify through
    `runner`, render, and return the exit code. `plans` may come from several intents (a
    policy file); `command` is what the prompt and the JSON name."""
    g = ctx.g
    if not g.dry_run:
        try:
            confirm_plans(ctx, command, plans, from_selector)
        except ConfirmationNeeded as exc:
            results = [
                Result(p.ref, Status.SKIPPED, p.before, None, ErrorInfo(exc.code, exc.message))
                for p in plans
            ] + list(failed_reads)
            ctx.renderer.results(command, g.dry_run, results, expected=expected_states(plans))
            error(ctx.err, exc.message)
            return int(ExitCode.NOT_CONFIRMED)

    outcome = runner.execute(plans)
    results = outcome.results + list(failed_reads)
    ctx.renderer.results(command, g.dry_run, results, expected=expected_states(plans))
    if outcome.interrupted:
        error(ctx.err, "interrupted: images not yet started were skipped")
        return int(ExitCode.INTERRUPTED)
    return int(exit_code_for(results))


def expected_states(plans: Sequence[Plan]) -> dict[ImageRef, ImageState]:
    return {p.ref: p.expected for p in plans if p.has_changes}


def exit_code_for(results: Sequence[Result]) -> ExitCode:
    if any(r.status.is_problem for r in results):
        return ExitCode.PROBLEMS
    return ExitCode.OK


def progress(ctx: Context) -> ProgressListener | None:
    from .progress import progress_for

    return progress_for(ctx.err, enabled=not ctx.g.quiet and sys.stderr.isatty())


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")
