"""Confirmations (spec §5): `[y/N]` under a real pseudo-terminal (pexpect spawning the
installed `amictl` script), and the non-interactive rule: no terminal, no `--yes` →
nothing changes, exit 3, a message naming --yes, every image `skipped`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pexpect
import pytest

from amictl.sandbox import Sandbox

from .terminal import amictl_script, finish_with_output, spawn_amictl

REGION = "us-east-1"
ACCOUNT = "111122223333"


def permissions(ec2: Any, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))


# ---------------------------------------------------------------- a real terminal


@pytest.fixture
def risky(sandbox: Sandbox) -> dict[str, tuple[str, list[dict[str, str]]]]:
    """command → (image it is run on, the image's permissions once the command went ahead)."""
    return {
        "make-public": (sandbox.create_image(REGION, "img-to-public"), [{"Group": "all"}]),
        "reset": (
            sandbox.create_image(REGION, "img-to-reset", public=True, accounts=[ACCOUNT]),
            [],
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "answer", "exit_code"),
    [
        ("make-public", "", 3),
        ("make-public", "n", 3),
        ("make-public", "y", 0),
        ("reset", "", 3),
        ("reset", "y", 0),
    ],
    ids=[
        "make-public-enter-is-no",
        "make-public-n",
        "make-public-y",
        "reset-enter-is-no",
        "reset-y",
    ],
)
def test_risky_commands_ask_y_n_on_a_terminal(
    sandbox: Sandbox,
    ec2: Any,
    risky: dict[str, tuple[str, list[dict[str, str]]]],
    command: str,
    answer: str,
    exit_code: int,
) -> None:
    image_id, approved = risky[command]
    before = permissions(ec2, image_id)
    child = spawn_amictl([command, image_id])
    child.expect(r"\[y/N\]")
    assert image_id in str(child.before)  # the prompt lists the image it would change
    assert sandbox.mutating_requests() == []  # nothing is sent before the answer
    child.sendline(answer)
    status, _ = finish_with_output(child)

    assert status == exit_code
    if exit_code == 0:
        assert permissions(ec2, image_id) == approved
    else:
        assert permissions(ec2, image_id) == before
        assert sandbox.mutating_requests() == []


@pytest.mark.slow
def test_end_of_input_at_the_prompt_is_no(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-eof")
    child = spawn_amictl(["make-public", image_id])
    child.expect(r"\[y/N\]")
    child.sendeof()
    status, _ = finish_with_output(child)
    assert status == 3
    assert permissions(ec2, image_id) == []


@pytest.mark.slow
def test_declined_json_lists_every_image_skipped(
    sandbox: Sandbox, ec2: Any, tmp_path: Path
) -> None:
    images = [sandbox.create_image(REGION, f"img-{n}") for n in range(2)]
    out = tmp_path / "out.json"
    # stdin and stderr on the terminal, stdout (the JSON) to a file.
    command = " ".join([amictl_script(), "make-public", *images, "-o", "json", ">", str(out)])
    child = pexpect.spawn(
        "/bin/sh", ["-c", command], env=dict(os.environ), encoding="utf-8", timeout=30
    )
    child.expect(r"\[y/N\]")
    child.sendline("n")
    status, _ = finish_with_output(child)
    assert status == 3
    doc = json.loads(out.read_text())
    assert doc["command"] == "make-public"
    assert [
        (r["image_id"], r["status"], r["error"]["code"], r["after"]) for r in doc["results"]
    ] == [(i, "skipped", "Declined", None) for i in sorted(images)]
    assert all(permissions(ec2, i) == [] for i in images)


@pytest.mark.slow
def test_selector_share_lists_the_matched_images_and_asks(sandbox: Sandbox, ec2: Any) -> None:
    tagged = sandbox.create_image(REGION, "base-1", tags={"Team": "base"})
    other = sandbox.create_image(REGION, "data-1", tags={"Team": "data"})
    child = spawn_amictl(["share", "--tag", "Team=base", "--account", ACCOUNT])
    child.expect(r"\[y/N\]")
    listed = str(child.before)
    assert tagged in listed
    assert other not in listed
    child.sendline("y")
    status, _ = finish_with_output(child)
    assert status == 0
    assert permissions(ec2, tagged) == [{"UserId": ACCOUNT}]
    assert permissions(ec2, other) == []


# ---------------------------------------------------------------- no terminal

OTHER = "444455556666"
# (arguments, canonical command, images start public?, permissions after --yes)
NON_INTERACTIVE = [
    (["make-public", "{a}", "{b}"], "make-public", False, [{"Group": "all"}, {"UserId": OTHER}]),
    (["reset", "{a}", "{b}"], "reset", True, []),
    (
        ["share", "--tag", "Team=base", "--account", ACCOUNT],
        "share",
        True,
        [{"Group": "all"}, {"UserId": ACCOUNT}, {"UserId": OTHER}],
    ),
    (["make-private", "--all"], "make-private", True, [{"UserId": OTHER}]),
]
IDS = [case[1] for case in NON_INTERACTIVE]


def two_images(sandbox: Sandbox, public: bool) -> list[str]:
    """Two images tagged Team=base, shared with OTHER: each case has work on both."""
    return sorted(
        sandbox.create_image(
            REGION, f"base-{n}", tags={"Team": "base"}, public=public, accounts=[OTHER]
        )
        for n in range(2)
    )


@pytest.mark.parametrize(("template", "command", "public", "approved"), NON_INTERACTIVE, ids=IDS)
def test_without_a_terminal_and_without_yes_nothing_changes(
    sandbox: Sandbox,
    amictl: Any,
    ec2: Any,
    template: list[str],
    command: str,
    public: bool,
    approved: list[dict[str, str]],
) -> None:
    images = two_images(sandbox, public)
    before = {i: permissions(ec2, i) for i in images}
    a, b = images

    r = amictl([*(x.format(a=a, b=b) for x in template), "-o", "json"])

    assert r.exit_code == 3, r
    assert "--yes" in r.stderr
    assert sandbox.mutating_requests() == []
    assert r.json["command"] == command
    skipped = [
        (x["image_id"], x["status"], x["error"]["code"], x["after"]) for x in r.json["results"]
    ]
    assert skipped == [(i, "skipped", "ConfirmationRequired", None) for i in images]
    assert {i: permissions(ec2, i) for i in images} == before


@pytest.mark.parametrize(("template", "command", "public", "approved"), NON_INTERACTIVE, ids=IDS)
def test_with_yes_the_change_goes_ahead(
    sandbox: Sandbox,
    amictl: Any,
    ec2: Any,
    template: list[str],
    command: str,
    public: bool,
    approved: list[dict[str, str]],
) -> None:
    images = two_images(sandbox, public)
    a, b = images
    r = amictl([*(x.format(a=a, b=b) for x in template), "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert [(x["image_id"], x["status"]) for x in r.json["results"]] == [
        (i, "changed") for i in images
    ]
    assert {i: permissions(ec2, i) for i in images} == dict.fromkeys(images, approved)


def test_a_dry_run_with_a_selector_does_not_ask(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    images = two_images(sandbox, public=False)
    r = amictl(["share", "--tag", "Team=base", "--account", ACCOUNT, "--dry-run", "-o", "json"])
    assert r.exit_code == 0, r
    assert [(x["image_id"], x["status"]) for x in r.json["results"]] == [
        (i, "would-change") for i in images
    ]
    assert sandbox.mutating_requests(include_dry_run=False) == []
    assert {i: permissions(ec2, i) for i in images} == dict.fromkeys(images, [{"UserId": OTHER}])


def test_a_real_process_with_stdin_not_a_terminal_exits_3(sandbox: Sandbox, ec2: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-pipe")
    done = subprocess.run(
        [amictl_script(), "make-public", image_id],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 3, done
    assert "--yes" in done.stderr
    assert permissions(ec2, image_id) == []
    assert sandbox.mutating_requests() == []
