"""render.py: golden JSON documents, table key lines, text lines, markup escaping, consoles."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from rich.console import Console

from amictl import render
from amictl.model import (
    Command,
    ErrorInfo,
    ImageRef,
    ImageState,
    LaunchTargets,
    ProductCode,
    ReadError,
    Result,
    SnapshotState,
    Status,
)

AMI = "ami-0123456789abcdef0"
AMI2 = "ami-0fedcba9876543210"
AMI3 = "ami-01111111"
REGION = "us-east-1"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MARKUP = "[red]x[/red] [bold]y[/bold] :thumbs_up:"


def make_state(image_id: str = AMI, **changes: Any) -> ImageState:
    base = ImageState(
        image_id=image_id,
        region=REGION,
        name="base-2026-12-01",
        owner_id="123456789012",
        state="available",
        launch=LaunchTargets.of(["111122223333"]),
        description="Base image",
        imds_support="v2.0",
        product_codes=(),
        snapshots=(SnapshotState("snap-0aaaaaaaaaaaaaaaa", encrypted=False),),
    )
    return replace(base, **changes)


def consoles(width: int = 120) -> tuple[Console, Console, io.StringIO, io.StringIO]:
    out_file, err_file = io.StringIO(), io.StringIO()
    out = Console(file=out_file, width=width, force_terminal=False)
    err = Console(file=err_file, width=width, force_terminal=False)
    return out, err, out_file, err_file


def run(
    fmt: render.OutputFormat | str, call: Callable[[render.Renderer], None], width: int = 120
) -> tuple[str, str]:
    out, err, out_file, err_file = consoles(width)
    call(render.renderer_for(fmt, out, err))
    return out_file.getvalue(), err_file.getvalue()


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# ---------------------------------------------------------------- golden JSON

RICH_STATE = make_state(
    launch=LaunchTargets.of(["444455556666", "111122223333"], [ORG], [OU]),
    imds_support=None,
    product_codes=(ProductCode("ZZZ", "devpay"), ProductCode("774F4FF8", "marketplace")),
    snapshots=(
        SnapshotState(
            "snap-0bbbbbbbbbbbbbbbb",
            encrypted=True,
            kms_key_id=KEY,
            accounts=frozenset({"444455556666", "111122223333"}),
            public=False,
        ),
        SnapshotState("snap-0aaaaaaaaaaaaaaaa", encrypted=False),
    ),
)

RICH_STATE_JSON = {
    "image_id": AMI,
    "region": REGION,
    "name": "base-2026-12-01",
    "owner_id": "123456789012",
    "state": "available",
    "public": False,
    "accounts": ["111122223333", "444455556666"],
    "organizations": [ORG],
    "organizational_units": [OU],
    "description": "Base image",
    "imds_support": None,
    "product_codes": [
        {"id": "774F4FF8", "type": "marketplace"},
        {"id": "ZZZ", "type": "devpay"},
    ],
    "snapshots": [
        {
            "snapshot_id": "snap-0aaaaaaaaaaaaaaaa",
            "encrypted": False,
            "kms_key_id": None,
            "accounts": None,
            "public": None,
        },
        {
            "snapshot_id": "snap-0bbbbbbbbbbbbbbbb",
            "encrypted": True,
            "kms_key_id": KEY,
            "accounts": ["111122223333", "444455556666"],
            "public": False,
        },
    ],
}

PLAIN_STATE = make_state(launch=LaunchTargets.of(["111122223333"]), snapshots=())
PLAIN_STATE_JSON = {
    "image_id": AMI,
    "region": REGION,
    "name": "base-2026-12-01",
    "owner_id": "123456789012",
    "state": "available",
    "public": False,
    "accounts": ["111122223333"],
    "organizations": [],
    "organizational_units": [],
    "description": "Base image",
    "imds_support": "v2.0",
    "product_codes": [],
    "snapshots": [],
}


def test_image_state_json_golden() -> None:
    assert render.image_state_json(RICH_STATE) == RICH_STATE_JSON


def test_image_state_json_keys_in_spec_order() -> None:
    assert list(render.image_state_json(RICH_STATE)) == [
        "image_id",
        "region",
        "name",
        "owner_id",
        "state",
        "public",
        "accounts",
        "organizations",
        "organizational_units",
        "description",
        "imds_support",
        "product_codes",
        "snapshots",
    ]
    snapshot = render.image_state_json(RICH_STATE)["snapshots"][0]
    assert list(snapshot) == ["snapshot_id", "encrypted", "kms_key_id", "accounts", "public"]


def test_image_state_json_lists_are_sorted() -> None:
    # Enough items that a set's iteration order is (almost surely) not already sorted.
    ids = [f"{n * 7919 % 1000:03d}{n:09d}" for n in range(40)]
    orgs = [f"{ORG[:-4]}{n:04d}" for n in range(40)]
    snap = SnapshotState("snap-0aaaaaaaaaaaaaaaa", False, accounts=frozenset(ids), public=False)
    state = make_state(launch=LaunchTargets.of(ids, orgs, orgs), snapshots=(snap,))
    doc = render.image_state_json(state)
    assert doc["accounts"] == sorted(ids)
    assert doc["organizations"] == doc["organizational_units"] == sorted(orgs)
    assert doc["snapshots"][0]["accounts"] == sorted(ids)
    fields = render.show_text_fields(state)
    assert fields[4] == ",".join(sorted(ids))
    assert fields[5] == fields[6] == ",".join(sorted(orgs))


def test_image_state_json_unset_fields_are_null() -> None:
    state = make_state(name=None, description=None, imds_support=None, snapshots=())
    doc = render.image_state_json(state)
    assert (doc["name"], doc["description"], doc["imds_support"]) == (None, None, None)


def test_image_state_json_public_and_known_empty_snapshot_permissions() -> None:
    snap = SnapshotState("snap-0aaaaaaaaaaaaaaaa", False, accounts=frozenset(), public=True)
    doc = render.image_state_json(make_state(launch=LaunchTargets(public=True), snapshots=(snap,)))
    assert doc["public"] is True
    assert doc["accounts"] == []
    assert doc["snapshots"] == [
        {
            "snapshot_id": "snap-0aaaaaaaaaaaaaaaa",
            "encrypted": False,
            "kms_key_id": None,
            "accounts": [],
            "public": True,
        }
    ]


AFTER_SHARE = replace(PLAIN_STATE, launch=LaunchTargets.of(["111122223333", "444455556666"]))


def test_results_json_changed() -> None:
    result = Result(PLAIN_STATE.ref, Status.CHANGED, PLAIN_STATE, AFTER_SHARE)
    assert render.results_json(Command.SHARE, False, [result]) == {
        "command": "share",
        "dry_run": False,
        "results": [
            {
                "image_id": AMI,
                "region": REGION,
                "status": "changed",
                "before": PLAIN_STATE_JSON,
                "after": {**PLAIN_STATE_JSON, "accounts": ["111122223333", "444455556666"]},
                "error": None,
            }
        ],
    }


def test_results_json_failed_with_error() -> None:
    ref = ImageRef(AMI2, "eu-west-1")
    error = ErrorInfo("InvalidAMIID.NotFound", f"The image id '[{AMI2}]' does not exist")
    result = Result(ref, Status.FAILED, error=error)
    assert render.results_json(Command.ENFORCE_IMDSV2, False, [result]) == {
        "command": "enforce-imdsv2",
        "dry_run": False,
        "results": [
            {
                "image_id": AMI2,
                "region": "eu-west-1",
                "status": "failed",
                "before": None,
                "after": None,
                "error": {
                    "code": "InvalidAMIID.NotFound",
                    "message": f"The image id '[{AMI2}]' does not exist",
                },
            }
        ],
    }


def test_results_json_dry_run_after_is_null_even_if_given() -> None:
    would = Result(PLAIN_STATE.ref, Status.WOULD_CHANGE, PLAIN_STATE, AFTER_SHARE)
    assert render.results_json("share", True, [would]) == {
        "command": "share",
        "dry_run": True,
        "results": [
            {
                "image_id": AMI,
                "region": REGION,
                "status": "would-change",
                "before": PLAIN_STATE_JSON,
                "after": None,
                "error": None,
            }
        ],
    }


def test_results_json_skipped_and_order_kept() -> None:
    declined = ErrorInfo("Declined", "confirmation declined")
    second = Result(ImageRef(AMI2, REGION), Status.SKIPPED, error=declined)
    first = Result(PLAIN_STATE.ref, Status.SKIPPED, PLAIN_STATE, error=declined)
    doc = render.results_json("plan", False, [second, first])
    assert doc["command"] == "plan"
    assert doc["results"] == [
        {
            "image_id": AMI2,
            "region": REGION,
            "status": "skipped",
            "before": None,
            "after": None,
            "error": {"code": "Declined", "message": "confirmation declined"},
        },
        {
            "image_id": AMI,
            "region": REGION,
            "status": "skipped",
            "before": PLAIN_STATE_JSON,
            "after": None,
            "error": {"code": "Declined", "message": "confirmation declined"},
        },
    ]


def test_show_json_with_errors() -> None:
    missing = ReadError(ImageRef(AMI2, "eu-west-1"), "InvalidAMIID.NotFound", "not found")
    assert render.show_json([PLAIN_STATE], [missing]) == {
        "images": [PLAIN_STATE_JSON],
        "errors": [
            {
                "image_id": AMI2,
                "region": "eu-west-1",
                "code": "InvalidAMIID.NotFound",
                "message": "not found",
            }
        ],
    }
    assert render.show_json([], []) == {"images": [], "errors": []}


def test_dumps_is_indented_ordered_and_ends_with_newline() -> None:
    text = render.dumps(render.results_json(Command.SHOW, False, []))
    assert text == '{\n  "command": "show",\n  "dry_run": false,\n  "results": []\n}\n'


# ---------------------------------------------------------------- summary line


@pytest.mark.parametrize(
    ("statuses", "dry_run", "expected"),
    [
        (
            [Status.REFUSED, Status.CHANGED, Status.UNCHANGED, Status.CHANGED, Status.CHANGED],
            False,
            "3 changed, 1 unchanged, 1 refused",
        ),
        ([Status.WOULD_CHANGE, Status.WOULD_CHANGE], True, "2 would change"),
        (
            [Status.SKIPPED, Status.FAILED, Status.WOULD_CHANGE],
            True,
            "1 would change, 1 failed, 1 skipped",
        ),
        ([], False, "no images"),
    ],
)
def test_summary_line(statuses: list[Status], dry_run: bool, expected: str) -> None:
    results = [Result(ImageRef(AMI, REGION), s) for s in statuses]
    assert render.summary_line(results, dry_run) == expected


# ---------------------------------------------------------------- table: results

SHARE_BEFORE = make_state(launch=LaunchTargets.of(["111122223333", "222233334444"]))
SHARE_AFTER = make_state(launch=LaunchTargets.of(["222233334444", "444455556666"]))


def mixed_results() -> list[Result]:
    changed = Result(SHARE_BEFORE.ref, Status.CHANGED, SHARE_BEFORE, SHARE_AFTER)
    other = [make_state(AMI2), make_state(AMI3)]
    unchanged = Result(ImageRef("ami-0cccccccccccccccc", REGION), Status.UNCHANGED, PLAIN_STATE)
    refusal = ErrorInfo("ProductCodesForbidPublic", "image has a marketplace product code")
    refused = Result(
        ImageRef("ami-0dddddddddddddddd", REGION), Status.REFUSED, PLAIN_STATE, None, refusal
    )
    changed_more = [Result(s.ref, Status.CHANGED, s, replace(s, imds_support=None)) for s in other]
    return [changed, unchanged, refused, *changed_more]


def test_table_results_marks_added_and_removed_items_and_summarises() -> None:
    out, err = run("table", lambda r: r.results(Command.SHARE, False, mixed_results()))
    lines = stripped_lines(out)
    assert f"{AMI} ({REGION}): changed" in lines
    assert any(line.endswith("+ 444455556666") for line in lines)
    assert any(line.startswith("accounts") and line.endswith("- 111122223333") for line in lines)
    assert ["222233334444", "222233334444"] in [line.split() for line in out.splitlines()]
    assert "+ 222233334444" not in out and "- 222233334444" not in out  # kept: no marker
    assert "ProductCodesForbidPublic" in out and "image has a marketplace product code" in out
    assert stripped_lines(err) == ["3 changed, 1 unchanged, 1 refused"]
    assert "\x1b[" not in out + err


def test_table_results_scalar_change_uses_arrow() -> None:
    before = make_state(imds_support=None, launch=LaunchTargets())
    after = make_state(imds_support="v2.0", launch=LaunchTargets(public=True))
    result = Result(before.ref, Status.CHANGED, before, after)
    out, _ = run("table", lambda r: r.results(Command.ENFORCE_IMDSV2, False, [result]))
    rows = [line.split() for line in out.splitlines()]
    assert ["IMDS", "support", "-", "→", "v2.0"] in rows
    assert ["public", "no", "→", "yes"] in rows
    assert ["description", "Base", "image", "Base", "image"] in rows  # unchanged: no marker


def test_table_results_unchanged_is_one_line() -> None:
    result = Result(PLAIN_STATE.ref, Status.UNCHANGED, PLAIN_STATE, PLAIN_STATE)
    out, err = run("table", lambda r: r.results(Command.SHARE, False, [result]))
    assert out == f"{AMI} ({REGION}): unchanged\n"
    assert err == "1 unchanged\n"


def test_table_results_dry_run_shows_planned_state() -> None:
    before = make_state(imds_support=None)
    expected = {before.ref: make_state(imds_support="v2.0")}
    results = [
        Result(before.ref, Status.WOULD_CHANGE, before),
        Result(ImageRef(AMI2, REGION), Status.WOULD_CHANGE, make_state(AMI2)),
    ]
    out, err = run("table", lambda r: r.results(Command.ENFORCE_IMDSV2, True, results, expected))
    assert f"{AMI} ({REGION}): would-change" in stripped_lines(out)
    assert "planned" in out
    assert ["IMDS", "support", "-", "→", "v2.0"] in [line.split() for line in out.splitlines()]
    assert stripped_lines(err) == ["2 would change"]


def test_table_results_error_and_warning_lines() -> None:
    warning = "the key policy of KMS key k must allow 444455556666"
    failed = Result(
        SHARE_BEFORE.ref,
        Status.FAILED,
        SHARE_BEFORE,
        SHARE_BEFORE,
        ErrorInfo("VerificationFailed", "accounts still differ after 20 s"),
        (warning,),
    )
    out, err = run("table", lambda r: r.results(Command.SHARE, False, [failed]))
    lines = stripped_lines(out)
    assert "error: VerificationFailed: accounts still differ after 20 s" in lines
    assert warning not in out  # spec §2: warnings go to stderr
    assert stripped_lines(err) == [f"warning: {AMI} ({REGION}): {warning}", "1 failed"]


def test_table_results_snapshot_permissions_when_known() -> None:
    snap = SnapshotState("snap-0aaaaaaaaaaaaaaaa", False, accounts=frozenset({"111122223333"}))
    before = make_state(snapshots=(snap,))
    after = make_state(snapshots=(replace(snap, accounts=frozenset({"444455556666"})),))
    result = Result(before.ref, Status.CHANGED, before, after)
    out, _ = run("table", lambda r: r.results(Command.SHARE, False, [result]))
    rows = [line.split() for line in out.splitlines()]
    assert ["snap-0aaaaaaaaaaaaaaaa", "accounts", "111122223333", "-", "111122223333"] in rows
    assert ["+", "444455556666"] in rows


def test_table_results_hide_unknown_snapshot_permissions() -> None:
    result = Result(PLAIN_STATE.ref, Status.CHANGED, PLAIN_STATE, AFTER_SHARE)
    out, _ = run("table", lambda r: r.results(Command.SHARE, False, [result]))
    assert "snap-" not in out


def test_table_output_fits_100_columns_without_losing_text() -> None:
    out, _ = run("table", lambda r: r.show([RICH_STATE], [], {}), width=100)
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "…" not in out
    assert "snap-0bbbbbbbbbbbbbbbb" in out


# ---------------------------------------------------------------- table: show


def test_table_show_lists_every_attribute_and_bpa_per_region() -> None:
    bpa = {"eu-west-1": "unblocked", REGION: "block-new-sharing"}
    out, err = run("table", lambda r: r.show([RICH_STATE], [], bpa), width=200)
    rows = [line.split() for line in out.splitlines()]
    for expected in (
        ["image", AMI],
        ["name", "base-2026-12-01"],
        ["region", REGION],
        ["owner", "123456789012"],
        ["state", "available"],
        ["public", "no"],
        ["accounts", "111122223333"],
        ["444455556666"],
        ["organizations", ORG],
        ["OUs", OU],
        ["description", "Base", "image"],
        ["IMDS", "support", "-"],
        ["product", "codes", "774F4FF8", "(marketplace)"],
        ["ZZZ", "(devpay)"],
        ["snapshots", "snap-0aaaaaaaaaaaaaaaa"],
        ["encrypted,", "KMS", "key:"],
        [KEY],
        ["shared", "with", "accounts:", "111122223333,", "444455556666"],
        ["public:", "no"],
    ):
        assert expected in rows, expected
    assert out.splitlines()[-2:] == [
        "image block public access in eu-west-1: unblocked",
        "image block public access in us-east-1: block-new-sharing",
    ]
    assert err == ""


def test_table_show_errors_go_to_stderr_with_text_prefix() -> None:
    missing = ReadError(ImageRef(AMI2, "eu-west-1"), "InvalidAMIID.NotFound", "not found")
    out, err = run("table", lambda r: r.show([PLAIN_STATE], [missing], {}))
    assert AMI2 not in out
    assert err == f"error: {AMI2} (eu-west-1): InvalidAMIID.NotFound: not found\n"


# ---------------------------------------------------------------- markup and control characters


@pytest.mark.parametrize("force_terminal", [False, True])
def test_aws_strings_print_literally_in_tables(force_terminal: bool) -> None:
    state = make_state(description=MARKUP, name="[bold]n[/bold]")
    after = replace(state, description=f"{MARKUP} 2")
    result = Result(state.ref, Status.CHANGED, state, after, warnings=("[blink]w[/blink]",))
    out_file, err_file = io.StringIO(), io.StringIO()
    out = Console(file=out_file, width=200, force_terminal=force_terminal)
    err = Console(file=err_file, width=200, force_terminal=force_terminal)
    renderer = render.renderer_for("table", out, err)
    renderer.show([state], [ReadError(state.ref, "X", "[red]e[/red]")], {REGION: "[i]s[/i]"})
    renderer.results("share", False, [result])
    text, errors = out_file.getvalue(), err_file.getvalue()
    for literal in (MARKUP, "[bold]n[/bold]", f"{MARKUP} 2", "[i]s[/i]"):
        assert literal in text
    assert "[red]e[/red]" in errors
    assert "[blink]w[/blink]" in errors


def test_messages_print_markup_literally() -> None:
    _, err, _, err_file = consoles()
    render.error(err, "bad [red]value[/red]", hint="use [b]--yes[/b]")
    render.warn(err, "[yellow]careful[/yellow]")
    render.info(err, "[dim]fyi[/dim] :thumbs_up:")
    assert err_file.getvalue().splitlines() == [
        "error: bad [red]value[/red]",
        "hint: use [b]--yes[/b]",
        "warning: [yellow]careful[/yellow]",
        "[dim]fyi[/dim] :thumbs_up:",
    ]


def test_control_characters_are_escaped_everywhere() -> None:
    hostile = "a\x1b[31mb\tc\nd\u202ee"
    state = make_state(description=hostile)
    table_out, _ = run("table", lambda r: r.show([state], [], {}), width=200)
    text_out, _ = run("text", lambda r: r.show([state], [], {}))
    for out in (table_out, text_out):
        assert "\x1b" not in out and "\u202e" not in out
        assert "a\\x1b[31mb\\tc\\nd\\u202ee" in out
    assert len(text_out.splitlines()) == 1
    assert render.clean("plain ünïcode ✓") == "plain ünïcode ✓"


# ---------------------------------------------------------------- text format


def test_text_show_lines_exact() -> None:
    bare = make_state(AMI2, name=None, description=None, imds_support=None, launch=LaunchTargets())
    missing = ReadError(ImageRef(AMI3, "eu-west-1"), "InvalidAMIID.NotFound", "not found")
    out, err = run("text", lambda r: r.show([RICH_STATE, bare], [missing], {REGION: "unblocked"}))
    assert out.splitlines() == [
        "\t".join(
            [AMI, REGION, "base-2026-12-01", "no", "111122223333,444455556666", ORG, OU, "-"]
            + ["Base image"]
        ),
        f"{AMI2}\t{REGION}\t-\tno\t-\t-\t-\t-\t-",
    ]
    assert err.splitlines() == [f"ERROR\t{AMI3}\teu-west-1\tInvalidAMIID.NotFound\tnot found"]


def test_text_results_lines_exact_and_summary_on_stderr() -> None:
    results = [
        Result(PLAIN_STATE.ref, Status.CHANGED, PLAIN_STATE, AFTER_SHARE),
        Result(
            ImageRef(AMI2, "eu-west-1"),
            Status.FAILED,
            error=ErrorInfo("InvalidAMIID.NotFound", "gone"),
        ),
        Result(ImageRef(AMI3, REGION), Status.UNCHANGED, PLAIN_STATE, PLAIN_STATE, warnings=("w",)),
    ]
    out, err = run("text", lambda r: r.results(Command.SHARE, False, results))
    assert out.splitlines() == [
        f"{AMI}\t{REGION}\tchanged",
        f"{AMI2}\teu-west-1\tfailed\tInvalidAMIID.NotFound",
        f"{AMI3}\t{REGION}\tunchanged",
    ]
    assert err.splitlines() == [
        f"ERROR\t{AMI2}\teu-west-1\tInvalidAMIID.NotFound\tgone",
        f"warning: {AMI3} ({REGION}): w",
        "1 changed, 1 unchanged, 1 failed",
    ]


# ---------------------------------------------------------------- json format


def test_json_results_stdout_is_exactly_the_document() -> None:
    results = mixed_results()
    out, err = run("json", lambda r: r.results(Command.SHARE, True, results, {}))
    assert json.loads(out) == render.results_json(Command.SHARE, True, results)
    assert out == render.dumps(render.results_json(Command.SHARE, True, results))
    assert "3 changed, 1 unchanged, 1 refused" in err


def test_json_show_stdout_is_exactly_the_document_without_bpa() -> None:
    missing = ReadError(ImageRef(AMI2, "eu-west-1"), "InvalidAMIID.NotFound", "not found")
    out, err = run(
        render.OutputFormat.JSON, lambda r: r.show([PLAIN_STATE], [missing], {REGION: "x"})
    )
    assert json.loads(out) == {
        "images": [PLAIN_STATE_JSON],
        "errors": [
            {
                "image_id": AMI2,
                "region": "eu-west-1",
                "code": "InvalidAMIID.NotFound",
                "message": "not found",
            }
        ],
    }
    assert err == ""


def test_renderer_for_every_format_and_rejects_unknown() -> None:
    out, err, _, _ = consoles()
    assert isinstance(render.renderer_for("table", out, err), render.TableRenderer)
    assert isinstance(render.renderer_for("text", out, err), render.TextRenderer)
    assert isinstance(render.renderer_for(render.OutputFormat.JSON, out, err), render.JsonRenderer)
    assert [f.value for f in render.OutputFormat] == ["table", "json", "text"]
    with pytest.raises(ValueError):
        render.renderer_for("yaml", out, err)


# ---------------------------------------------------------------- consoles and messages


def test_make_consoles_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    out, err = render.make_consoles()
    assert not out.is_terminal
    assert out.width == render.PIPE_WIDTH
    assert out.color_system is None
    assert render.table_box(out) is render.PLAIN_BOX
    assert err.stderr


def test_make_consoles_colour_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    out, err = render.make_consoles()
    assert out.is_terminal and not out.no_color and not err.no_color
    out, err = render.make_consoles(no_color=True)
    assert out.no_color and err.no_color
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = render.make_consoles()
    assert out.no_color and err.no_color


def test_quiet_silences_info_and_summary_but_not_warnings_or_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    out, err = render.make_consoles(quiet=True)
    out.file = io.StringIO()
    render.info(err, "hello")
    render.renderer_for("text", out, err).results(
        "share", False, [Result(PLAIN_STATE.ref, Status.CHANGED)]
    )
    render.warn(err, "careful")
    render.error(err, "broken", hint="fix it")
    assert buffer.getvalue().splitlines() == ["warning: careful", "error: broken", "hint: fix it"]
    assert render.is_quiet(err)


def test_messages_are_not_wrapped_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    monkeypatch.setenv("COLUMNS", "40")
    _, err = render.make_consoles()
    long = "x" * 30 + " " + "y" * 30
    render.error(err, long)
    assert buffer.getvalue() == f"error: {long}\n"
