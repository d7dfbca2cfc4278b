"""Output for `amictl audit`: the JSON document (spec §8), a Rich table, tab-separated text.

Findings go to stdout; the summary (`3 findings: 1 high, 2 low in 12 images`) and images
that could not be read go to stderr. Like `render.py`, this module decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .audit import Finding, Severity, summary_line
from .model import ReadError
from .render import JsonDict, OutputFormat, clean, dumps, error, info, plain, table_box

SEVERITY_STYLE = {
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "bold yellow",
    Severity.LOW: "cyan",
}


# ---------------------------------------------------------------- JSON (spec §8)


def finding_json(finding: Finding) -> JsonDict:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "image_id": finding.image_id,
        "region": finding.region,
        "detail": finding.detail,
        "fix": finding.fix,
    }


def audit_json(findings: Sequence[Finding], images_scanned: int) -> JsonDict:
    """`{"findings": [...], "images_scanned": N}`, exactly."""
    return {
        "findings": [finding_json(f) for f in findings],
        "images_scanned": images_scanned,
    }


# ---------------------------------------------------------------- table and text


def severity_cell(severity: Severity) -> Text:
    """The word, coloured: the colour is never the only signal."""
    return Text(severity.value, style=SEVERITY_STYLE[severity])


def audit_table(console: Console, findings: Sequence[Finding]) -> Table:
    """One row per finding, in the order given (worst first): severity, code, image,
    region, then the detail with the fix under it."""
    table = Table(box=table_box(console))
    table.add_column("severity", no_wrap=True)
    table.add_column("finding", no_wrap=True)
    table.add_column("image", no_wrap=True)
    table.add_column("region", no_wrap=True)
    table.add_column("detail and fix", overflow="fold")
    for finding in findings:
        what = Text.assemble(
            plain(finding.detail),
            "\n",
            ("fix: ", "bold"),
            plain(finding.fix),
        )
        table.add_row(
            severity_cell(finding.severity),
            plain(finding.code, style="bold"),
            plain(finding.image_id),
            plain(finding.region),
            what,
        )
    return table


def finding_text_fields(finding: Finding) -> list[str]:
    """`code severity image_id region detail fix`, the JSON field order."""
    return [
        finding.code,
        finding.severity.value,
        finding.image_id,
        finding.region,
        finding.detail,
        finding.fix,
    ]


def _write(console: Console, text: str) -> None:
    """Raw text, no Rich processing (JSON and tab-separated lines must stay as they are)."""
    console.file.write(text)
    console.file.flush()


def _write_line(console: Console, fields: Sequence[str]) -> None:
    _write(console, "\t".join(clean(f) for f in fields) + "\n")


def _ref(e: ReadError) -> str:
    return f"{e.ref.image_id} ({e.ref.region})"


# ---------------------------------------------------------------- renderers


class AuditRenderer(Protocol):
    """One per output format: findings on `out`; summary and read errors on `err`."""

    def audit(
        self, findings: Sequence[Finding], images_scanned: int, errors: Sequence[ReadError]
    ) -> None: ...


class _Base:
    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def _errors(self, errors: Sequence[ReadError]) -> None:
        for e in errors:
            error(self.err, f"{_ref(e)}: not audited: {e.code}: {e.message}")

    def _summary(self, findings: Sequence[Finding], images_scanned: int) -> None:
        info(self.err, summary_line(findings, images_scanned))


class AuditTableRenderer(_Base):
    def audit(
        self, findings: Sequence[Finding], images_scanned: int, errors: Sequence[ReadError]
    ) -> None:
        if findings:
            self.out.print(audit_table(self.out, findings))
        self._errors(errors)
        self._summary(findings, images_scanned)


class AuditTextRenderer(_Base):
    """One tab-separated line per finding; `ERROR` lines for unread images on stderr."""

    def audit(
        self, findings: Sequence[Finding], images_scanned: int, errors: Sequence[ReadError]
    ) -> None:
        for finding in findings:
            _write_line(self.out, finding_text_fields(finding))
        for e in errors:
            _write_line(self.err, ["ERROR", e.ref.image_id, e.ref.region, e.code, e.message])
        self._summary(findings, images_scanned)


class AuditJsonRenderer(_Base):
    """Exactly one JSON document on stdout."""

    def audit(
        self, findings: Sequence[Finding], images_scanned: int, errors: Sequence[ReadError]
    ) -> None:
        _write(self.out, dumps(audit_json(findings, images_scanned)))
        self._errors(errors)
        self._summary(findings, images_scanned)


_AUDIT_RENDERERS: dict[OutputFormat, Callable[[Console, Console], AuditRenderer]] = {
    OutputFormat.TABLE: AuditTableRenderer,
    OutputFormat.JSON: AuditJsonRenderer,
    OutputFormat.TEXT: AuditTextRenderer,
}


def audit_renderer_for(fmt: OutputFormat | str, out: Console, err: Console) -> AuditRenderer:
    """The audit renderer for `-o FORMAT`; raises ValueError for an unknown format."""
    return _AUDIT_RENDERERS[OutputFormat(fmt)](out, err)
