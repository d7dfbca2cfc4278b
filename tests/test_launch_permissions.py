"""share, unshare, make-public, make-private and reset against the emulator over HTTP.

Each test runs the CLI, then reads the image back with a plain boto3 client; the recorded
requests are checked only where the wire form itself is the contract (spec §4, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from amictl.ec2 import Boto3Gateway, ClientSettings
from amictl.model import Command, Intent, LaunchTargets, Status
from amictl.plan import plan_all
from amictl.runner import Runner, RunOptions, Selection
from amictl.sandbox import Sandbox

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ACCOUNT = "111122223333"
ACCOUNT_2 = "444455556666"
ACCOUNT_3 = "777788889999"
FOREIGN_OWNER = "999988887777"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
MARKETPLACE_CODE = "8fj2k4l1m9n0p3q5r7s6t2u4v"
MISSING = "ami-0123456789abcdef0"


# ---------------------------------------------------------------- helpers


def permissions(ec2: Any, image_id: str) -> list[dict[str, str]]:
    """DescribeImageAttribute(launchPermission), sorted."""
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(answer["LaunchPermissions"], key=lambda p: sorted(p.items()))


def is_public(ec2: Any, image_id: str) -> bool:
    return bool(ec2.describe_images(ImageIds=[image_id])["Images"][0]["Public"])


def snapshot_of(ec2: Any, image_id: str) -> str:
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    return str(image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"])


def snapshot_accounts(ec2: Any, snapshot_id: str) -> list[str]:
    answer = ec2.describe_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission"
    )
    return sorted(p["UserId"] for p in answer["CreateVolumePermissions"] if "UserId" in p)


def sent(sandbox: Sandbox, action: str = "ModifyImageAttribute") -> list[dict[str, str]]:
    """The parameters of every real (not DryRun) call of `action`, in arrival order."""
    return [dict(r.params) for r in sandbox.mutating_requests(action, include_dry_run=False)]


def result_for(doc: dict[str, Any], image_id: str) -> dict[str, Any]:
    matches = [r for r in doc["results"] if r["image_id"] == image_id]
    assert len(matches) == 1, doc
    return matches[0]


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["image_id"]: r["status"] for r in doc["results"]}


def users(*accounts: str) -> list[dict[str, str]]:
    return [{"UserId": a} for a in sorted(accounts)]


# ---------------------------------------------------------------- each command, wire form and state


def test_share_adds_one_account_with_the_structured_wire_form(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-share")
    r = amictl(["share", image_id, "--account", ACCOUNT, "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "changed"
    assert permissions(ec2, image_id) == users(ACCOUNT)
    assert not is_public(ec2, image_id)
    assert sent(sandbox) == [{"ImageId": image_id, "LaunchPermission.Add.1.UserId": ACCOUNT}]


def test_make_public_adds_group_all(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-public", accounts=[ACCOUNT])
    r = amictl(["make-public", image_id, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "changed"
    assert is_public(ec2, image_id)
    assert permissions(ec2, image_id) == [{"Group": "all"}, *users(ACCOUNT)]
    assert sent(sandbox) == [{"ImageId": image_id, "LaunchPermission.Add.1.Group": "all"}]


def test_make_private_removes_group_all_and_keeps_explicit_shares(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(
        REGION, "img-private", public=True, accounts=[ACCOUNT], organizations=[ORG]
    )
    r = amictl(["make-private", image_id, "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "changed"
    assert not is_public(ec2, image_id)
    assert permissions(ec2, image_id) == [{"OrganizationArn": ORG}, *users(ACCOUNT)]
    assert sent(sandbox) == [{"ImageId": image_id, "LaunchPermission.Remove.1.Group": "all"}]


def test_share_sends_accounts_org_and_ou_in_one_call_without_those_already_there(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-mixed", accounts=[ACCOUNT])
    r = amictl(
        [
            "share",
            image_id,
            "--account",
            f"{ACCOUNT},{ACCOUNT_2}",
            "--account",
            ACCOUNT_3,
            "--org",
            ORG,
            "--ou",
            OU,
        ]
    )
    assert r.exit_code == 0, r
    assert {tuple(sorted(p.items())) for p in permissions(ec2, image_id)} == {
        (("UserId", ACCOUNT),),
        (("UserId", ACCOUNT_2),),
        (("UserId", ACCOUNT_3),),
        (("OrganizationArn", ORG),),
        (("OrganizationalUnitArn", OU),),
    }
    # One call carries every new target; ACCOUNT was already there and is not sent.
    assert sent(sandbox) == [
        {
            "ImageId": image_id,
            "LaunchPermission.Add.1.UserId": ACCOUNT_2,
            "LaunchPermission.Add.2.UserId": ACCOUNT_3,
            "LaunchPermission.Add.3.OrganizationArn": ORG,
            "LaunchPermission.Add.4.OrganizationalUnitArn": OU,
        }
    ]


@pytest.mark.parametrize(
    "account_args",
    [
        ["--account", f"{ACCOUNT},{ACCOUNT_2}"],
        ["--account", f"{ACCOUNT_2}, {ACCOUNT}", "--account", ACCOUNT],
    ],
    ids=["comma-separated", "repeated-with-duplicate"],
)
def test_account_is_repeatable_and_comma_separated(
    sandbox: Sandbox, amictl: Any, ec2: Any, account_args: list[str]
) -> None:
    image_id = sandbox.create_image(REGION, "img-accounts")
    r = amictl(["share", image_id, *account_args])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == users(ACCOUNT, ACCOUNT_2)
    assert len(sent(sandbox)) == 1


def test_account_aliases_come_from_the_config_file(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path
) -> None:
    config = tmp_path / "amictl.toml"
    config.write_text(f'[accounts]\nprod = "{ACCOUNT}"\nstaging = "{ACCOUNT_2}"\n')
    image_id = sandbox.create_image(REGION, "img-alias")
    r = amictl(["share", image_id, "--account", "prod,staging", "--config", str(config)])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == users(ACCOUNT, ACCOUNT_2)


def test_unknown_alias_is_a_usage_error_and_sends_nothing(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path
) -> None:
    config = tmp_path / "amictl.toml"
    config.write_text(f'[accounts]\nprod = "{ACCOUNT}"\n')
    image_id = sandbox.create_image(REGION, "img-alias")
    r = amictl(["share", image_id, "--account", "prdo", "--config", str(config)])
    assert r.exit_code == 2, r
    assert "prdo" in r.stderr
    assert permissions(ec2, image_id) == []
    assert sandbox.mutating_requests() == []


def test_org_and_ou_arns_are_shared_and_unshared(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-org")
    r = amictl(["share", image_id, "--org", ORG, "--ou", OU])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == [
        {"OrganizationArn": ORG},
        {"OrganizationalUnitArn": OU},
    ]
    r = amictl(["unshare", image_id, "--ou", OU])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == [{"OrganizationArn": ORG}]
    assert sent(sandbox)[-1] == {
        "ImageId": image_id,
        "LaunchPermission.Remove.1.OrganizationalUnitArn": OU,
    }


@pytest.mark.parametrize("bad", ["o-abc123def4", "arn:aws:organizations::123:organization/o-x"])
def test_a_bare_org_id_or_bad_arn_is_a_usage_error(
    sandbox: Sandbox, amictl: Any, ec2: Any, bad: str
) -> None:
    image_id = sandbox.create_image(REGION, "img-org")
    r = amictl(["share", image_id, "--org", bad])
    assert r.exit_code == 2, r
    assert sandbox.mutating_requests() == []
    assert permissions(ec2, image_id) == []


def test_unshare_removes_only_the_named_account(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-unshare", accounts=[ACCOUNT, ACCOUNT_2])
    r = amictl(["unshare", image_id, "--account", ACCOUNT, "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "changed"
    assert permissions(ec2, image_id) == users(ACCOUNT_2)
    assert sent(sandbox) == [{"ImageId": image_id, "LaunchPermission.Remove.1.UserId": ACCOUNT}]


def test_unshare_all_shares_removes_every_share_but_not_public(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(
        REGION,
        "img-all-shares",
        public=True,
        accounts=[ACCOUNT, ACCOUNT_2],
        organizations=[ORG],
        organizational_units=[OU],
    )
    r = amictl(["unshare", image_id, "--all-shares"])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == [{"Group": "all"}]
    assert sent(sandbox) == [
        {
            "ImageId": image_id,
            "LaunchPermission.Remove.1.UserId": ACCOUNT,
            "LaunchPermission.Remove.2.UserId": ACCOUNT_2,
            "LaunchPermission.Remove.3.OrganizationArn": ORG,
            "LaunchPermission.Remove.4.OrganizationalUnitArn": OU,
        }
    ]


def test_reset_sends_reset_image_attribute_and_leaves_the_image_private(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(
        REGION, "img-reset", public=True, accounts=[ACCOUNT], organizational_units=[OU]
    )
    r = amictl(["reset", image_id, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    result = result_for(r.json, image_id)
    assert result["status"] == "changed"
    assert (result["after"]["public"], result["after"]["accounts"]) == (False, [])
    assert permissions(ec2, image_id) == []
    assert not is_public(ec2, image_id)
    assert sent(sandbox, "ResetImageAttribute") == [
        {"ImageId": image_id, "Attribute": "launchPermission"}
    ]
    assert sent(sandbox) == []  # no ModifyImageAttribute


def test_remove_is_sent_before_add_in_two_calls(sandbox: Sandbox, ec2: Any) -> None:
    """No CLI command both adds and removes; the exact-set intent a policy uses does.
    Driven through the runner and the boto3 gateway, over HTTP."""
    image_id = sandbox.create_image(REGION, "img-exact", accounts=[ACCOUNT], organizations=[ORG])
    gateway = Boto3Gateway(ClientSettings(endpoint_url=sandbox.endpoint_url))
    runner = Runner(gateway, RunOptions(verify_timeout=5))
    read = runner.read([REGION], Selection((image_id,)))
    intent = Intent(Command.UNSHARE, add=LaunchTargets.of([ACCOUNT_2]), remove_all_shares=True)
    outcome = runner.execute(plan_all(intent, read.states, read.block_public_access))
    assert [r.status for r in outcome.results] == [Status.CHANGED], outcome
    assert permissions(ec2, image_id) == users(ACCOUNT_2)
    assert sent(sandbox) == [
        {
            "ImageId": image_id,
            "LaunchPermission.Remove.1.UserId": ACCOUNT,
            "LaunchPermission.Remove.2.OrganizationArn": ORG,
        },
        {"ImageId": image_id, "LaunchPermission.Add.1.UserId": ACCOUNT_2},
    ]


# ---------------------------------------------------------------- selectors, two regions


@pytest.fixture
def two_regions(sandbox: Sandbox) -> dict[str, str]:
    """Owned images in two regions (two tagged Team=base, one not), plus a foreign public
    image with the same tag that selectors must never pick."""
    return {
        "base-east": sandbox.create_image(REGION, "base-2026-12-01", tags={"Team": "base"}),
        "base-west": sandbox.create_image(OTHER_REGION, "base-2026-12-02", tags={"Team": "base"}),
        "data-east": sandbox.create_image(REGION, "data-2026-12-01", tags={"Team": "data"}),
        "foreign": sandbox.create_image(
            REGION,
            "partner-base",
            tags={"Team": "base"},
            public=True,
            owner_id=FOREIGN_OWNER,
        ),
    }


def ec2_in(sandbox: Sandbox, region: str) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=sandbox.endpoint_url)


@pytest.mark.parametrize(
    "selector",
    [["--tag", "Team=base"], ["--filter", "name=base-*"]],
    ids=["tag", "filter-name"],
)
def test_selector_shares_only_matching_owned_images_in_every_region(
    sandbox: Sandbox, amictl: Any, two_regions: dict[str, str], selector: list[str]
) -> None:
    regions = ["--region", REGION, "--region", OTHER_REGION]
    r = amictl(["share", *selector, *regions, "--account", ACCOUNT, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    assert statuses(r.json) == {
        two_regions["base-east"]: "changed",
        two_regions["base-west"]: "changed",
    }
    assert result_for(r.json, two_regions["base-west"])["region"] == OTHER_REGION
    east, west = ec2_in(sandbox, REGION), ec2_in(sandbox, OTHER_REGION)
    assert permissions(east, two_regions["base-east"]) == users(ACCOUNT)
    assert permissions(west, two_regions["base-west"]) == users(ACCOUNT)
    assert permissions(east, two_regions["data-east"]) == []
    assert is_public(east, two_regions["foreign"])
    touched = {(q.region, q.params["ImageId"]) for q in sandbox.mutating_requests()}
    assert touched == {(REGION, two_regions["base-east"]), (OTHER_REGION, two_regions["base-west"])}


def test_all_selects_every_owned_image_in_both_regions(
    sandbox: Sandbox, amictl: Any, two_regions: dict[str, str]
) -> None:
    regions = ["--region", REGION, "--region", OTHER_REGION]
    r = amictl(["make-public", "--all", *regions, "--yes", "-o", "json"])
    assert r.exit_code == 0, r
    owned = {two_regions[k] for k in ("base-east", "base-west", "data-east")}
    assert statuses(r.json) == dict.fromkeys(owned, "changed")
    assert is_public(ec2_in(sandbox, REGION), two_regions["data-east"])
    assert is_public(ec2_in(sandbox, OTHER_REGION), two_regions["base-west"])
    assert {q.params["ImageId"] for q in sandbox.mutating_requests()} == owned


def test_block_public_access_refuses_only_in_its_region(
    sandbox: Sandbox, amictl: Any, two_regions: dict[str, str]
) -> None:
    sandbox.set_block_public_access(OTHER_REGION, "block-new-sharing")
    regions = ["--region", REGION, "--region", OTHER_REGION]
    r = amictl(["make-public", "--tag", "Team=base", *regions, "--yes", "-o", "json"])
    assert r.exit_code == 1, r
    west = result_for(r.json, two_regions["base-west"])
    assert (west["status"], west["error"]["code"]) == ("refused", "BlockPublicAccessEnabled")
    assert OTHER_REGION in west["error"]["message"]
    assert result_for(r.json, two_regions["base-east"])["status"] == "changed"
    assert is_public(ec2_in(sandbox, REGION), two_regions["base-east"])
    assert not is_public(ec2_in(sandbox, OTHER_REGION), two_regions["base-west"])
    assert {q.region for q in sandbox.mutating_requests()} == {REGION}


# ---------------------------------------------------------------- re-running changes nothing


def _share(i: str) -> list[str]:
    return ["share", i, "--account", ACCOUNT, "--org", ORG]


def _unshare(i: str) -> list[str]:
    return ["unshare", i, "--account", ACCOUNT]


def _unshare_all(i: str) -> list[str]:
    return ["unshare", i, "--all-shares"]


def _make_public(i: str) -> list[str]:
    return ["make-public", i, "--yes"]


def _make_private(i: str) -> list[str]:
    return ["make-private", i]


def _reset(i: str) -> list[str]:
    return ["reset", i, "--yes"]


def _share_snapshots(i: str) -> list[str]:
    return ["share", i, "--account", ACCOUNT, "--with-snapshots"]


@pytest.mark.parametrize(
    "command",
    [_share, _unshare, _unshare_all, _make_public, _make_private, _reset, _share_snapshots],
    ids=lambda c: c.__name__.lstrip("_"),
)
def test_rerunning_a_command_makes_no_mutating_call(
    sandbox: Sandbox, amictl: Any, ec2: Any, command: Any
) -> None:
    # Every command has something to change on the first run.
    image_id = sandbox.create_image(
        REGION,
        "img-rerun",
        public=command is not _make_public,
        accounts=[ACCOUNT],
        organizational_units=[OU],
    )
    first = amictl([*command(image_id), "-o", "json"])
    assert first.exit_code == 0, first
    assert first.json["command"] == command(image_id)[0]  # canonical name
    assert result_for(first.json, image_id)["status"] == "changed"
    state = (permissions(ec2, image_id), is_public(ec2, image_id))
    sandbox.clear_requests()

    again = amictl([*command(image_id), "-o", "json"])
    assert again.exit_code == 0, again
    result = result_for(again.json, image_id)
    assert (result["status"], result["after"], result["error"]) == ("unchanged", None, None)
    assert sandbox.mutating_requests() == []
    assert (permissions(ec2, image_id), is_public(ec2, image_id)) == state


def test_removing_what_is_not_there_is_unchanged(sandbox: Sandbox, amictl: Any) -> None:
    image_id = sandbox.create_image(REGION, "img-absent", accounts=[ACCOUNT_2])
    r = amictl(["unshare", image_id, "--account", ACCOUNT, "--org", ORG, "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "unchanged"
    assert sandbox.mutating_requests() == []


# ---------------------------------------------------------------- safety rules


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
@pytest.mark.parametrize(
    ("kind", "code", "fix"),
    [
        ("marketplace", "ProductCodesForbidPublic", "amictl share"),
        ("encrypted", "EncryptedSnapshotsForbidPublic", "amictl share"),
        ("block-public-access", "BlockPublicAccessEnabled", "disable-image-block-public-access"),
    ],
)
def test_make_public_refusals_send_no_call_at_all(
    sandbox: Sandbox,
    amictl: Any,
    ec2: Any,
    kind: str,
    code: str,
    fix: str,
    dry_run: bool,
) -> None:
    if kind == "marketplace":
        image_id = sandbox.create_image(REGION, "img-mp", product_code=MARKETPLACE_CODE)
    elif kind == "encrypted":
        image_id = sandbox.create_image(REGION, "img-enc", encrypted="customer")
    else:
        image_id = sandbox.create_image(REGION, "img-bpa")
        sandbox.set_block_public_access(REGION, "block-new-sharing")
    r = amictl(["make-public", image_id, "--yes", "-o", "json", *(["--dry-run"] * dry_run)])
    assert r.exit_code == 1, r
    result = result_for(r.json, image_id)
    assert (result["status"], result["error"]["code"], result["after"]) == ("refused", code, None)
    assert fix in result["error"]["message"]
    assert sandbox.mutating_requests() == []  # not even a DryRun probe
    assert not is_public(ec2, image_id)


@pytest.mark.parametrize(
    "extra", [[], ["--with-snapshots", "--dry-run"]], ids=["launch-only", "snapshots-dry-run"]
)
def test_sharing_an_aws_managed_key_image_is_refused_without_a_call(
    sandbox: Sandbox, amictl: Any, ec2: Any, extra: list[str]
) -> None:
    image_id = sandbox.create_image(REGION, "img-aws-key", encrypted="aws-managed")
    r = amictl(["share", image_id, "--account", ACCOUNT, "-o", "json", *extra])
    assert r.exit_code == 1, r
    result = result_for(r.json, image_id)
    assert (result["status"], result["error"]["code"]) == ("refused", "DefaultKeyForbidsSharing")
    assert "copy-image" in result["error"]["message"]
    assert sandbox.mutating_requests() == []
    assert permissions(ec2, image_id) == []


def test_when_the_key_manager_cannot_be_read_ec2_has_the_last_word(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-aws-key", encrypted="aws-managed")
    sandbox.deny({"kms:DescribeKey"})
    r = amictl(["share", image_id, "--account", ACCOUNT, "-o", "json"])
    assert r.exit_code == 1, r
    result = result_for(r.json, image_id)
    assert (result["status"], result["error"]["code"]) == ("failed", "InvalidParameter")
    assert "key manager unknown" in r.stderr
    assert permissions(ec2, image_id) == []


@pytest.mark.parametrize("output", ["table", "json"])
def test_sharing_a_customer_key_image_proceeds_with_a_warning_on_stderr(
    sandbox: Sandbox, amictl: Any, ec2: Any, output: str
) -> None:
    image_id = sandbox.create_image(REGION, "img-cmk", encrypted="customer")
    r = amictl(["share", image_id, "--account", ACCOUNT, "-o", output])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == users(ACCOUNT)
    assert "key policy or a grant" in r.stderr
    assert ACCOUNT in r.stderr
    assert "key policy" not in r.stdout
    if output == "json":
        assert result_for(r.json, image_id)["status"] == "changed"  # stdout is only JSON


def test_the_owner_account_is_never_sent_and_a_warning_says_why(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    """The owner's launch permission is implicit and EC2 does not list it, so sending it
    could never be verified: amictl drops it and tells the user."""
    image_id = sandbox.create_image(REGION, "img-own")
    owner = sandbox.account_id
    r = amictl(["share", image_id, "--account", owner, "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["status"] == "unchanged"
    assert f"account {owner} owns the image" in r.stderr
    assert sent(sandbox) == []

    r = amictl(["share", image_id, "--account", f"{owner},{ACCOUNT}", "-o", "json"])
    assert r.exit_code == 0, r
    assert sent(sandbox) == [{"ImageId": image_id, "LaunchPermission.Add.1.UserId": ACCOUNT}]
    assert permissions(ec2, image_id) == users(ACCOUNT)


def test_a_missing_image_does_not_stop_the_others(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    good = sandbox.create_image(REGION, "img-good")
    r = amictl(["share", MISSING, good, "--account", ACCOUNT, "-o", "json"])
    assert r.exit_code == 1, r
    assert result_for(r.json, good)["status"] == "changed"
    missing = result_for(r.json, MISSING)
    assert MISSING in missing["error"]["message"]
    assert missing == {
        "image_id": MISSING,
        "region": REGION,
        "status": "failed",
        "before": None,
        "after": None,
        "error": {"code": "InvalidAMIID.NotFound", "message": missing["error"]["message"]},
    }
    assert permissions(ec2, good) == users(ACCOUNT)


def test_a_refused_image_does_not_stop_the_others(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    refused = sandbox.create_image(REGION, "img-mp", product_code=MARKETPLACE_CODE)
    good = sandbox.create_image(REGION, "img-good")
    r = amictl(["make-public", refused, good, "--yes", "-o", "json"])
    assert r.exit_code == 1, r
    assert statuses(r.json) == {refused: "refused", good: "changed"}
    assert is_public(ec2, good)
    assert not is_public(ec2, refused)
    assert {q.params["ImageId"] for q in sandbox.mutating_requests()} == {good}


def test_an_aws_error_on_one_image_does_not_stop_the_others(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    foreign = sandbox.create_image(REGION, "img-foreign", public=True, owner_id=FOREIGN_OWNER)
    good = sandbox.create_image(REGION, "img-good", public=True)
    r = amictl(["make-private", foreign, good, "-o", "json"])
    assert r.exit_code == 1, r
    assert result_for(r.json, good)["status"] == "changed"
    assert result_for(r.json, foreign)["status"] == "failed"
    assert not is_public(ec2, good)
    assert is_public(ec2, foreign)


# ---------------------------------------------------------------- dry run


@pytest.mark.parametrize(
    ("args", "action"),
    [
        (["share", "{id}", "--account", ACCOUNT], "ModifyImageAttribute"),
        (["make-public", "{id}"], "ModifyImageAttribute"),
        (["reset", "{id}"], "ResetImageAttribute"),
        (["unshare", "{id}", "--all-shares"], "ModifyImageAttribute"),
    ],
    ids=["share", "make-public", "reset", "unshare-all"],
)
def test_dry_run_sends_dry_run_calls_only_and_never_prompts(
    sandbox: Sandbox, amictl: Any, ec2: Any, args: Sequence[str], action: str
) -> None:
    image_id = sandbox.create_image(REGION, "img-dry", accounts=[ACCOUNT_2])
    before = permissions(ec2, image_id)
    argv = [a.replace("{id}", image_id) for a in args]
    # No --yes and stdin is not a terminal: a prompt would end in exit 3.
    r = amictl([*argv, "--dry-run", "-o", "json"])
    assert r.exit_code == 0, r
    assert (r.json["command"], r.json["dry_run"]) == (argv[0], True)
    result = result_for(r.json, image_id)
    assert (result["status"], result["after"], result["error"]) == ("would-change", None, None)
    assert permissions(ec2, image_id) == before
    calls = sandbox.mutating_requests()
    assert [(q.action, q.dry_run) for q in calls] == [(action, True)]
    assert calls[0].error == "DryRunOperation"


def test_dry_run_denied_by_iam_fails_with_unauthorized_operation(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-deny")
    other = sandbox.create_image(REGION, "img-deny-2")
    sandbox.deny({"ModifyImageAttribute"})
    r = amictl(["share", image_id, other, "--account", ACCOUNT, "--dry-run", "-o", "json"])
    assert r.exit_code == 1, r
    for i in (image_id, other):
        result = result_for(r.json, i)
        assert (result["status"], result["after"]) == ("failed", None)
        assert result["error"]["code"] == "UnauthorizedOperation"
    assert permissions(ec2, image_id) == []
    assert all(q.dry_run for q in sandbox.mutating_requests())


# ---------------------------------------------------------------- --with-snapshots


def test_with_snapshots_shares_and_unshares_create_volume_permission(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-snap")
    snapshot_id = snapshot_of(ec2, image_id)

    r = amictl(["share", image_id, "--account", ACCOUNT, "--with-snapshots", "-o", "json"])
    assert r.exit_code == 0, r
    after = result_for(r.json, image_id)["after"]
    assert after["snapshots"][0]["accounts"] == [ACCOUNT]  # verified by reading back
    assert permissions(ec2, image_id) == users(ACCOUNT)
    assert snapshot_accounts(ec2, snapshot_id) == [ACCOUNT]
    assert sent(sandbox, "ModifySnapshotAttribute") == [
        {
            "SnapshotId": snapshot_id,
            "Attribute": "createVolumePermission",
            "CreateVolumePermission.Add.1.UserId": ACCOUNT,
        }
    ]

    r = amictl(["unshare", image_id, "--account", ACCOUNT, "--with-snapshots", "-o", "json"])
    assert r.exit_code == 0, r
    assert result_for(r.json, image_id)["after"]["snapshots"][0]["accounts"] == []
    assert permissions(ec2, image_id) == []
    assert snapshot_accounts(ec2, snapshot_id) == []


def test_unshare_all_shares_with_snapshots_clears_the_snapshot_too(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(
        REGION,
        "img-snap",
        accounts=[ACCOUNT, ACCOUNT_2],
        organizations=[ORG],
        snapshot_accounts=[ACCOUNT, ACCOUNT_2],
    )
    r = amictl(["unshare", image_id, "--all-shares", "--with-snapshots"])
    assert r.exit_code == 0, r
    assert permissions(ec2, image_id) == []
    assert snapshot_accounts(ec2, snapshot_of(ec2, image_id)) == []


def test_with_snapshots_repairs_an_image_shared_without_its_snapshot(
    sandbox: Sandbox, amictl: Any, ec2: Any
) -> None:
    image_id = sandbox.create_image(REGION, "img-snap", accounts=[ACCOUNT])
    snapshot_id = snapshot_of(ec2, image_id)
    r = amictl(["share", image_id, "--account", ACCOUNT, "--with-snapshots"])
    assert r.exit_code == 0, r
    assert snapshot_accounts(ec2, snapshot_id) == [ACCOUNT]
    assert sent(sandbox) == []  # the image itself already had the account


def test_with_snapshots_from_the_config_file(
    sandbox: Sandbox, amictl: Any, ec2: Any, tmp_path: Path
) -> None:
    config = tmp_path / "amictl.toml"
    config.write_text("[defaults]\nwith_snapshots = true\n")
    image_id = sandbox.create_image(REGION, "img-snap")
    r = amictl(["share", image_id, "--account", ACCOUNT, "--config", str(config)])
    assert r.exit_code == 0, r
    assert snapshot_accounts(ec2, snapshot_of(ec2, image_id)) == [ACCOUNT]


# ---------------------------------------------------------------- JSON document (spec §6)


def image_json(sandbox: Sandbox, image_id: str, snapshot_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "image_id": image_id,
        "region": REGION,
        "name": "base-2026-12-01",
        "owner_id": sandbox.account_id,
        "state": "available",
        "public": False,
        "accounts": [],
        "organizations": [],
        "organizational_units": [],
        "description": "Base image",
        "imds_support": None,
        "product_codes": [],
        "snapshots": [
            {
                "snapshot_id": snapshot_id,
                "encrypted": False,
                "kms_key_id": None,
                "accounts": None,
                "public": None,
            }
        ],
    }
    doc.update(changes)
    return doc


def test_json_is_exactly_the_spec_document(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(
        REGION, "base-2026-12-01", description="Base image", accounts=[ACCOUNT_2]
    )
    snapshot_id = snapshot_of(ec2, image_id)
    r = amictl(["share", image_id, "--account", ACCOUNT, "--org", ORG, "-o", "json"])
    assert r.exit_code == 0, r
    assert r.stdout.startswith("{") and r.stdout.rstrip().endswith("}")
    assert r.json == {
        "command": "share",
        "dry_run": False,
        "results": [
            {
                "image_id": image_id,
                "region": REGION,
                "status": "changed",
                "before": image_json(sandbox, image_id, snapshot_id, accounts=[ACCOUNT_2]),
                "after": image_json(
                    sandbox,
                    image_id,
                    snapshot_id,
                    accounts=[ACCOUNT, ACCOUNT_2],
                    organizations=[ORG],
                ),
                "error": None,
            }
        ],
    }
    assert list(r.json) == ["command", "dry_run", "results"]
    assert list(r.json["results"][0]) == [
        "image_id",
        "region",
        "status",
        "before",
        "after",
        "error",
    ]


def test_json_refusal_document(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(
        REGION, "base-2026-12-01", description="Base image", product_code=MARKETPLACE_CODE
    )
    snapshot_id = snapshot_of(ec2, image_id)
    r = amictl(["make-public", image_id, "--yes", "-o", "json"])
    assert r.exit_code == 1, r
    doc = r.json
    message = doc["results"][0]["error"]["message"]
    assert MARKETPLACE_CODE in message
    assert doc == {
        "command": "make-public",
        "dry_run": False,
        "results": [
            {
                "image_id": image_id,
                "region": REGION,
                "status": "refused",
                "before": image_json(
                    sandbox,
                    image_id,
                    snapshot_id,
                    product_codes=[{"id": MARKETPLACE_CODE, "type": "marketplace"}],
                ),
                "after": None,
                "error": {"code": "ProductCodesForbidPublic", "message": message},
            }
        ],
    }
