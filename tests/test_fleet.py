"""Fleet scale against the emulator over HTTP: bulk work over two regions under throttling,
`--region all`, Ctrl-C in the middle of a run, and progress output only on a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import boto3
import pexpect
import pytest

from amictl.sandbox import Sandbox

from .terminal import amictl_script

ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1")
TAG = "Team=fleet"
# What makes Rich (or amictl) treat an output as a terminal, or turn colour off.
TERMINAL_ENV = {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "COLUMNS"}


def client(sandbox: Sandbox, region: str) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=sandbox.endpoint_url)


def launch_accounts(ec2: Any, image_id: str) -> list[str]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return sorted(p["UserId"] for p in answer["LaunchPermissions"] if "UserId" in p)


def seed_fleet(sandbox: Sandbox, per_region: int, regions: tuple[str, ...] = REGIONS) -> dict:
    """`per_region` images tagged Team=fleet in each region, plus one untagged control each;
    returns {"fleet": {image_id: region}, "controls": {image_id: region}}."""
    fleet = {
        sandbox.create_image(region, f"fleet-{n:03d}", tags={"Team": "fleet"}): region
        for region in regions
        for n in range(per_region)
    }
    controls = {
        sandbox.create_image(region, "control", tags={"Team": "other"}): region
        for region in regions
    }
    return {"fleet": fleet, "controls": controls}


def cli_env(sandbox: Sandbox, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_ENV}
    env.update(
        TERM="xterm",
        AWS_ENDPOINT_URL=sandbox.endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        **(extra or {}),
    )
    return env


def amictl_process(
    sandbox: Sandbox, args: list[str], extra_env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "amictl", *args],
        env=cli_env(sandbox, extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_at_a_terminal,
    )


def _sigint_as_at_a_terminal() -> None:
    """Ctrl-C's signal at its default, as in a shell at a terminal. When the test run
    itself is a background job of a script (as CI may start it), SIGINT is inherited as
    ignored, and amictl rightly honours that, as `nohup` does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# ---------------------------------------------------------------- throttling


@pytest.mark.slow
def test_bulk_share_over_two_regions_rides_out_throttling(sandbox: Sandbox, amictl: Any) -> None:
    seeded = seed_fleet(sandbox, per_region=30)
    fleet, controls = seeded["fleet"], seeded["controls"]
    # Random RequestLimitExceeded on every call, and a small ModifyImageAttribute bucket.
    sandbox.set_faults(throttle_rate=0.3, seed=7)
    sandbox.set_token_bucket(capacity=5, refill_per_s=10, actions=["ModifyImageAttribute"])

    r = amictl(
        ["share", "--tag", TAG, "--account", ACCOUNT, "--yes", "-o", "json"]
        + ["--region", REGIONS[0], "--region", REGIONS[1]]
    )

    assert r.exit_code == 0, r
    results = {(res["region"], res["image_id"]): res for res in r.json["results"]}
    assert set(results) == {(region, i) for i, region in fleet.items()}
    assert all(res["status"] == "changed" for res in results.values()), r
    assert all(res["after"]["accounts"] == [ACCOUNT] for res in results.values())

    requests = sandbox.requests
    faults = Counter(q.fault for q in requests if q.fault)
    assert faults["throttle"] > 0 and faults["token-bucket"] > 0, faults  # it was throttled
    succeeded = Counter(
        (q.region, q.params["ImageId"])
        for q in sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False)
        if q.error is None and q.status == 200
    )
    assert succeeded == Counter({(region, i): 1 for i, region in fleet.items()})
    modify = [q for q in sandbox.mutating_requests() if q.error is None]
    assert all(q.params.get("LaunchPermission.Add.1.UserId") == ACCOUNT for q in modify)
    assert all("LaunchPermission.Add.2.UserId" not in q.params for q in modify)

    sandbox.set_faults()  # read the state back without faults
    for image_id, region in fleet.items():
        assert launch_accounts(client(sandbox, region), image_id) == [ACCOUNT], image_id
    for image_id, region in controls.items():
        assert launch_accounts(client(sandbox, region), image_id) == [], image_id


@pytest.mark.slow
@pytest.mark.parametrize(
    ("action", "drain"),
    [
        ("DescribeImages", lambda ec2: ec2.describe_images(Owners=["self"])),
        ("DescribeSnapshots", lambda ec2: ec2.describe_snapshots(OwnerIds=["self"])),
    ],
)
def test_throttled_selection_reads_are_retried_like_every_other_call(
    sandbox: Sandbox, amictl: Any, action: str, drain: Any
) -> None:
    """The paginated reads (one per region) must ride out throttling too: a throttled
    DescribeImages/DescribeSnapshots must not abort the whole bulk command."""
    fleet = seed_fleet(sandbox, per_region=1, regions=("us-east-1",))["fleet"]
    ec2 = client(sandbox, "us-east-1")
    # An empty bucket that refills slower than botocore's own three attempts take (< 3 s).
    sandbox.set_token_bucket(capacity=1, refill_per_s=0.3, actions=[action])
    drain(ec2)

    r = amictl(["share", *fleet, "--account", ACCOUNT, "-o", "json"])

    assert r.exit_code == 0, r
    assert [res["status"] for res in r.json["results"]] == ["changed"] * len(fleet)
    assert any(q.action == action and q.fault == "token-bucket" for q in sandbox.requests)
    sandbox.set_token_bucket(actions=[action])  # refill before reading back
    assert all(launch_accounts(ec2, i) == [ACCOUNT] for i in fleet)


@pytest.mark.slow
def test_region_all_covers_every_enabled_region(sandbox: Sandbox, amictl: Any) -> None:
    fleet = seed_fleet(sandbox, per_region=2)["fleet"]
    enabled = {r["RegionName"] for r in client(sandbox, "us-east-1").describe_regions()["Regions"]}
    assert set(REGIONS) < enabled
    sandbox.clear_requests()

    r = amictl(
        ["share", "--tag", TAG, "--account", ACCOUNT, "--region", "all", "--dry-run", "-o", "json"]
    )

    assert r.exit_code == 0, r
    listed = {res["image_id"]: (res["region"], res["status"]) for res in r.json["results"]}
    assert listed == {i: (region, "would-change") for i, region in fleet.items()}
    assert sandbox.count("DescribeRegions") >= 1
    asked = {q.region for q in sandbox.requests if q.action == "DescribeImages"}
    assert asked == enabled
    assert sandbox.mutating_requests(include_dry_run=False) == []
    for image_id, region in fleet.items():
        assert launch_accounts(client(sandbox, region), image_id) == []


# ---------------------------------------------------------------- Ctrl-C


@pytest.mark.slow
def test_ctrl_c_reports_finished_images_and_skips_the_rest(sandbox: Sandbox) -> None:
    fleet = seed_fleet(sandbox, per_region=12, regions=("us-east-1",))["fleet"]
    sandbox.set_faults(latency=0.2)
    args = ["share", "--tag", TAG, "--account", ACCOUNT, "--yes", "-o", "json"]
    process = amictl_process(sandbox, [*args, "--concurrency", "2"])
    try:
        deadline = time.monotonic() + 30
        while not sandbox.mutating_requests("ModifyImageAttribute", include_dry_run=False):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no change was ever sent"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 130, (stdout, stderr)
    document = json.loads(stdout)
    assert document["command"] == "share"
    results = {res["image_id"]: res for res in document["results"]}
    assert set(results) == set(fleet)
    statuses = Counter(res["status"] for res in results.values())
    assert set(statuses) == {"changed", "skipped"}, statuses
    skipped = {i for i, res in results.items() if res["status"] == "skipped"}
    changed = set(fleet) - skipped
    assert all(results[i]["error"]["code"] == "Interrupted" for i in skipped)
    assert all(results[i]["after"] is None for i in skipped)
    assert all(results[i]["after"]["accounts"] == [ACCOUNT] for i in changed)
    assert "nterrupted" in stderr

    sandbox.set_faults()
    sent = {q.params["ImageId"] for q in sandbox.mutating_requests(include_dry_run=False)}
    assert sent == changed
    ec2 = client(sandbox, "us-east-1")
    for image_id in changed:
        assert launch_accounts(ec2, image_id) == [ACCOUNT], image_id
    for image_id in skipped:
        assert launch_accounts(ec2, image_id) == [], image_id


# ---------------------------------------------------------------- progress and messages


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra_args", "extra_env"),
    [
        pytest.param([], {}, id="default"),
        pytest.param(["-q"], {}, id="quiet"),
        # Rich then takes the pipe for a terminal: amictl itself must still see it is not.
        pytest.param([], {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}, id="forced-colour"),
    ],
)
def test_no_progress_bar_when_stderr_is_not_a_terminal(
    sandbox: Sandbox, extra_args: list[str], extra_env: dict[str, str]
) -> None:
    fleet = seed_fleet(sandbox, per_region=8, regions=("us-east-1",))["fleet"]
    sandbox.set_faults(latency=0.05)  # long enough for a bar to be drawn if there were one
    args = ["share", "--tag", TAG, "--account", ACCOUNT, "--yes", "-o", "json", *extra_args]

    process = amictl_process(sandbox, args, extra_env)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, (stdout, stderr)
    assert [res["status"] for res in json.loads(stdout)["results"]] == ["changed"] * len(fleet)
    assert "Changing" not in stderr and "Reading" not in stderr, stderr
    assert "\r" not in stderr and "\x1b[?25l" not in stderr, repr(stderr)  # no live display
    if "-q" in extra_args:
        assert stderr == ""
    elif not extra_env:
        assert "\x1b" not in stderr, repr(stderr)
        assert stderr.strip() == f"{len(fleet)} changed"
    sandbox.set_faults()
    ec2 = client(sandbox, "us-east-1")
    assert all(launch_accounts(ec2, i) == [ACCOUNT] for i in fleet)


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_progress_bar_on_a_terminal_unless_quiet(sandbox: Sandbox, quiet: bool) -> None:
    fleet = seed_fleet(sandbox, per_region=8, regions=("us-east-1",))["fleet"]
    sandbox.set_faults(latency=0.1)
    executable = amictl_script()
    args = ["share", "--tag", TAG, "--account", ACCOUNT, "--yes", *(["-q"] if quiet else [])]

    child = pexpect.spawn(
        executable, args, env=cli_env(sandbox), encoding="utf-8", timeout=60, dimensions=(50, 160)
    )
    child.expect(pexpect.EOF)
    child.close()
    output = child.before

    assert child.exitstatus == 0, output
    assert ("Changing" in output) is not quiet, output
    assert (f"{len(fleet)} changed" in output) is not quiet, output
    sandbox.set_faults()
    ec2 = client(sandbox, "us-east-1")
    assert all(launch_accounts(ec2, i) == [ACCOUNT] for i in fleet)
