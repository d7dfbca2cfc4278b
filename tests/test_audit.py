"""`audit`: the pure rules (tables of image states → findings), then the command against
the emulator (exact JSON, exit codes per --fail-on, trust lists from the config file,
reads only)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from amictl.audit import (
    Finding,
    Severity,
    audit_all,
    audit_image,
    fail_on_exit,
    organization_id,
    parse_fail_on,
    summary_line,
)
from amictl.audit_command import audit_exit_code
from amictl.config import parse_config
from amictl.errors import ExitCode
from amictl.model import ImageState, KeyManager, LaunchTargets, SnapshotState
from amictl.sandbox import Sandbox

IMAGE = "ami-0123456789abcdef0"
REGION = "us-east-1"
SNAP = "snap-0123456789abcdef0"
SNAP_2 = "snap-0fedcba9876543210"
PROD = "111122223333"
STAGING = "444455556666"
STRANGER = "777788889999"
ORG = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
OTHER_ORG = "arn:aws:organizations::210987654321:organization/o-zzz999yyy8"
OTHER_OU = "arn:aws:organizations::210987654321:ou/o-zzz999yyy8/ou-zz99-yy88xx77"
PRIVATE = LaunchTargets()


def snapshot(
    snapshot_id: str = SNAP,
    *,
    accounts: set[str] | None = None,
    public: bool | None = False,
    key: KeyManager | None = None,
) -> SnapshotState:
    """A snapshot whose permissions were read (accounts default to none)."""
    return SnapshotState(
        snapshot_id,
        encrypted=key is not None,
        kms_key_id=None if key is None else f"arn:aws:kms:{REGION}:123456789012:key/k",
        key_manager=key,
        accounts=frozenset(accounts or ()) if public is not None else None,
        public=public,
    )


def image(
    *,
    launch: LaunchTargets = PRIVATE,
    imds: str | None = "v2.0",
    snapshots: tuple[SnapshotState, ...] = (),
    image_id: str = IMAGE,
    region: str = REGION,
) -> ImageState:
    """An image with nothing wrong unless told: private, IMDSv2 enforced, snapshot
    unencrypted and not shared."""
    return ImageState(
        image_id=image_id,
        region=region,
        name="base",
        owner_id="123456789012",
        state="available",
        launch=launch,
        imds_support=imds,
        snapshots=snapshots or (snapshot(),),
    )


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


# ---------------------------------------------------------------- pure rules


def test_a_clean_image_has_no_findings() -> None:
    assert audit_image(image()) == []


@pytest.mark.parametrize(
    ("state", "trusted_accounts", "trusted_orgs", "expected"),
    [
        # PUBLIC_IMAGE
        (image(launch=LaunchTargets(public=True)), (), (), ["PUBLIC_IMAGE"]),
        # PUBLIC_SNAPSHOT, whether or not the image itself is shared
        (image(snapshots=(snapshot(public=True),)), (), (), ["PUBLIC_SNAPSHOT"]),
        # SHARED_OUTSIDE_TRUST: accounts
        (
            image(launch=LaunchTargets.of([STRANGER]), snapshots=(snapshot(accounts={STRANGER}),)),
            [PROD],
            [],
            ["SHARED_OUTSIDE_TRUST"],
        ),
        (
            image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(accounts={PROD}),)),
            [PROD],
            [],
            [],
        ),
        # ... organizations
        (image(launch=LaunchTargets.of(organizations=[ORG])), [], [ORG], []),
        (
            image(launch=LaunchTargets.of(organizations=[OTHER_ORG])),
            [],
            [ORG],
            ["SHARED_OUTSIDE_TRUST"],
        ),
        # ... an OU counts as trusted when its organization is trusted
        (image(launch=LaunchTargets.of(organizational_units=[OU])), [], [ORG], []),
        (
            image(launch=LaunchTargets.of(organizational_units=[OTHER_OU])),
            [],
            [ORG],
            ["SHARED_OUTSIDE_TRUST"],
        ),
        (
            image(launch=LaunchTargets.of(organizational_units=[OU])),
            [],
            [],
            ["SHARED_OUTSIDE_TRUST"],
        ),
        # ... empty trust lists trust nobody
        (image(launch=LaunchTargets.of(organizations=[ORG])), [], [], ["SHARED_OUTSIDE_TRUST"]),
        # SHARED_WITH_DEFAULT_KEY: only when shared (or public)
        (image(snapshots=(snapshot(key=KeyManager.AWS),)), (), (), []),
        (
            image(
                launch=LaunchTargets.of(organizations=[ORG]),
                snapshots=(snapshot(key=KeyManager.AWS),),
            ),
            [],
            [ORG],
            ["SHARED_WITH_DEFAULT_KEY"],
        ),
        (
            image(launch=LaunchTargets(public=True), snapshots=(snapshot(key=KeyManager.AWS),)),
            [],
            [],
            ["PUBLIC_IMAGE", "SHARED_WITH_DEFAULT_KEY"],
        ),
        # ... a customer managed key, or an unknown key manager, is not the default key
        (
            image(
                launch=LaunchTargets.of(organizations=[ORG]),
                snapshots=(snapshot(key=KeyManager.CUSTOMER),),
            ),
            [],
            [ORG],
            [],
        ),
        (
            image(
                launch=LaunchTargets.of(organizations=[ORG]),
                snapshots=(replace(snapshot(), encrypted=True),),
            ),
            [],
            [ORG],
            [],
        ),
        # SNAPSHOTS_NOT_SHARED: accounts that the snapshot does not let create volumes
        (image(launch=LaunchTargets.of([PROD])), [PROD], [], ["SNAPSHOTS_NOT_SHARED"]),
        (
            image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(accounts={PROD}),)),
            [PROD],
            [],
            [],
        ),
        # ... a public snapshot lets everyone create volumes (but is its own finding)
        (
            image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(public=True),)),
            [PROD],
            [],
            ["PUBLIC_SNAPSHOT"],
        ),
        # ... organization and OU shares are exempt: snapshots cannot be shared with them
        (
            image(launch=LaunchTargets.of(organizations=[ORG], organizational_units=[OU])),
            [],
            [ORG],
            [],
        ),
        # ... permissions not read: not guessed
        (
            image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(public=None),)),
            [PROD],
            [],
            [],
        ),
        # ... the default key is SHARED_WITH_DEFAULT_KEY's, not a sharing gap
        (
            image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(key=KeyManager.AWS),)),
            [PROD],
            [],
            ["SHARED_WITH_DEFAULT_KEY"],
        ),
        # IMDSV2_NOT_ENFORCED
        (image(imds=None), (), (), ["IMDSV2_NOT_ENFORCED"]),
        (image(imds="v1.0"), (), (), ["IMDSV2_NOT_ENFORCED"]),
    ],
)
def test_rules(
    state: ImageState,
    trusted_accounts: list[str],
    trusted_orgs: list[str],
    expected: list[str],
) -> None:
    assert codes(audit_image(state, trusted_accounts, trusted_orgs)) == expected


def test_every_rule_on_one_image_sorted_worst_first() -> None:
    state = image(
        launch=LaunchTargets.of([STRANGER], public=True),
        imds=None,
        snapshots=(snapshot(public=True), snapshot(SNAP_2, key=KeyManager.AWS)),
    )
    # No SNAPSHOTS_NOT_SHARED: one snapshot is public, the other on the default key.
    found = audit_image(state)
    assert [(f.severity, f.code) for f in found] == [
        (Severity.HIGH, "PUBLIC_IMAGE"),
        (Severity.HIGH, "PUBLIC_SNAPSHOT"),
        (Severity.MEDIUM, "SHARED_OUTSIDE_TRUST"),
        (Severity.MEDIUM, "SHARED_WITH_DEFAULT_KEY"),
        (Severity.LOW, "IMDSV2_NOT_ENFORCED"),
    ]
    assert all(f.image_id == IMAGE and f.region == REGION for f in found)
    assert all("\n" not in f.detail and "\n" not in f.fix for f in found)


def test_details_and_fixes() -> None:
    by_code = {
        f.code: f
        for f in audit_image(
            image(
                launch=LaunchTargets.of(
                    [PROD, STRANGER, STAGING], [ORG, OTHER_ORG], [OU, OTHER_OU], public=True
                ),
                imds=None,
                snapshots=(snapshot(accounts={PROD}), snapshot(SNAP_2, public=True)),
            ),
            [PROD],
            [ORG],
        )
    }
    public = by_code["PUBLIC_IMAGE"]
    assert public.fix == f"amictl make-private {IMAGE} --region {REGION}"

    snap = by_code["PUBLIC_SNAPSHOT"]
    assert SNAP_2 in snap.detail and SNAP not in snap.detail
    assert snap.fix == (
        f"aws ec2 modify-snapshot-attribute --snapshot-id {SNAP_2} --attribute "
        f"createVolumePermission --operation-type remove --group-names all --region {REGION}"
    )

    outside = by_code["SHARED_OUTSIDE_TRUST"]
    # Names what is outside the trust lists, and only that.
    for name in (STAGING, STRANGER, OTHER_ORG, OTHER_OU):
        assert name in outside.detail
    for name in (PROD, ORG, OU):
        assert name not in outside.detail
    assert outside.fix == (
        f"amictl unshare {IMAGE} --region {REGION} --account {STAGING},{STRANGER} "
        f"--org {OTHER_ORG} --ou {OTHER_OU}"
    )

    # SNAP lets only PROD create volumes; SNAP_2 is public, so it lacks nobody.
    gap = by_code["SNAPSHOTS_NOT_SHARED"]
    assert f"{SNAP} ({STAGING}, {STRANGER})" in gap.detail
    assert SNAP_2 not in gap.detail
    assert gap.fix == (
        f"amictl share {IMAGE} --region {REGION} --account {STAGING},{STRANGER} --with-snapshots"
    )

    imds = by_code["IMDSV2_NOT_ENFORCED"]
    assert imds.fix == f"amictl enforce-imdsv2 {IMAGE} --region {REGION}"
    assert "unset" in imds.detail


def test_default_key_fix_copies_with_a_customer_managed_key() -> None:
    [finding] = audit_image(
        image(launch=LaunchTargets.of([PROD]), snapshots=(snapshot(key=KeyManager.AWS),)),
        [PROD],
    )
    assert finding.code == "SHARED_WITH_DEFAULT_KEY"
    assert SNAP in finding.detail
    assert finding.fix.startswith(f"aws ec2 copy-image --source-image-id {IMAGE} ")
    assert "--encrypted --kms-key-id" in finding.fix


def test_trust_lists_with_aliases_from_the_config() -> None:
    config = parse_config(
        f'[accounts]\nprod = "{PROD}"\nstaging = "{STAGING}"\n\n'
        f'[audit]\ntrusted_accounts = ["prod", "{STRANGER}"]\ntrusted_organizations = ["{ORG}"]\n'
    )
    shared = {
        STAGING: image(launch=LaunchTargets.of([STAGING]), image_id="ami-00000001"),
        PROD: image(launch=LaunchTargets.of([PROD]), image_id="ami-00000002"),
        STRANGER: image(launch=LaunchTargets.of([STRANGER]), image_id="ami-00000003"),
    }
    snapshots_ok = {k: replace(v, snapshots=(snapshot(accounts={k}),)) for k, v in shared.items()}
    findings = audit_all(
        snapshots_ok.values(), config.trusted_accounts, config.trusted_organizations
    )
    # An alias is only a name: "staging" is defined but not in the trust list.
    assert [(f.code, f.image_id) for f in findings] == [("SHARED_OUTSIDE_TRUST", "ami-00000001")]


def test_audit_all_sorts_by_severity_then_region_image_code() -> None:
    states = [
        image(image_id="ami-0000000b", region="us-east-1", imds=None),
        image(image_id="ami-0000000a", region="us-east-1", imds=None),
        image(image_id="ami-0000000c", region="eu-west-1", imds=None),
        image(image_id="ami-0000000d", region="us-east-1", launch=LaunchTargets(public=True)),
        image(image_id="ami-0000000e", region="eu-west-1", launch=LaunchTargets.of([STRANGER])),
    ]
    found = audit_all(states)
    assert [(f.severity.value, f.region, f.image_id, f.code) for f in found] == [
        ("high", "us-east-1", "ami-0000000d", "PUBLIC_IMAGE"),
        ("medium", "eu-west-1", "ami-0000000e", "SHARED_OUTSIDE_TRUST"),
        ("low", "eu-west-1", "ami-0000000c", "IMDSV2_NOT_ENFORCED"),
        ("low", "eu-west-1", "ami-0000000e", "SNAPSHOTS_NOT_SHARED"),
        ("low", "us-east-1", "ami-0000000a", "IMDSV2_NOT_ENFORCED"),
        ("low", "us-east-1", "ami-0000000b", "IMDSV2_NOT_ENFORCED"),
    ]


def test_severity_order() -> None:
    assert Severity.HIGH > Severity.MEDIUM > Severity.LOW
    assert Severity.LOW < Severity.HIGH
    assert Severity.MEDIUM >= Severity.MEDIUM and Severity.MEDIUM <= Severity.MEDIUM
    assert sorted([Severity.LOW, Severity.HIGH, Severity.MEDIUM]) == [
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
    ]
    assert Severity.MEDIUM.is_at_least(Severity.LOW)
    assert not Severity.LOW.is_at_least(Severity.MEDIUM)


def _finding(severity: Severity) -> Finding:
    return Finding("X", severity, IMAGE, REGION, "detail", "fix")


@pytest.mark.parametrize(
    ("severities", "fail_on", "fails"),
    [
        ([], "low", False),
        ([Severity.LOW], "high", False),
        ([Severity.LOW], "medium", False),
        ([Severity.LOW], "low", True),
        ([Severity.MEDIUM], "medium", True),
        ([Severity.MEDIUM], "high", False),
        ([Severity.HIGH], "high", True),
        ([Severity.HIGH, Severity.LOW], "never", False),
        ([Severity.HIGH], None, False),
        ([Severity.MEDIUM], Severity.LOW, True),
    ],
)
def test_fail_on_exit(
    severities: list[Severity], fail_on: Severity | str | None, fails: bool
) -> None:
    assert fail_on_exit([_finding(s) for s in severities], fail_on) is fails


@pytest.mark.parametrize(
    ("severities", "unread", "code"),
    [
        ([], False, ExitCode.OK),
        ([Severity.MEDIUM], False, ExitCode.OK),
        ([Severity.HIGH], False, ExitCode.CHANGES_FOUND),
        ([], True, ExitCode.PROBLEMS),
        ([Severity.MEDIUM], True, ExitCode.PROBLEMS),
        ([Severity.HIGH], True, ExitCode.CHANGES_FOUND),  # findings win over unread images
    ],
)
def test_audit_exit_code(severities: list[Severity], unread: bool, code: ExitCode) -> None:
    findings = [_finding(s) for s in severities]
    assert audit_exit_code(findings, Severity.HIGH, unread=unread) is code


def test_parse_fail_on() -> None:
    assert parse_fail_on("medium") is Severity.MEDIUM
    assert parse_fail_on("never") is None
    with pytest.raises(ValueError, match="critical"):
        parse_fail_on("critical")


def test_summary_line() -> None:
    findings = [_finding(Severity.LOW), _finding(Severity.HIGH), _finding(Severity.LOW)]
    assert summary_line(findings, 12) == "3 findings: 1 high, 2 low in 12 images"
    assert summary_line(findings[:1], 1) == "1 finding: 1 low in 1 image"
    assert summary_line([], 0) == "no findings in 0 images"


def test_organization_id() -> None:
    assert organization_id(ORG) == "o-abc123def4"
    assert organization_id(OU) == "o-abc123def4"
    assert organization_id("arn:aws:organizations::123456789012:root/o-x") is None


# ---------------------------------------------------------------- against the emulator


def _snapshot_of(ec2: Any, image_id: str) -> str:
    [mapping] = ec2.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"]
    return str(mapping["Ebs"]["SnapshotId"])


def test_json_is_exactly_the_spec_document(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    public = sandbox.create_image(REGION, "public", public=True, imds_v2=True)
    shared = sandbox.create_image(REGION, "shared", accounts=[STRANGER], imds_v2=True)
    sandbox.create_image(REGION, "clean", imds_v2=True)
    sandbox.create_image(REGION, "foreign", owner_id="999988887777", public=True)
    snap = _snapshot_of(ec2, shared)
    sandbox.clear_requests()

    r = amictl(["audit", "-o", "json"])
    assert r.exit_code == 4, r
    assert r.json == {
        "findings": [
            {
                "code": "PUBLIC_IMAGE",
                "severity": "high",
                "image_id": public,
                "region": REGION,
                "detail": "the image is public: any AWS account can launch it",
                "fix": f"amictl make-private {public} --region {REGION}",
            },
            {
                "code": "SHARED_OUTSIDE_TRUST",
                "severity": "medium",
                "image_id": shared,
                "region": REGION,
                "detail": f"shared outside the [audit] trust lists with account {STRANGER}",
                "fix": f"amictl unshare {shared} --region {REGION} --account {STRANGER}",
            },
            {
                "code": "SNAPSHOTS_NOT_SHARED",
                "severity": "low",
                "image_id": shared,
                "region": REGION,
                "detail": f"account {STRANGER} can launch it but not copy it: "
                f"no createVolumePermission on {snap} ({STRANGER})",
                "fix": f"amictl share {shared} --region {REGION} --account {STRANGER} "
                "--with-snapshots",
            },
        ],
        # Only owned images: the foreign public image is not audited.
        "images_scanned": 3,
    }
    assert "3 findings: 1 high, 1 medium, 1 low in 3 images" in r.stderr
    assert sandbox.mutating_requests() == []
    # Snapshot permissions were read (one DescribeSnapshotAttribute per owned snapshot).
    assert sandbox.count("DescribeSnapshotAttribute") == 3


def test_fail_on_thresholds(sandbox: Sandbox, amictl: Any) -> None:
    sandbox.create_image(REGION, "public", public=True, imds_v2=True)
    assert amictl(["audit", "-o", "json"]).exit_code == 4  # default --fail-on high
    r = amictl(["audit", "-o", "json", "--fail-on", "never"])
    assert r.exit_code == 0, r
    assert [f["code"] for f in r.json["findings"]] == ["PUBLIC_IMAGE"]
    assert sandbox.mutating_requests() == []


def test_low_findings_pass_by_default_and_fail_with_fail_on_low(
    sandbox: Sandbox, amictl: Any
) -> None:
    image_id = sandbox.create_image(REGION, "imdsv1")
    r = amictl(["audit", "-o", "json"])
    assert r.exit_code == 0, r
    assert [(f["code"], f["image_id"]) for f in r.json["findings"]] == [
        ("IMDSV2_NOT_ENFORCED", image_id)
    ]
    assert amictl(["audit", "-o", "json", "--fail-on", "medium"]).exit_code == 0
    r = amictl(["audit", "-o", "json", "--fail-on", "low"])
    assert r.exit_code == 4, r
    assert sandbox.mutating_requests() == []


def test_bad_fail_on_is_a_usage_error(sandbox: Sandbox, amictl: Any) -> None:
    r = amictl(["audit", "--fail-on", "critical"])
    assert r.exit_code == 2, r
    assert sandbox.requests == []


def test_trust_lists_from_the_config_file(sandbox: Sandbox, amictl: Any, tmp_path: Path) -> None:
    trusted = sandbox.create_image(
        REGION,
        "trusted",
        accounts=[PROD],
        organizational_units=[OU],
        snapshot_accounts=[PROD],
        imds_v2=True,
    )
    untrusted = sandbox.create_image(
        REGION, "untrusted", accounts=[STAGING], snapshot_accounts=[STAGING], imds_v2=True
    )
    config = tmp_path / "amictl.toml"
    config.write_text(
        f'[accounts]\nprod = "{PROD}"\nstaging = "{STAGING}"\n\n'
        f'[audit]\ntrusted_accounts = ["prod"]\ntrusted_organizations = ["{ORG}"]\n'
    )
    r = amictl(["audit", "-o", "json", "--config", str(config), "--fail-on", "medium"])
    assert r.exit_code == 4, r
    assert [(f["code"], f["image_id"]) for f in r.json["findings"]] == [
        ("SHARED_OUTSIDE_TRUST", untrusted)
    ]
    assert trusted not in r.stdout
    # Without the config, both are outside the (empty) trust lists.
    r = amictl(["audit", "-o", "json", "--fail-on", "medium"])
    assert {f["image_id"] for f in r.json["findings"]} == {trusted, untrusted}


def test_public_snapshot_and_default_key(sandbox: Sandbox, amictl: Any, ec2: Any) -> None:
    open_snapshot = sandbox.create_image(REGION, "open-snapshot", imds_v2=True)
    snap = _snapshot_of(ec2, open_snapshot)
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    default_key = sandbox.create_image(
        REGION, "default-key", organizations=[ORG], encrypted="aws-managed", imds_v2=True
    )
    private_default_key = sandbox.create_image(
        REGION, "private-default-key", encrypted="aws-managed", imds_v2=True
    )
    sandbox.clear_requests()
    r = amictl(["audit", "-o", "json", "--fail-on", "never"])
    assert r.exit_code == 0, r
    found = [(f["code"], f["image_id"]) for f in r.json["findings"]]
    assert found == [
        ("PUBLIC_SNAPSHOT", open_snapshot),
        ("SHARED_OUTSIDE_TRUST", default_key),
        ("SHARED_WITH_DEFAULT_KEY", default_key),
    ]
    assert private_default_key not in r.stdout
    assert snap in r.json["findings"][0]["detail"]
    assert r.json["images_scanned"] == 3
    assert sandbox.mutating_requests() == []


def test_table_shows_severity_words_and_summary(sandbox: Sandbox, amictl: Any) -> None:
    public = sandbox.create_image(REGION, "public", public=True)
    r = amictl(["audit"])
    assert r.exit_code == 4, r
    [high] = [line for line in r.stdout.splitlines() if "PUBLIC_IMAGE" in line]
    assert "high" in high and public in high
    [low] = [line for line in r.stdout.splitlines() if "IMDSV2_NOT_ENFORCED" in line]
    assert "low" in low
    assert r.stdout.index("PUBLIC_IMAGE") < r.stdout.index("IMDSV2_NOT_ENFORCED")
    assert f"fix: amictl make-private {public} --region {REGION}" in r.stdout
    assert "2 findings: 1 high, 1 low in 1 image" in r.stderr
    assert "findings:" not in r.stdout


def test_text_one_tab_separated_line_per_finding(sandbox: Sandbox, amictl: Any) -> None:
    public = sandbox.create_image(REGION, "public", public=True)
    r = amictl(["audit", "-o", "text"])
    assert r.exit_code == 4, r
    assert [line.split("\t") for line in r.stdout.splitlines()] == [
        [
            "PUBLIC_IMAGE",
            "high",
            public,
            REGION,
            "the image is public: any AWS account can launch it",
            f"amictl make-private {public} --region {REGION}",
        ],
        [
            "IMDSV2_NOT_ENFORCED",
            "low",
            public,
            REGION,
            "IMDS support is unset: instances launched from it also accept IMDSv1 "
            "(enforcing is irreversible)",
            f"amictl enforce-imdsv2 {public} --region {REGION}",
        ],
    ]


def test_no_images_no_findings(sandbox: Sandbox, amictl: Any) -> None:
    r = amictl(["audit", "-o", "json", "--fail-on", "low"])
    assert r.exit_code == 0, r
    assert r.json == {"findings": [], "images_scanned": 0}
    assert "no findings in 0 images" in r.stderr


def test_regions_and_tag_selection(sandbox: Sandbox, amictl: Any) -> None:
    east = sandbox.create_image(REGION, "east", tags={"Team": "base"})
    west = sandbox.create_image("eu-west-1", "west", tags={"Team": "base"})
    sandbox.create_image(REGION, "other", tags={"Team": "data"})
    r = amictl(["audit", "-o", "json", "--region", "us-east-1,eu-west-1", "--tag", "Team=base"])
    assert r.exit_code == 0, r
    assert r.json["images_scanned"] == 2
    assert [(f["region"], f["image_id"]) for f in r.json["findings"]] == [
        ("eu-west-1", west),
        (REGION, east),
    ]
    r = amictl(["audit", "-o", "json"])
    assert r.json["images_scanned"] == 2  # us-east-1 only: east and other


def test_unreadable_images_exit_1(sandbox: Sandbox, amictl: Any) -> None:
    image_id = sandbox.create_image(REGION, "clean", imds_v2=True)
    sandbox.deny(["DescribeSnapshotAttribute"])
    r = amictl(["audit", "-o", "json"])
    assert r.exit_code == 1, r
    assert r.json == {"findings": [], "images_scanned": 0}
    assert image_id in r.stderr and "UnauthorizedOperation" in r.stderr
    assert sandbox.mutating_requests() == []
