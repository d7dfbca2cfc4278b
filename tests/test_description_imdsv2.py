"""set-description and enforce-imdsv2 (alias imdsv2) against the emulator over HTTP (spec §3-§6):
the request sent, the state read back, no-ops, input errors before any call, dry-run listing,
and the typed `yes` confirmation on a pseudo-terminal."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from amictl.sandbox import Sandbox

from .terminal import finish, spawn_amictl

OTHER_OWNER = "999988887777"


def image(ec2: Any, image_id: str) -> dict[str, Any]:
    images = ec2.describe_images(ImageIds=[image_id])["Images"]
    assert len(images) == 1, images
    return images[0]


def client(sandbox: Sandbox, region: str) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=sandbox.endpoint_url)


def calls(sandbox: Sandbox) -> list[tuple[str, dict[str, str]]]:
    """The real (not DryRun) ModifyImageAttribute calls, as (region, params)."""
    return [
        (r.region, dict(r.params))
        for r in sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False)
    ]


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["image_id"]: r for r in document["results"]}


# ---------------------------------------------------------------- set-description


def test_set_description_sends_description_value_and_changes_the_images(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    first = sandbox.create_image("us-east-1", "img-1", description="old")
    second = sandbox.create_image("us-east-1", "img-2")
    text = "Base image 2026-12 — hardened, ünïcode ok"

    r = amictl(["set-description", first, second, text, "-o", "json"])

    assert r.exit_code == 0, r
    assert r.json["command"] == "set-description"
    results = by_id(r.json)
    assert {i: res["status"] for i, res in results.items()} == {
        first: "changed",
        second: "changed",
    }
    assert results[first]["before"]["description"] == "old"
    assert results[second]["before"]["description"] is None
    assert all(res["after"]["description"] == text for res in results.values())
    assert sorted(calls(sandbox), key=lambda c: c[1]["ImageId"]) == sorted(
        [
            ("us-east-1", {"ImageId": first, "Description.Value": text}),
            ("us-east-1", {"ImageId": second, "Description.Value": text}),
        ],
        key=lambda c: c[1]["ImageId"],
    )
    for image_id in (first, second):
        assert image(ec2, image_id)["Description"] == text
        answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="description")
        assert answer["Description"] == {"Value": text}


def test_set_description_255_characters_is_accepted(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old")
    text = "d" * 255

    r = amictl(["set-description", image_id, text, "-o", "json"])

    assert r.exit_code == 0, r
    assert r.json["results"][0]["status"] == "changed"
    assert image(ec2, image_id)["Description"] == text


def test_set_description_to_the_current_text_is_unchanged_and_sends_nothing(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="Base image")

    r = amictl(["set-description", image_id, "Base image", "-o", "json"])

    assert r.exit_code == 0, r
    [result] = r.json["results"]
    assert (result["status"], result["after"], result["error"]) == ("unchanged", None, None)
    assert sandbox.mutating_requests() == []
    assert image(ec2, image_id)["Description"] == "Base image"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("x" * 256, "256 characters", id="256-chars"),
        pytest.param("é" * 300, "300 characters", id="300-unicode-chars"),
        pytest.param("line one\nline two", repr("line one\nline two"), id="newline"),
        pytest.param("tab\there", repr("tab\there"), id="tab"),
        pytest.param("bell\x07", repr("bell\x07"), id="bell"),
        pytest.param("del\x7f", repr("del\x7f"), id="delete"),
        pytest.param("esc\x1b[31mred", repr("esc\x1b[31mred"), id="escape-sequence"),
    ],
)
def test_set_description_rejects_bad_text_before_any_request(
    sandbox: Sandbox, ec2: Any, amictl: Any, text: str, named: str
) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old")

    r = amictl(["set-description", image_id, text, "-o", "json"])

    assert r.exit_code == 2, r
    assert r.stdout == ""
    assert "description" in r.stderr
    assert named in r.stderr
    assert "\x1b" not in r.stderr  # the value is shown escaped, never raw
    assert sandbox.requests == []
    assert image(ec2, image_id)["Description"] == "old"


def test_set_description_by_tag_changes_only_matching_images(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    base = [
        sandbox.create_image("us-east-1", f"base-{n}", description="old", tags={"Team": "base"})
        for n in range(3)
    ]
    data = sandbox.create_image("us-east-1", "data", description="old", tags={"Team": "data"})
    foreign = sandbox.create_image(
        "us-east-1", "foreign", tags={"Team": "base"}, owner_id=OTHER_OWNER, public=True
    )

    r = amictl(["set-description", "--tag", "Team=base", "--yes", "Base image", "-o", "json"])

    assert r.exit_code == 0, r
    assert {i: res["status"] for i, res in by_id(r.json).items()} == dict.fromkeys(base, "changed")
    assert sorted(p["ImageId"] for _, p in calls(sandbox)) == sorted(base)
    assert all(p["Description.Value"] == "Base image" for _, p in calls(sandbox))
    for image_id in base:
        assert image(ec2, image_id)["Description"] == "Base image"
    assert image(ec2, data)["Description"] == "old"
    assert "Description" not in image(ec2, foreign)


def test_set_description_by_tag_without_yes_off_a_terminal_changes_nothing(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    image_id = sandbox.create_image("us-east-1", "img", description="old", tags={"Team": "base"})

    r = amictl(["set-description", "--tag", "Team=base", "new", "-o", "json"])

    assert r.exit_code == 3, r
    [result] = r.json["results"]
    assert (result["status"], result["error"]["code"]) == ("skipped", "ConfirmationRequired")
    assert "--yes" in r.stderr
    assert sandbox.mutating_requests() == []
    assert image(ec2, image_id)["Description"] == "old"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="nothing"),
        pytest.param(["--tag", "Team=base", "--yes"], id="selector-without-text"),
    ],
)
def test_set_description_without_text_is_a_usage_error(
    sandbox: Sandbox, amictl: Any, args: list[str]
) -> None:
    sandbox.create_image("us-east-1", "img", description="old", tags={"Team": "base"})

    r = amictl(["set-description", *args])

    assert r.exit_code == 2, r
    assert "Missing argument" in r.stderr
    assert "TEXT" in r.stderr
    assert sandbox.requests == []


def test_set_description_with_only_text_and_no_images_is_a_usage_error(
    sandbox: Sandbox, amictl: Any
) -> None:
    sandbox.create_image("us-east-1", "img", description="old")

    r = amictl(["set-description", "just some text"])

    assert r.exit_code == 2, r
    assert "no images" in r.stderr
    assert sandbox.requests == []


# ---------------------------------------------------------------- enforce-imdsv2


@pytest.mark.parametrize("command", ["enforce-imdsv2", "imdsv2"])
def test_enforce_imdsv2_sends_v2_and_enforces_it(
    sandbox: Sandbox, ec2: Any, amictl: Any, command: str
) -> None:
    target = sandbox.create_image("us-east-1", "img-v1", description="keep me")
    already = sandbox.create_image("us-east-1", "img-v2", imds_v2=True)

    r = amictl([command, target, already, "--yes", "-o", "json"])

    assert r.exit_code == 0, r
    assert r.json["command"] == "enforce-imdsv2"
    results = by_id(r.json)
    assert results[target]["status"] == "changed"
    assert results[target]["before"]["imds_support"] is None
    assert results[target]["after"]["imds_support"] == "v2.0"
    assert (results[already]["status"], results[already]["after"]) == ("unchanged", None)
    assert calls(sandbox) == [("us-east-1", {"ImageId": target, "ImdsSupport.Value": "v2.0"})]
    assert image(ec2, target)["ImdsSupport"] == "v2.0"
    assert image(ec2, target)["Description"] == "keep me"
    answer = ec2.describe_image_attribute(ImageId=target, Attribute="imdsSupport")
    assert answer["ImdsSupport"] == {"Value": "v2.0"}


def test_enforce_imdsv2_on_images_already_v2_sends_nothing_and_needs_no_confirmation(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    images = [sandbox.create_image("us-east-1", f"img-{n}", imds_v2=True) for n in range(2)]

    r = amictl(["imdsv2", *images, "-o", "json"])  # no --yes, stdin not a terminal

    assert r.exit_code == 0, r
    assert [res["status"] for res in r.json["results"]] == ["unchanged", "unchanged"]
    assert sandbox.mutating_requests() == []
    assert all(image(ec2, i)["ImdsSupport"] == "v2.0" for i in images)


def test_imdsv2_dry_run_without_images_lists_every_owned_image_in_the_regions(
    sandbox: Sandbox, amictl: Any
) -> None:
    expected: dict[str, tuple[str, str]] = {}
    for region in ("us-east-1", "eu-west-1"):
        for n in range(2):
            expected[sandbox.create_image(region, f"v1-{n}")] = (region, "would-change")
        expected[sandbox.create_image(region, "v2", imds_v2=True)] = (region, "unchanged")
    elsewhere = sandbox.create_image("us-west-2", "not-selected")
    foreign = sandbox.create_image("us-east-1", "foreign", owner_id=OTHER_OWNER, public=True)
    cmd = ["imdsv2", "--dry-run", "-o", "json", "--region", "us-east-1", "--region", "eu-west-1"]

    r = amictl(cmd)

    assert r.exit_code == 0, r
    assert (r.json["command"], r.json["dry_run"]) == ("enforce-imdsv2", True)
    listed = {res["image_id"]: (res["region"], res["status"]) for res in r.json["results"]}
    assert listed == expected
    assert elsewhere not in listed and foreign not in listed
    assert all(res["after"] is None and res["error"] is None for res in r.json["results"])
    assert sandbox.mutating_requests(include_dry_run=False) == []
    probes = sandbox.mutating_requests()
    assert all(p.dry_run and p.action == "ModifyImageAttribute" for p in probes)
    assert sorted((p.region, p.params["ImageId"]) for p in probes) == sorted(
        (region, i) for i, (region, status) in expected.items() if status == "would-change"
    )
    assert all(p.params["ImdsSupport.Value"] == "v2.0" for p in probes)
    for image_id, (region, status) in expected.items():
        support = image(client(sandbox, region), image_id).get("ImdsSupport")
        assert support == ("v2.0" if status == "unchanged" else None)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="plain"),
        pytest.param(["--yes"], id="yes"),
        pytest.param(["--yes", "-o", "json"], id="json"),
    ],
)
def test_imdsv2_without_images_and_without_dry_run_is_a_usage_error(
    sandbox: Sandbox, ec2: Any, amictl: Any, args: list[str]
) -> None:
    image_id = sandbox.create_image("us-east-1", "img")

    r = amictl(["imdsv2", *args])

    assert r.exit_code == 2, r
    assert r.stdout == ""
    assert "no images" in r.stderr
    assert sandbox.requests == []
    assert "ImdsSupport" not in image(ec2, image_id)


def test_imdsv2_off_a_terminal_without_yes_changes_nothing_and_names_yes(
    sandbox: Sandbox, ec2: Any, amictl: Any
) -> None:
    images = [sandbox.create_image("us-east-1", f"img-{n}") for n in range(2)]

    r = amictl(["imdsv2", *images, "-o", "json"], input="yes\n")

    assert r.exit_code == 3, r
    assert r.json["command"] == "enforce-imdsv2"
    assert [(res["status"], res["error"]["code"]) for res in r.json["results"]] == [
        ("skipped", "ConfirmationRequired")
    ] * 2
    assert "--yes" in r.stderr
    assert sandbox.mutating_requests() == []
    assert all("ImdsSupport" not in image(ec2, i) for i in images)


# ---------------------------------------------------------------- the typed `yes` (pty)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "approved"),
    [
        pytest.param("y", False, id="y"),
        pytest.param("YES", False, id="YES"),
        pytest.param("no", False, id="no"),
        pytest.param("", False, id="empty"),
        pytest.param(" yes ", True, id="yes-with-spaces"),
    ],
)
def test_imdsv2_prompt_on_a_terminal_needs_the_typed_word_yes(
    sandbox: Sandbox, ec2: Any, answer: str, approved: bool
) -> None:
    images = [sandbox.create_image("us-east-1", f"img-{n}") for n in range(2)]
    already = sandbox.create_image("us-east-1", "img-v2", imds_v2=True)

    child = spawn_amictl(["imdsv2", *images, already])
    child.expect("Type 'yes'")
    shown = child.before
    assert re.search(r"cannot be undone|permanent|irreversible", shown, re.IGNORECASE), shown
    assert all(i in shown for i in images), shown
    assert sandbox.mutating_requests() == []  # nothing is sent before the answer
    child.sendline(answer)
    code = finish(child)

    if approved:
        assert code == 0, child.before
        assert sorted(p["ImageId"] for _, p in calls(sandbox)) == sorted(images)
        assert all(image(ec2, i)["ImdsSupport"] == "v2.0" for i in images)
    else:
        assert code == 3, child.before
        assert sandbox.mutating_requests() == []
        assert all("ImdsSupport" not in image(ec2, i) for i in images)
