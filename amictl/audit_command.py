"""The `audit` flow (DESIGN.md: read + pure rules, no plan):

select every owned image (narrowed by --filter/--tag) → read with snapshot permissions →
`audit.audit_all` with the config's trust lists → render → exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import validate
from .audit import Finding, Severity, audit_all, fail_on_exit
from .audit_render import audit_renderer_for
from .commands import DEFAULT_CONCURRENCY, Context, _connect, progress, selection_from
from .errors import ExitCode
from .runner import Runner, RunOptions, Selection

if TYPE_CHECKING:
    from .cli import SelectOptions


def audit_selection(sel: SelectOptions) -> Selection:
    """Every image the caller owns; --filter/--tag narrow it (--all is the default)."""
    selection = selection_from([], sel)
    return Selection(filters=selection.filters, all_owned=not selection.filters)


def run_audit(ctx: Context, sel: SelectOptions, fail_on: Severity | None) -> int:
    """Read, audit, render; the exit code is `audit_exit_code`'s."""
    selection = audit_selection(sel)
    concurrency = validate.concurrency(ctx.config.concurrency or DEFAULT_CONCURRENCY)
    gateway, regions = _connect(ctx, concurrency)
    options = RunOptions(
        concurrency=concurrency,
        read_snapshot_permissions=True,
        read_block_public_access=False,
    )
    runner = Runner(gateway, options, progress(ctx))
    read = runner.read(regions, selection)
    findings = audit_all(read.states, ctx.config.trusted_accounts, ctx.config.trusted_organizations)
    renderer = audit_renderer_for(ctx.output, ctx.out, ctx.err)
    renderer.audit(findings, len(read.states), read.errors)
    return int(audit_exit_code(findings, fail_on, unread=bool(read.errors)))


def audit_exit_code(
    findings: Sequence[Finding], fail_on: Severity | None, unread: bool
) -> ExitCode:
    """4 when a finding is at or above `fail_on` (None: never); else 1 when some image could
    not be read (the audit is incomplete); else 0."""
    if fail_on_exit(findings, fail_on):
        return ExitCode.CHANGES_FOUND
    if unread:
        return ExitCode.PROBLEMS
    return ExitCode.OK
