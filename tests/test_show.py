"""`show` (alias `status`) against the emulator: table, exact JSON, text, errors, selectors."""

from __future__ import annotations

from typing import Any

from amictl.sandbox import Sandbox

ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"


def test_show_json_is_exactly_the_spec_document(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    image_id = sandbox.create_image(
        "us-east-1",
        "base-2026-12-01",
        description="Base image",
        accounts=["444455556666", "111122223333"],
        organizations=[ORG],
        organizational_units=[OU],
        imds_v2=True,
    )
    snapshot_id = ec2.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"][0][
        "Ebs"
    ]["SnapshotId"]
    r = amictl(["show", image_id, "-o", "json"])
    assert r.exit_code == 0, r
    assert r.json == {
        "images": [
            {
                "image_id": image_id,
                "region": "us-east-1",
                "name": "base-2026-12-01",
                "owner_id": sandbox.account_id,
                "state": "available",
                "public": False,
                "accounts": ["111122223333", "444455556666"],
                "organizations": [ORG],
                "organizational_units": [OU],
                "description": "Base image",
                "imds_support": "v2.0",
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
        ],
        "errors": [],
    }


def test_status_alias_and_snapshot_permissions(sandbox: Sandbox, amictl: Any) -> None:
    image_id = sandbox.create_image(
        "us-east-1", "with-snap", accounts=["111122223333"], snapshot_accounts=["111122223333"]
    )
    r = amictl(["status", image_id, "--snapshots", "-o", "json"])
    assert r.exit_code == 0, r
    [snapshot] = r.json["images"][0]["snapshots"]
    assert snapshot["accounts"] == ["111122223333"]
    assert snapshot["public"] is False


def test_show_product_codes_and_encryption(sandbox: Sandbox, amictl: Any) -> None:
    market = sandbox.create_image("us-east-1", "market", product_code="774F4FF8")
    secret = sandbox.create_image("us-east-1", "secret", encrypted="customer")
    r = amictl(["show", market, secret, "-o", "json"])
    assert r.exit_code == 0, r
    by_name = {i["name"]: i for i in r.json["images"]}
    assert by_name["market"]["product_codes"] == [{"id": "774F4FF8", "type": "marketplace"}]
    [snapshot] = by_name["secret"]["snapshots"]
    assert snapshot["encrypted"] is True
    assert snapshot["kms_key_id"].startswith("arn:aws:kms:us-east-1:")


def test_not_found_is_a_per_image_error(sandbox: Sandbox, amictl: Any) -> None:
    good = sandbox.create_image("us-east-1", "good")
    missing = "ami-0123456789abcdef0"
    r = amictl(["show", good, missing, "-o", "json"])
    assert r.exit_code == 1, r
    assert [i["image_id"] for i in r.json["images"]] == [good]
    [error] = r.json["errors"]
    assert error["image_id"] == missing
    assert error["region"] == "us-east-1"
    assert error["code"] == "InvalidAMIID.NotFound"
    assert missing in error["message"]
    assert "Traceback" not in r.stderr


def test_selectors_match_only_owned_images(sandbox: Sandbox, amictl: Any) -> None:
    mine = sandbox.create_image("us-east-1", "mine", tags={"Team": "base"})
    other = sandbox.create_image("us-east-1", "other", tags={"Team": "data"})
    foreign = sandbox.create_image(
        "us-east-1", "foreign", owner_id="999988887777", public=True, tags={"Team": "base"}
    )
    r = amictl(["show", "--tag", "Team=base", "-o", "json"])
    assert r.exit_code == 0, r
    assert [i["image_id"] for i in r.json["images"]] == [mine]
    r = amictl(["show", "--all", "-o", "json"])
    assert {i["image_id"] for i in r.json["images"]} == {mine, other}
    r = amictl(["show", "--filter", "name=other,mine", "-o", "json"])
    assert {i["image_id"] for i in r.json["images"]} == {mine, other}
    # An explicit ID of someone else's public image can still be shown.
    r = amictl(["show", foreign, "-o", "json"])
    assert r.exit_code == 0, r
    assert r.json["images"][0]["owner_id"] == "999988887777"


def test_several_regions_one_describe_images_each(sandbox: Sandbox, amictl: Any) -> None:
    east = [sandbox.create_image("us-east-1", f"e{i}", tags={"T": "x"}) for i in range(3)]
    west = [sandbox.create_image("eu-west-1", f"w{i}", tags={"T": "x"}) for i in range(2)]
    sandbox.clear_requests()
    r = amictl(["show", "--tag", "T=x", "--region", "us-east-1,eu-west-1", "-o", "json"])
    assert r.exit_code == 0, r
    assert [(i["region"], i["image_id"]) for i in r.json["images"]] == sorted(
        [("eu-west-1", w) for w in west] + [("us-east-1", e) for e in east]
    )
    describe = [q for q in sandbox.requests if q.action == "DescribeImages"]
    assert sorted(q.region for q in describe) == ["eu-west-1", "us-east-1"]


def test_table_on_terminal_shows_state_and_block_public_access(
    sandbox: Sandbox, amictl: Any
) -> None:
    image_id = sandbox.create_image(
        "us-east-1", "tabled", accounts=["111122223333"], description="[red]literal[/red]"
    )
    sandbox.set_block_public_access("us-east-1", "block-new-sharing")
    r = amictl(["show", image_id])
    assert r.exit_code == 0, r
    assert image_id in r.stdout
    assert "111122223333" in r.stdout
    assert "[red]literal[/red]" in r.stdout
    assert "block-new-sharing" in r.stdout


def test_text_output_one_line_per_image(sandbox: Sandbox, amictl: Any) -> None:
    a = sandbox.create_image("us-east-1", "a", accounts=["111122223333"])
    b = sandbox.create_image("us-east-1", "b", public=True)
    r = amictl(["show", a, b, "-o", "text"])
    assert r.exit_code == 0, r
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    fields = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert fields[a][1:4] == ["us-east-1", "a", "no"]
    assert fields[a][4] == "111122223333"
    assert fields[b][3] == "yes"


def test_many_images_get_one_row_each(sandbox: Sandbox, amictl: Any) -> None:
    ids = [
        sandbox.create_image("us-east-1", f"row-{i}", tags={"Row": "y"}, accounts=["111122223333"])
        for i in range(4)
    ]
    sandbox.create_image("us-east-1", "org-row", tags={"Row": "y"}, organizations=[ORG])
    r = amictl(["show", "--tag", "Row=y"])
    assert r.exit_code == 0, r
    rows = [line for line in r.stdout.splitlines() if "ami-" in line]
    assert len(rows) == 5
    for image_id in ids:
        [row] = [line for line in rows if image_id in line]
        assert "111122223333" in row
    [org_row] = [line for line in rows if "org-row" in line]
    assert "o-abc123def4" in org_row
    assert "description" not in r.stdout  # the per-image cards are not printed
    assert "5 images" in r.stderr
