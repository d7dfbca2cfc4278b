"""Output: the JSON documents (a contract, spec §6), Rich tables for people, plain text for pipes.

Results go to the stdout console; messages, warnings, errors and summaries go to the stderr
console. Every string that came from AWS or the user is printed as a `Text` (never parsed as
markup or emoji) after escaping control characters, so `[red]x[/red]` or an ANSI escape in a
description prints literally. This module decides nothing: it only formats what it is given.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from amictl.model import (
    Command,
    ErrorInfo,
    ImageRef,
    ImageState,
    ProductCode,
    ReadError,
    Result,
    SnapshotState,
    Status,
)

JsonDict = dict[str, Any]

# Width of the stdout console when it is not a terminal, so table lines do not wrap in pipes.
PIPE_WIDTH = 200

_NO_BPA: Mapping[str, str] = MappingProxyType({})
_NOTHING = "-"


class OutputFormat(str, enum.Enum):
    """`-o/--output` values (spec §2)."""

    TABLE = "table"
    JSON = "json"
    TEXT = "text"


# ---------------------------------------------------------------- JSON documents (spec §6)


def product_code_json(code: ProductCode) -> JsonDict:
    return {"id": code.id, "type": code.type}


def snapshot_json(snapshot: SnapshotState) -> JsonDict:
    accounts = None if snapshot.accounts is None else sorted(snapshot.accounts)
    return {
        "snapshot_id": snapshot.snapshot_id,
        "encrypted": snapshot.encrypted,
        "kms_key_id": snapshot.kms_key_id,
        "accounts": accounts,
        "public": snapshot.public,
    }


def _sorted_snapshots(snapshots: Iterable[SnapshotState]) -> list[SnapshotState]:
    return sorted(snapshots, key=lambda s: s.snapshot_id)


def image_state_json(state: ImageState) -> JsonDict:
    """The spec §6 image state, keys in the spec's order, lists sorted."""
    launch = state.launch
    return {
        "image_id": state.image_id,
        "region": state.region,
        "name": state.name,
        "owner_id": state.owner_id,
        "state": state.state,
        "public": launch.public,
        "accounts": sorted(launch.accounts),
        "organizations": sorted(launch.organizations),
        "organizational_units": sorted(launch.organizational_units),
        "description": state.description,
        "imds_support": state.imds_support,
        "product_codes": [product_code_json(c) for c in sorted(state.product_codes)],
        "snapshots": [snapshot_json(s) for s in _sorted_snapshots(state.snapshots)],
    }


def error_json(error: ErrorInfo | None) -> JsonDict | None:
    return None if error is None else {"code": error.code, "message": error.message}


def _state_or_null(state: ImageState | None) -> JsonDict | None:
    return None if state is None else image_state_json(state)


def result_json(result: Result, dry_run: bool) -> JsonDict:
    """One entry of `results`; `after` is always null in a dry run (spec §6)."""
    return {
        "image_id": result.ref.image_id,
        "region": result.ref.region,
        "status": result.status.value,
        "before": _state_or_null(result.before),
        "after": None if dry_run else _state_or_null(result.after),
        "error": error_json(result.error),
    }


def command_name(command: Command | str) -> str:
    return command.value if isinstance(command, Command) else command


def results_json(command: Command | str, dry_run: bool, results: Sequence[Result]) -> JsonDict:
    """The document every mutating command (and `plan`) prints with `-o json`."""
    return {
        "command": command_name(command),
        "dry_run": dry_run,
        "results": [result_json(r, dry_run) for r in results],
    }


def read_error_json(error: ReadError) -> JsonDict:
    return {
        "image_id": error.ref.image_id,
        "region": error.ref.region,
        "code": error.code,
        "message": error.message,
    }


def show_json(states: Sequence[ImageState], errors: Sequence[ReadError]) -> JsonDict:
    """`show -o json`: `{"images": [...], "errors": [...]}`."""
    return {
        "images": [image_state_json(s) for s in states],
        "errors": [read_error_json(e) for e in errors],
    }


def dumps(doc: Mapping[str, Any]) -> str:
    """The exact bytes `-o json` writes: 2-space indent, key order kept, trailing newline."""
    return json.dumps(doc, indent=2) + "\n"


# ---------------------------------------------------------------- text hygiene

# Bidirectional overrides and isolates: they can make a terminal show text in another order.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in "\t\n\r":
        return repr(char)[1:-1]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: str) -> str:
    """`value` with control characters (C0, DEL, C1, bidi overrides) shown as escapes.

    Keeps a hostile description from moving the cursor, recolouring the terminal or
    breaking the one-line-per-image text format.
    """
    return "".join(
        _escape_char(c) if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in _BIDI_CONTROLS else c
        for c in value
    )


def plain(value: str, style: str = "") -> Text:
    """Untrusted text as a Rich renderable: no markup, no emoji, control characters escaped."""
    return Text(clean(value), style=style)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _ref_label(ref: ImageRef) -> str:
    return f"{ref.image_id} ({ref.region})"


# ---------------------------------------------------------------- consoles and messages


class MessageConsole(Console):
    """The stderr console; `quiet_info` silences `info()` (warnings and errors still print)."""

    def __init__(self, *, quiet_info: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quiet_info = quiet_info


def make_consoles(no_color: bool = False, quiet: bool = False) -> tuple[Console, Console]:
    """(stdout, stderr) consoles.

    Colour only on a terminal; `NO_COLOR` (read by Rich) or `no_color` turn it off. When stdout is
    not a terminal, tables use a fixed wide width and an ASCII box (see `table_box`).
    """
    color_off = True if no_color else None  # None: let Rich read NO_COLOR
    common: dict[str, Any] = {"no_color": color_off, "highlight": False, "emoji": False}
    out = Console(**common)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    err = MessageConsole(stderr=True, soft_wrap=True, quiet_info=quiet, **common)
    return out, err


def is_quiet(err: Console) -> bool:
    return isinstance(err, MessageConsole) and err.quiet_info


def info(err: Console, text: str) -> None:
    """A human message on stderr; silenced by `--quiet`."""
    if not is_quiet(err):
        err.print(plain(text))


def warn(err: Console, text: str) -> None:
    """A warning on stderr, prefixed `warning:` (so it reads without colour); always shown."""
    err.print(Text.assemble(("warning: ", "bold yellow"), plain(text)))


def error(err: Console, text: str, hint: str | None = None) -> None:
    """An error on stderr, prefixed `error:`, with an optional `hint:` line; always shown."""
    err.print(Text.assemble(("error: ", "bold red"), plain(text)))
    if hint:
        err.print(Text.assemble(("hint: ", "bold"), plain(hint)))


def _write(console: Console, text: str) -> None:
    """Raw text, no Rich processing at all (JSON, tab-separated lines: tabs must stay tabs)."""
    console.file.write(text)
    console.file.flush()


def _write_line(console: Console, fields: Iterable[str]) -> None:
    _write(console, "\t".join(clean(f) for f in fields) + "\n")


# ---------------------------------------------------------------- summary


def status_label(status: Status) -> str:
    return status.value.replace("-", " ")


def summary_line(results: Sequence[Result], dry_run: bool = False) -> str:
    """`3 changed, 1 unchanged, 1 refused`: non-zero counts in `Status` order."""
    counts = Counter(r.status for r in results)
    parts = [f"{counts[s]} {status_label(s)}" for s in Status if counts[s]]
    if not parts:
        return "no images (dry run)" if dry_run else "no images"
    return ", ".join(parts)


# ---------------------------------------------------------------- table cells

# Like box.SIMPLE (a rule under the header only), in ASCII: quiet when piped or logged.
PLAIN_BOX = box.Box(
    "    \n    \n -- \n    \n    \n -- \n    \n    \n",
    ascii=True,
)

_STATUS_STYLE = {
    Status.CHANGED: "bold green",
    Status.UNCHANGED: "dim",
    Status.WOULD_CHANGE: "bold cyan",
    Status.REFUSED: "bold yellow",
    Status.FAILED: "bold red",
    Status.SKIPPED: "bold magenta",
}


def table_box(console: Console) -> box.Box:
    return box.ROUNDED if console.is_terminal else PLAIN_BOX


def arrow(console: Console) -> str:
    return "→" if console.encoding.lower().startswith("utf") else "->"


def _lines(lines: Sequence[Text]) -> Text:
    return Text("\n").join(lines) if lines else Text(_NOTHING, style="dim")


def _list_cell(items: Iterable[str]) -> Text:
    return _lines([plain(i) for i in sorted(items)])


def _optional_cell(value: str | None) -> Text:
    return Text(_NOTHING, style="dim") if value is None else plain(value)


def _kv_table(console: Console) -> Table:
    table = Table(
        box=table_box(console),
        show_header=False,
    )
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    return table


# ---------------------------------------------------------------- show (table)


def _product_codes_cell(codes: Iterable[ProductCode]) -> Text:
    return _lines([plain(f"{c.id} ({c.type})") for c in sorted(codes)])


def _snapshot_lines(snapshot: SnapshotState) -> list[Text]:
    encryption = "encrypted" if snapshot.encrypted else "not encrypted"
    if snapshot.kms_key_id:
        encryption += ", KMS key:"
    lines = [plain(snapshot.snapshot_id, style="bold"), plain(f"  {encryption}")]
    if snapshot.kms_key_id:
        lines.append(plain(f"  {snapshot.kms_key_id}"))
    if snapshot.accounts is not None:
        accounts = ", ".join(sorted(snapshot.accounts)) or _NOTHING
        lines.append(plain(f"  shared with accounts: {accounts}"))
    if snapshot.public is not None:
        lines.append(plain(f"  public: {yes_no(snapshot.public)}"))
    return lines


def _snapshots_cell(snapshots: Iterable[SnapshotState]) -> Text:
    return _lines([line for s in _sorted_snapshots(snapshots) for line in _snapshot_lines(s)])


def _show_rows(state: ImageState) -> list[tuple[str, Text]]:
    launch = state.launch
    public = Text(yes_no(launch.public), style="bold red" if launch.public else "")
    return [
        ("image", plain(state.image_id, style="bold")),
        ("name", _optional_cell(state.name)),
        ("region", plain(state.region)),
        ("owner", plain(state.owner_id)),
        ("state", plain(state.state)),
        ("public", public),
        ("accounts", _list_cell(launch.accounts)),
        ("organizations", _list_cell(launch.organizations)),
        ("OUs", _list_cell(launch.organizational_units)),
        ("description", _optional_cell(state.description)),
        ("IMDS support", _optional_cell(state.imds_support)),
        ("product codes", _product_codes_cell(state.product_codes)),
        ("snapshots", _snapshots_cell(state.snapshots)),
    ]


def show_table(console: Console, state: ImageState) -> Table:
    table = _kv_table(console)
    for label, cell in _show_rows(state):
        table.add_row(label, cell)
    return table


# More images than this are shown one row each (an overview) instead of a card each.
DETAIL_LIMIT = 3


def _shares_cell(items: frozenset[str]) -> Text:
    """Up to two items, else the first and a count: keeps overview rows short. ARNs are
    shown by their last part (o-…, ou-…); `show ID` gives them in full."""
    ordered = sorted(item.rsplit("/", 1)[-1] for item in items)
    if len(ordered) <= 2:
        return _list_cell(ordered)
    return _lines([plain(ordered[0]), plain(f"+{len(ordered) - 1} more")])


def overview_table(console: Console, states: Sequence[ImageState]) -> Table:
    """One row per image, for `show` over many images."""
    table = Table(box=table_box(console))
    for column in ("image", "region", "name", "public", "accounts", "orgs", "OUs", "IMDS"):
        table.add_column(column, overflow="fold")
    table.add_column("snapshots", overflow="fold")
    for state in states:
        launch = state.launch
        encrypted = sum(s.encrypted for s in state.snapshots)
        snapshots = f"{len(state.snapshots)}" + (f" ({encrypted} encrypted)" if encrypted else "")
        table.add_row(
            plain(state.image_id, style="bold"),
            plain(state.region),
            _optional_cell(state.name),
            Text(yes_no(launch.public), style="bold red" if launch.public else ""),
            _shares_cell(launch.accounts),
            _shares_cell(launch.organizations),
            _shares_cell(launch.organizational_units),
            _optional_cell(state.imds_support),
            plain(snapshots + (", product code" if state.product_codes else "")),
        )
    return table


def _bpa_line(region: str, bpa_state: str) -> Text:
    return Text.assemble("image block public access in ", plain(region), ": ", plain(bpa_state))


# ---------------------------------------------------------------- results (table): diffs


class _Unknown(enum.Enum):
    """An attribute amictl did not read (snapshot permissions), as opposed to an unset one."""

    UNKNOWN = "unknown"


# A compared attribute: a set (shares), a scalar (None when unset), or not read.
Value = frozenset[str] | str | None | _Unknown


def _attributes(state: ImageState) -> dict[str, Value]:
    """The attributes amictl changes, labelled for people, in display order."""
    launch = state.launch
    fields: dict[str, Value] = {
        "public": yes_no(launch.public),
        "accounts": launch.accounts,
        "organizations": launch.organizations,
        "OUs": launch.organizational_units,
        "description": state.description,
        "IMDS support": state.imds_support,
    }
    for snap in _sorted_snapshots(state.snapshots):
        if snap.accounts is not None:
            fields[f"{snap.snapshot_id} accounts"] = snap.accounts
        if snap.public is not None:
            fields[f"{snap.snapshot_id} public"] = yes_no(snap.public)
    return fields


def value_cell(value: Value) -> Text:
    if isinstance(value, _Unknown):
        return Text(value.value, style="dim")
    if isinstance(value, frozenset):
        return _list_cell(value)
    return _optional_cell(value)


def set_change_cell(before: frozenset[str], after: frozenset[str]) -> Text:
    """One line per item: `+ x` added, `- x` removed, `  x` kept."""
    if before == after:
        return _list_cell(after)
    lines: list[Text] = []
    for item in sorted(before | after):
        if item not in before:
            lines.append(plain(f"+ {item}", style="green"))
        elif item not in after:
            lines.append(plain(f"- {item}", style="red"))
        else:
            lines.append(plain(f"  {item}"))
    return _lines(lines)


def change_cell(before: Value, after: Value, arrow_text: str = "→") -> Text:
    """The `after` cell: set diffs with `+`/`-` per item, `→ new` for any other change."""
    if isinstance(before, frozenset) and isinstance(after, frozenset):
        return set_change_cell(before, after)
    if before == after or isinstance(after, _Unknown):
        return value_cell(after)
    return Text.assemble((f"{arrow_text} ", "bold"), value_cell(after))


def diff_rows(
    before: ImageState, after: ImageState, arrow_text: str = "→"
) -> list[tuple[str, Text, Text]]:
    """(label, before cell, after cell) for every attribute either state knows."""
    old, new = _attributes(before), _attributes(after)
    labels = list(old) + [label for label in new if label not in old]
    unknown = _Unknown.UNKNOWN
    return [
        (
            label,
            value_cell(old.get(label, unknown)),
            change_cell(old.get(label, unknown), new.get(label, unknown), arrow_text),
        )
        for label in labels
    ]


def _diff_table(console: Console, before: ImageState, after: ImageState, heading: str) -> Table:
    table = Table(
        box=table_box(console),
    )
    table.add_column("attribute", style="bold", no_wrap=True)
    table.add_column("before", overflow="fold")
    table.add_column(heading, overflow="fold")
    for label, old, new in diff_rows(before, after, arrow(console)):
        table.add_row(plain(label), old, new)
    return table


def _state_table(console: Console, state: ImageState) -> Table:
    table = Table(
        box=table_box(console),
    )
    table.add_column("attribute", style="bold", no_wrap=True)
    table.add_column("current", overflow="fold")
    for label, value in _attributes(state).items():
        table.add_row(plain(label), value_cell(value))
    return table


def _status_line(result: Result) -> Text:
    style = _STATUS_STYLE[result.status]
    return Text.assemble(plain(_ref_label(result.ref)), ": ", (result.status.value, style))


def _detail_lines(result: Result) -> list[Text]:
    lines: list[Text] = []
    if result.error is not None:
        text = f"{result.error.code}: {result.error.message}"
        lines.append(Text.assemble(("  error: ", "bold red"), plain(text)))
    return lines


def result_table(
    console: Console, result: Result, expected: ImageState | None = None
) -> Table | None:
    """Before/after (or before/planned) table for one image; None when there is nothing to show."""
    if result.before is None:
        return None
    if result.after is not None:
        return _diff_table(console, result.before, result.after, "after")
    if expected is not None:
        return _diff_table(console, result.before, expected, "planned")
    return _state_table(console, result.before)


# ---------------------------------------------------------------- renderers


class Renderer(Protocol):
    """One per output format; results on `out`, everything else on `err`."""

    def show(
        self,
        states: Sequence[ImageState],
        errors: Sequence[ReadError],
        block_public_access: Mapping[str, str] = _NO_BPA,
    ) -> None: ...

    def results(
        self,
        command: Command | str,
        dry_run: bool,
        results: Sequence[Result],
        expected: Mapping[ImageRef, ImageState] | None = None,
    ) -> None: ...


class _BaseRenderer:
    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def _summary(self, results: Sequence[Result], dry_run: bool) -> None:
        info(self.err, summary_line(results, dry_run))

    def _warnings(self, results: Sequence[Result]) -> None:
        for result in results:
            for warning in result.warnings:
                warn(self.err, f"{_ref_label(result.ref)}: {warning}")


class TableRenderer(_BaseRenderer):
    """Rich tables for people; colour and box drawing only on a terminal."""

    def show(
        self,
        states: Sequence[ImageState],
        errors: Sequence[ReadError],
        block_public_access: Mapping[str, str] = _NO_BPA,
    ) -> None:
        if len(states) > DETAIL_LIMIT:
            self.out.print(overview_table(self.out, states))
            info(self.err, f"{len(states)} images; give up to {DETAIL_LIMIT} IDs for details")
        else:
            for state in states:
                self.out.print(show_table(self.out, state))
        for region in sorted(block_public_access):
            self.out.print(_bpa_line(region, block_public_access[region]))
        for e in errors:
            error(self.err, f"{_ref_label(e.ref)}: {e.code}: {e.message}")
        if not states and not errors:
            info(self.err, "no images")

    def results(
        self,
        command: Command | str,
        dry_run: bool,
        results: Sequence[Result],
        expected: Mapping[ImageRef, ImageState] | None = None,
    ) -> None:
        planned = expected or {}
        for result in results:
            self._result(result, planned.get(result.ref))
        self._warnings(results)  # spec §2: warnings go to stderr, like every human message
        self._summary(results, dry_run)

    def _result(self, result: Result, expected: ImageState | None) -> None:
        self.out.print(_status_line(result))
        for line in _detail_lines(result):
            self.out.print(line)
        if result.status is Status.UNCHANGED:
            return
        table = result_table(self.out, result, expected)
        if table is not None:
            self.out.print(table)


def show_text_fields(state: ImageState) -> list[str]:
    """`image_id region name public accounts orgs ous imds description`, `-` for empty."""
    launch = state.launch
    return [
        state.image_id,
        state.region,
        state.name or _NOTHING,
        yes_no(launch.public),
        ",".join(sorted(launch.accounts)) or _NOTHING,
        ",".join(sorted(launch.organizations)) or _NOTHING,
        ",".join(sorted(launch.organizational_units)) or _NOTHING,
        state.imds_support or _NOTHING,
        state.description or _NOTHING,
    ]


def result_text_fields(result: Result) -> list[str]:
    """`image_id region status [error_code]`."""
    fields = [result.ref.image_id, result.ref.region, result.status.value]
    if result.error is not None:
        fields.append(result.error.code)
    return fields


class TextRenderer(_BaseRenderer):
    """One tab-separated line per image on stdout; `ERROR` lines and the summary on stderr."""

    def show(
        self,
        states: Sequence[ImageState],
        errors: Sequence[ReadError],
        block_public_access: Mapping[str, str] = _NO_BPA,
    ) -> None:
        for state in states:
            _write_line(self.out, show_text_fields(state))
        for e in errors:
            _write_line(self.err, ["ERROR", e.ref.image_id, e.ref.region, e.code, e.message])

    def results(
        self,
        command: Command | str,
        dry_run: bool,
        results: Sequence[Result],
        expected: Mapping[ImageRef, ImageState] | None = None,
    ) -> None:
        for result in results:
            _write_line(self.out, result_text_fields(result))
        for result in results:
            if result.error is not None:
                ref, err = result.ref, result.error
                _write_line(self.err, ["ERROR", ref.image_id, ref.region, err.code, err.message])
        self._warnings(results)
        self._summary(results, dry_run)


class JsonRenderer(_BaseRenderer):
    """Exactly one JSON document on stdout; warnings and the summary go to stderr."""

    def show(
        self,
        states: Sequence[ImageState],
        errors: Sequence[ReadError],
        block_public_access: Mapping[str, str] = _NO_BPA,
    ) -> None:
        _write(self.out, dumps(show_json(states, errors)))

    def results(
        self,
        command: Command | str,
        dry_run: bool,
        results: Sequence[Result],
        expected: Mapping[ImageRef, ImageState] | None = None,
    ) -> None:
        _write(self.out, dumps(results_json(command, dry_run, results)))
        self._warnings(results)
        self._summary(results, dry_run)


_RENDERERS: dict[OutputFormat, Callable[[Console, Console], Renderer]] = {
    OutputFormat.TABLE: TableRenderer,
    OutputFormat.JSON: JsonRenderer,
    OutputFormat.TEXT: TextRenderer,
}


def renderer_for(fmt: OutputFormat | str, out: Console, err: Console) -> Renderer:
    """The renderer for `-o FORMAT`; raises ValueError for an unknown format."""
    return _RENDERERS[OutputFormat(fmt)](out, err)
