"""The Typer app: options, prompts and exit codes. Commands are signatures plus one call.

Global options come after the subcommand (AWS CLI style), so every command gets them
appended to its signature by `_command`. boto3 is imported only inside `_connect`, so
`--help`, `--version` and usage errors never pay for it.
"""

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from . import __version__
from .errors import AmictlError, ExitCode, UsageError
from .model import Command, Intent, LaunchTargets

if TYPE_CHECKING:
    from .commands import Context

app = typer.Typer(
    name="amictl",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,  # never show locals (keys, tokens) in CI logs
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


class OutputChoice(str, Enum):
    table = "table"
    json = "json"
    text = "text"


# ---------------------------------------------------------------------- options


@dataclass(frozen=True)
class GlobalOptions:
    regions: list[str]
    profile: str | None
    endpoint_url: str | None
    output: OutputChoice | None
    dry_run: bool
    yes: bool
    config: Path | None
    quiet: bool
    debug: bool
    no_color: bool


@dataclass(frozen=True)
class SelectOptions:
    filters: list[str]
    tags: list[str]
    all_images: bool


@dataclass(frozen=True)
class ChangeOptions:
    verify_timeout: float | None  # None: config, else 20 s
    concurrency: int | None  # None: config, else 16


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


_GLOBAL_PARAMS = [
    _param(
        "region",
        Annotated[
            Optional[list[str]],  # noqa: UP045 - Typer needs Optional at runtime on 3.10
            typer.Option(
                "--region",
                metavar="REGION",
                help="Region(s) to act in; repeatable or comma-separated; 'all' = every "
                "enabled region. Default: AWS_REGION, AWS_DEFAULT_REGION, config, profile.",
                show_default=False,
            ),
        ],
        None,
    ),
    _param(
        "profile",
        Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(metavar="NAME", help="Named AWS profile (AWS_PROFILE)."),
        ],
        None,
    ),
    _param(
        "endpoint_url",
        Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(
                "--endpoint-url",
                metavar="URL",
                help="Endpoint for every AWS service amictl calls (AWS_ENDPOINT_URL).",
            ),
        ],
        None,
    ),
    _param(
        "output",
        Annotated[
            Optional[OutputChoice],  # noqa: UP045
            typer.Option("--output", "-o", help="table, json or text (default: table)."),
        ],
        None,
    ),
    _param(
        "dry_run",
        Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Change nothing, never prompt; ask EC2 whether each change is permitted.",
            ),
        ],
        False,
    ),
    _param(
        "yes",
        Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to every confirmation.")],
        False,
    ),
    _param(
        "config",
        Annotated[
            Optional[Path],  # noqa: UP045
            typer.Option(
                "--config",
                metavar="FILE",
                help="Config file (AMICTL_CONFIG, ./amictl.toml, user config dir).",
                dir_okay=False,
            ),
        ],
        None,
    ),
    _param(
        "quiet",
        Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors.")],
        False,
    ),
    _param(
        "debug",
        Annotated[
            bool, typer.Option("--debug", help="Log AWS calls (secrets redacted), tracebacks.")
        ],
        False,
    ),
    _param(
        "no_color",
        Annotated[bool, typer.Option("--no-color", help="No colour (NO_COLOR is honoured).")],
        False,
    ),
]

_SELECT_PARAMS = [
    _param(
        "filter_",
        Annotated[
            Optional[list[str]],  # noqa: UP045
            typer.Option(
                "--filter",
                metavar="NAME=VALUE[,VALUE]",
                help="DescribeImages filter Name=VALUE[,VALUE] (repeatable); owned images only.",
                show_default=False,
            ),
        ],
        None,
    ),
    _param(
        "tag",
        Annotated[
            Optional[list[str]],  # noqa: UP045
            typer.Option(
                metavar="KEY=VALUE",
                help="Shorthand for --filter tag:KEY=VALUE (repeatable).",
                show_default=False,
            ),
        ],
        None,
    ),
    _param(
        "all_images",
        Annotated[
            bool, typer.Option("--all", help="Every image you own in the selected region(s).")
        ],
        False,
    ),
]

_CHANGE_PARAMS = [
    _param(
        "verify_timeout",
        Annotated[
            Optional[float],  # noqa: UP045
            typer.Option(
                "--verify-timeout",
                metavar="SECONDS",
                help="Seconds to wait for EC2 to show a change (eventual consistency); default 20.",
                show_default=False,
            ),
        ],
        None,
    ),
    _param(
        "concurrency",
        Annotated[
            Optional[int],  # noqa: UP045
            typer.Option(
                "--concurrency",
                metavar="N",
                help="Images worked on at once (1-64); default 16.",
                show_default=False,
            ),
        ],
        None,
    ),
]


def _command(
    name: str,
    *,
    aliases: Sequence[str] = (),
    select: bool = True,
    change: bool = True,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command whose signature gains the global (and selection/change) options.

    The wrapped function receives them bundled as `g`, `sel` and `chg`."""

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        own = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.name not in ("g", "sel", "chg")
        ]
        extra = (
            _GLOBAL_PARAMS + (_SELECT_PARAMS if select else []) + (_CHANGE_PARAMS if change else [])
        )

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> None:
            g = GlobalOptions(
                regions=kwargs.pop("region") or [],
                profile=kwargs.pop("profile"),
                endpoint_url=kwargs.pop("endpoint_url"),
                output=kwargs.pop("output"),
                dry_run=kwargs.pop("dry_run"),
                yes=kwargs.pop("yes"),
                config=kwargs.pop("config"),
                quiet=kwargs.pop("quiet"),
                debug=kwargs.pop("debug"),
                no_color=kwargs.pop("no_color"),
            )
            if select:
                kwargs["sel"] = SelectOptions(
                    filters=kwargs.pop("filter_") or [],
                    tags=kwargs.pop("tag") or [],
                    all_images=kwargs.pop("all_images"),
                )
            if change:
                kwargs["chg"] = ChangeOptions(
                    verify_timeout=kwargs.pop("verify_timeout"),
                    concurrency=kwargs.pop("concurrency"),
                )
            func(g=g, **kwargs)

        params = own + extra
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name)(wrapper)
        for alias in aliases:
            app.command(alias, hidden=True, help=f"Alias of `{name}`.")(wrapper)
        return func

    return decorate


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"amictl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Manage who may launch an EC2 machine image (AMI) and how it behaves.

    Share and unshare with accounts, organizations and OUs, make public or private,
    set the description, and enforce IMDSv2 - with before/after tables, dry runs,
    confirmations for risky changes, and JSON plus exit codes for CI.
    """


# ---------------------------------------------------------------------- commands

_IDS = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Argument(
        help="AMI IDs (ami-...). Or select with --filter/--tag/--all.",
        metavar="[AMI_ID]...",
        show_default=False,
    ),
]
_ACCOUNTS = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--account",
        metavar="ID|ALIAS",
        help="Account ID or config alias; repeatable and comma-separated.",
        show_default=False,
    ),
]
_ORGS = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--org", metavar="ARN", help="Organization ARN (repeatable).", show_default=False),
]
_OUS = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--ou", metavar="ARN", help="Organizational unit ARN (repeatable).", show_default=False
    ),
]
_WITH_SNAPSHOTS = Annotated[
    Optional[bool],  # noqa: UP045
    typer.Option(
        "--with-snapshots/--without-snapshots",
        help="Also add/remove createVolumePermission on the image's EBS snapshots so the "
        "accounts can copy it (config: with_snapshots).",
        show_default=False,
    ),
]


@_command("show", aliases=["status"], change=False)
def show(
    ami_ids: _IDS = None,
    snapshots: Annotated[
        bool,
        typer.Option("--snapshots", help="Also read the snapshots' createVolumePermission."),
    ] = False,
    *,
    g: GlobalOptions,
    sel: SelectOptions,
) -> None:
    """Show images' launch permissions, description, IMDS support and snapshots (alias: status)."""
    from .commands import run_show

    _run(g, lambda ctx: run_show(ctx, sel, ami_ids or [], snapshots))


class FailOnChoice(str, Enum):
    high = "high"
    medium = "medium"
    low = "low"
    never = "never"


@_command("audit", change=False)
def audit(
    fail_on: Annotated[
        FailOnChoice,
        typer.Option(
            "--fail-on",
            help="Exit 4 when a finding is at or above this severity (never: always 0).",
        ),
    ] = FailOnChoice.high,
    *,
    g: GlobalOptions,
    sel: SelectOptions,
) -> None:
    """Report risky sharing and settings on every image you own: public images and
    snapshots, shares outside the [audit] trust lists, the AWS managed key, snapshots not
    shared, IMDSv2 not enforced. Each finding has a severity and a one-line fix.
    Reads only; --filter/--tag narrow the images."""
    from .audit import parse_fail_on
    from .audit_command import run_audit

    _run(g, lambda ctx: run_audit(ctx, sel, parse_fail_on(fail_on.value)))


@_command("share")
def share(
    ami_ids: _IDS = None,
    account: _ACCOUNTS = None,
    org: _ORGS = None,
    ou: _OUS = None,
    with_snapshots: _WITH_SNAPSHOTS = None,
    *,
    g: GlobalOptions,
    sel: SelectOptions,
    chg: ChangeOptions,
) -> None:
    """Let accounts, organizations or OUs launch the images (LaunchPermission.Add)."""
    from .commands import launch_targets, run_change

    def go(ctx: "Context") -> int:
        targets = launch_targets(ctx, account, org, ou)
        if targets.is_empty:
            raise UsageError("nothing to share with", "give --account, --org or --ou")
        intent = Intent(Command.SHARE, add=targets)
        return run_change(ctx, sel, chg, ami_ids or [], intent, with_snapshots)

    _run(g, go)


@_command("unshare")
def unshare(
    ami_ids: _IDS = None,
    account: _ACCOUNTS = None,
    org: _ORGS = None,
    ou: _OUS = None,
    all_shares: Annotated[
        bool,
        typer.Option(
            "--all-shares",
            help="Remove every account, organization and OU (public access is make-private's).",
        ),
    ] = False,
    with_snapshots: _WITH_SNAPSHOTS = None,
    *,
    g: GlobalOptions,
    sel: SelectOptions,
    chg: ChangeOptions,
) -> None:
    """Stop accounts, organizations or OUs launching the images (LaunchPermission.Remove)."""
    from .commands import launch_targets, run_change

    def go(ctx: "Context") -> int:
        targets = launch_targets(ctx, account, org, ou)
        if targets.is_empty and not all_shares:
            raise UsageError("nothing to unshare", "give --account, --org, --ou or --all-shares")
        if all_shares and not targets.is_empty:
            raise UsageError("--all-shares removes every share: give it alone, without targets")
        intent = Intent(Command.UNSHARE, remove=targets, remove_all_shares=all_shares)
        return run_change(ctx, sel, chg, ami_ids or [], intent, with_snapshots)

    _run(g, go)


@_command("make-public")
def make_public(
    ami_ids: _IDS = None, *, g: GlobalOptions, sel: SelectOptions, chg: ChangeOptions
) -> None:
    """Let every AWS account launch the images (Group=all). Asks first; refused for images
    with a Marketplace product code or an encrypted snapshot, or under block public access."""
    from .commands import run_change

    intent = Intent(Command.MAKE_PUBLIC, add=LaunchTargets(public=True))
    _run(g, lambda ctx: run_change(ctx, sel, chg, ami_ids or [], intent))


@_command("make-private")
def make_private(
    ami_ids: _IDS = None, *, g: GlobalOptions, sel: SelectOptions, chg: ChangeOptions
) -> None:
    """Remove public launch permission (Group=all); explicit shares stay."""
    from .commands import run_change

    intent = Intent(Command.MAKE_PRIVATE, remove=LaunchTargets(public=True))
    _run(g, lambda ctx: run_change(ctx, sel, chg, ami_ids or [], intent))


@_command("reset")
def reset(
    ami_ids: _IDS = None, *, g: GlobalOptions, sel: SelectOptions, chg: ChangeOptions
) -> None:
    """Remove every share and public access (ResetImageAttribute launchPermission). Asks first."""
    from .commands import run_change

    intent = Intent(Command.RESET, reset=True)
    _run(g, lambda ctx: run_change(ctx, sel, chg, ami_ids or [], intent))


@_command("set-description")
def set_description(
    args: Annotated[
        list[str],
        typer.Argument(
            help="[AMI_ID...] TEXT: the last argument is the new description.",
            metavar="[AMI_ID...] TEXT",
        ),
    ],
    *,
    g: GlobalOptions,
    sel: SelectOptions,
    chg: ChangeOptions,
) -> None:
    """Set the images' description (Description.Value)."""
    from .commands import run_change
    from .validate import description

    def go(ctx: "Context") -> int:
        *ids, text = args
        intent = Intent(Command.SET_DESCRIPTION, description=description(text))
        return run_change(ctx, sel, chg, ids, intent)

    _run(g, go)


@_command("enforce-imdsv2", aliases=["imdsv2"])
def enforce_imdsv2(
    ami_ids: _IDS = None, *, g: GlobalOptions, sel: SelectOptions, chg: ChangeOptions
) -> None:
    """Make instances launched from the images require IMDSv2 (ImdsSupport=v2.0).

    IRREVERSIBLE: asks for the typed word 'yes'. With --dry-run and no images given,
    lists every image you own that would change (alias: imdsv2)."""
    from .commands import run_change

    intent = Intent(Command.ENFORCE_IMDSV2, enforce_imdsv2=True)
    _run(g, lambda ctx: run_change(ctx, sel, chg, ami_ids or [], intent))


_POLICY_FILE = Annotated[
    Path,
    typer.Argument(
        help="Policy file (TOML): [accounts] aliases and [[image]] entries.",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]


@_command("plan", select=False, change=False)
def plan(file: _POLICY_FILE, *, g: GlobalOptions) -> None:
    """Show what `apply FILE` would change, image by image; changes nothing.

    Exit 0: nothing to do; 4: changes to make; 1: an image is refused or cannot be read;
    2: the file is invalid. With --dry-run, also ask EC2 whether each change is permitted."""
    from .policy_command import run_plan

    _run(g, lambda ctx: run_plan(ctx, file))


@_command("apply", select=False)
def apply(file: _POLICY_FILE, *, g: GlobalOptions, chg: ChangeOptions) -> None:
    """Make the images match the policy file: shows the plan, asks (a typed 'yes' when an
    image would get IMDSv2, which is irreversible), applies, and verifies.

    An attribute an entry lists is authoritative (an exact set); one it omits is left alone."""
    from .policy_command import run_apply

    _run(g, lambda ctx: run_apply(ctx, chg, file))


@_command("export", change=False)
def export(ami_ids: _IDS = None, *, g: GlobalOptions, sel: SelectOptions) -> None:
    """Write the images' current state as a policy file (TOML) on stdout: every attribute,
    so `amictl export --all > p.toml && amictl plan p.toml` finds nothing to change."""
    from .policy_command import run_export

    _run(g, lambda ctx: run_export(ctx, sel, ami_ids or []))


@app.command("sandbox")
def sandbox(
    port: Annotated[int, typer.Option(metavar="PORT", help="Port on 127.0.0.1.")] = 5000,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="Create demo images.")] = True,
    latency: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds of latency added to every request.")
    ] = 0.0,
) -> None:
    """Run a local EC2 emulator on 127.0.0.1 with demo images (needs the 'sandbox' extra)."""
    try:
        from .sandbox import serve
    except ImportError as exc:
        _fail(
            UsageError(
                f"the sandbox needs moto: {exc.msg}",
                "pip install 'amictl[sandbox]'",
            ),
            debug=False,
        )
    serve(port=port, seed=seed, latency=latency)


# ---------------------------------------------------------------------- running


def _run(g: GlobalOptions, work: Callable[["Context"], int]) -> NoReturn:
    """Run a command body; turn amictl errors into one line and an exit code."""
    from .commands import Context

    try:
        code = work(Context.create(g))
    except AmictlError as exc:
        _fail(exc, g.debug)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted: nothing was changed.\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    raise typer.Exit(int(code or 0))


def _fail(exc: AmictlError, debug: bool) -> NoReturn:
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    message = f"amictl: error: {exc.message}"
    if exc.hint:
        message += f"\n  hint: {exc.hint}"
    sys.stderr.write(message + "\n")
    raise typer.Exit(int(exc.exit_code)) from None


def main() -> None:
    app()
