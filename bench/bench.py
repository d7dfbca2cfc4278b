"""amictl's benchmark: amictl against the AWS CLI and a plain boto3 loop, as ratios.

    python bench/bench.py [--latency 0.04] [--images 100] [--quick]

One run starts amictl's EC2 emulator in this process on 127.0.0.1, adds `--latency`
seconds to every EC2 request and puts EC2's published token buckets (facts §8.1:
ModifyImageAttribute 100 tokens refilled 5/s, DescribeImages/DescribeImageAttribute 100/20,
...) on the actions, then times every contender as a subprocess (wall time, start-up
included, as a user or a CI job pays it):

1. start-up: `amictl --version` vs `aws --version` (median of several runs);
2. one share as a user does it: `amictl share AMI --account X` (reads, changes,
   verifies) vs `aws ec2 modify-image-attribute` + `aws ec2 describe-image-attribute`;
3. a bulk share of N images with 3 accounts: amictl (`--tag`, one process) vs a shell loop
   of the AWS CLI (one modify-image-attribute per image: its best case) vs a sequential
   boto3 script; the emulator is reset, the images recreated and the buckets refilled
   before each contender;
4. the same amictl bulk share again: nothing to do, so no mutating call may reach EC2.

Each scenario also gets its floor: the least time any client could take given the latency
and the buckets (see `floor`), and amictl's multiple of it. Results are printed as a table
and written to bench/results/latest.json. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amictl import __version__ as amictl_version
from amictl.sandbox import EC2_BUCKETS, Sandbox

REGION = "us-east-1"
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
SINGLE_ACCOUNT = "444455556666"
TAG_KEY, TAG_VALUE = "Bench", "1"
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# Targets (the brief for amictl's performance, DESIGN.md "Performance design").
STARTUP_TARGET = 0.5  # amictl --version at most half of aws --version
BULK_VS_CLI_TARGET = 0.1  # bulk share at most a tenth of the AWS CLI loop
BULK_VS_FLOOR_TARGET = 1.5  # ... and within 1.5x of the floor
MUTATIONS_PER_CHANGE_TARGET = 1.0  # exactly one ModifyImageAttribute per changed image


# ---------------------------------------------------------------------- the floor
#
# The least time ANY client could take, whatever its language or concurrency, given only
# the injected latency L and EC2's token buckets:
#
# * Work is a chain of D dependent steps (select the images, read them, change them,
#   verify): a step cannot start before the one it depends on has answered, so the chain
#   alone takes at least D * L.
# * A bucket of capacity C refilled at R tokens/s answers its first C calls at once and
#   then one every 1/R s, so n calls of that action cannot all be answered before
#   wait = max(0, n - C) / R seconds after the bucket's first call. That first call comes
#   no earlier than s * L (s = the first step using the action, counting its own round
#   trip), and after the bucket's last call the steps that follow it still take a round
#   trip each: (D - last) * L.
#
#   floor = max(D * L,  max over actions a of  s_a * L + wait_a + (D - last_a) * L)
#
# The emulator answers in L plus a few milliseconds of its own work per request (moto
# behind one lock); that cost, and each process's start-up, are *not* in the floor: they
# are what a real client pays on top of it, and what the multiples show.


@dataclass(frozen=True)
class Floor:
    seconds: float
    steps: int
    binding: str  # what sets the floor: "latency chain" or the binding action's bucket
    waits: dict[str, float]  # bucket wait per action, seconds

    def describe(self, latency: float) -> str:
        if self.binding == "latency chain":
            return f"{self.steps} dependent round trips x {latency * 1000:g} ms"
        return (
            f"{self.binding} bucket: {self.waits[self.binding]:.2f} s of refill wait "
            f"+ {self.seconds - self.waits[self.binding]:.2f} s of round trips"
        )


def floor(
    steps: Sequence[Mapping[str, int]],
    latency: float,
    buckets: Mapping[str, tuple[float, float]] = EC2_BUCKETS,
) -> Floor:
    """The floor (see above) for `steps`: each step maps EC2 actions to how many calls of
    them that step makes; steps run one after another, calls within a step at once."""
    depth = len(steps)
    best, binding = depth * latency, "latency chain"
    waits: dict[str, float] = {}
    for action in sorted({a for step in steps for a in step}):
        used = [i + 1 for i, step in enumerate(steps) if step.get(action)]
        calls = sum(step.get(action, 0) for step in steps)
        capacity, refill = buckets.get(action, (float("inf"), 0.0))
        if calls <= capacity:
            wait = 0.0
        else:
            wait = (calls - capacity) / refill if refill > 0 else float("inf")
        waits[action] = wait
        bound = used[0] * latency + wait + (depth - used[-1]) * latency
        if bound > best + 1e-9:
            best, binding = bound, action
    return Floor(best, depth, binding, waits)


def bulk_floor_steps(images: int) -> list[dict[str, int]]:
    """The least any share-that-reads-and-verifies needs: one DescribeImages to select,
    then per image a read, one change and a read back (DescribeImageAttribute has no
    batch form)."""
    return [
        {"DescribeImages": 1},
        {"DescribeImageAttribute": images},
        {"ModifyImageAttribute": images},
        {"DescribeImageAttribute": images},
    ]


def blind_floor_steps(images: int) -> list[dict[str, int]]:
    """What the AWS CLI loop and the boto3 script do: select, then change (no read, no
    verification)."""
    return [{"DescribeImages": 1}, {"ModifyImageAttribute": images}]


# ---------------------------------------------------------------------- running things


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Tools:
    amictl: str
    aws: str
    python: str
    env: dict[str, str]
    cwd: str

    def run(self, argv: Sequence[str], check: bool = True, timeout: float = 900) -> Run:
        start = time.perf_counter()
        proc = subprocess.run(
            list(argv),
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}"
            )
        return Run(elapsed, proc.returncode, proc.stdout, proc.stderr)


def find_tool(name: str) -> str:
    """The console script next to this interpreter (bypassing pyenv-style shims, which add
    their own start-up to every call), else the one on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"bench: `{name}` not found; pip install -e '.[sandbox,bench]'")
    return found


def tool_env(home: Path) -> dict[str, str]:
    """A clean environment: the sandbox's dummy keys, no user config or profile, no
    instance metadata lookups, bytecode caching on (as on a normal install)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "AMICTL_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_COLOR="1",
    )
    return env


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


# ---------------------------------------------------------------------- the emulator


class Bench:
    def __init__(self, sandbox: Sandbox, tools: Tools, latency: float) -> None:
        self.sandbox = sandbox
        self.tools = tools
        self.latency = latency
        self._ec2: Any = None

    @property
    def endpoint(self) -> list[str]:
        return ["--endpoint-url", self.sandbox.endpoint_url, "--region", REGION]

    def configure(self) -> None:
        """Latency on every EC2 request and EC2's buckets, full."""
        self.sandbox.set_faults(latency=self.latency)
        self.refill()

    def refill(self) -> None:
        by_size: dict[tuple[float, float], list[str]] = {}
        for action, size in EC2_BUCKETS.items():
            by_size.setdefault(size, []).append(action)
        for (capacity, refill), actions in by_size.items():
            self.sandbox.set_token_bucket(capacity, refill, actions)

    def fresh(self, images: int, tagged: bool = True) -> list[str]:
        """Wipe the emulator, create `images` images, set latency and full buckets."""
        self.sandbox.reset()
        tags = {TAG_KEY: TAG_VALUE} if tagged else None
        ids = [
            self.sandbox.create_image(REGION, f"bench-{i:04d}", tags=tags) for i in range(images)
        ]
        self.configure()
        self.sandbox.clear_requests()
        return ids

    def ec2(self) -> Any:
        """An in-process boto3 client, only to check outcomes (never timed)."""
        if self._ec2 is None:
            import boto3

            self._ec2 = boto3.client(
                "ec2",
                endpoint_url=self.sandbox.endpoint_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._ec2

    def shared_with(self, image_ids: Sequence[str], accounts: Iterable[str]) -> int:
        """How many images list every account (checked with latency and buckets off)."""
        self.sandbox.set_faults()
        self.sandbox.set_token_bucket(1e9, 1e9, list(EC2_BUCKETS))
        want = set(accounts)

        def ok(image_id: str) -> bool:
            answer = self.ec2().describe_image_attribute(
                ImageId=image_id, Attribute="launchPermission"
            )
            have = {p.get("UserId") for p in answer.get("LaunchPermissions", [])}
            return want <= have

        with ThreadPoolExecutor(8) as pool:
            return sum(pool.map(ok, image_ids))

    def round_trip(self, calls: int = 20) -> float:
        """Mean round trip of one DescribeImageAttribute from this process (latency
        plus the emulator's own work), for context."""
        image_id = self.fresh(1, tagged=False)[0]
        self.sandbox.set_token_bucket(1e9, 1e9, list(EC2_BUCKETS))
        ec2 = self.ec2()
        ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
        start = time.perf_counter()
        for _ in range(calls):
            ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
        return (time.perf_counter() - start) / calls


@dataclass
class Calls:
    """What the emulator saw: calls per action, throttled answers, mutating calls."""

    by_action: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    mutating: int = 0  # mutating calls EC2 accepted (throttled retries excluded)
    mutating_attempts: int = 0

    @classmethod
    def seen(cls, sandbox: Sandbox) -> Calls:
        requests = sandbox.requests
        throttles = ("token-bucket", "throttle")
        mutating = sandbox.mutating_requests(include_dry_run=False)
        return cls(
            by_action=dict(sorted(Counter(r.action for r in requests).items())),
            throttled=sum(1 for r in requests if r.fault in throttles),
            mutating=sum(1 for r in mutating if r.fault not in throttles),
            mutating_attempts=len(mutating),
        )


# ---------------------------------------------------------------------- scenarios


def startup(bench: Bench, runs: int) -> dict[str, Any]:
    tools = bench.tools
    amictl_cmd, aws_cmd = [tools.amictl, "--version"], [tools.aws, "--version"]
    tools.run(amictl_cmd), tools.run(aws_cmd)  # warm caches and write bytecode
    amictl_times, aws_times = [], []
    for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
        amictl_times.append(tools.run(amictl_cmd).seconds)
        aws_times.append(tools.run(aws_cmd).seconds)
    amictl_s, aws_s = median(amictl_times), median(aws_times)
    return {
        "runs": runs,
        "amictl_s": amictl_s,
        "aws_s": aws_s,
        "ratio": amictl_s / aws_s,
        "amictl_runs_s": amictl_times,
        "aws_runs_s": aws_times,
        "target": f"ratio <= {STARTUP_TARGET}",
        "pass": amictl_s / aws_s <= STARTUP_TARGET,
    }


def single_share(bench: Bench, runs: int) -> dict[str, Any]:
    tools, latency = bench.tools, bench.latency
    amictl_times, aws_times, amictl_mutating = [], [], []
    for _ in range(runs):
        (image_id,) = bench.fresh(1, tagged=False)
        argv = [tools.amictl, "share", image_id, "--account", SINGLE_ACCOUNT, *bench.endpoint]
        run = tools.run(argv)
        amictl_times.append(run.seconds)
        amictl_mutating.append(Calls.seen(bench.sandbox).mutating)
        if bench.shared_with([image_id], [SINGLE_ACCOUNT]) != 1:
            raise RuntimeError("amictl share did not share the image")

        (image_id,) = bench.fresh(1, tagged=False)
        modify = tools.run(
            [
                tools.aws,
                "ec2",
                "modify-image-attribute",
                "--image-id",
                image_id,
                "--launch-permission",
                f"Add=[{{UserId={SINGLE_ACCOUNT}}}]",
                *bench.endpoint,
            ]
        )
        describe = tools.run(
            [
                tools.aws,
                "ec2",
                "describe-image-attribute",
                "--image-id",
                image_id,
                "--attribute",
                "launchPermission",
                *bench.endpoint,
            ]
        )
        if SINGLE_ACCOUNT not in describe.stdout:
            raise RuntimeError("the AWS CLI did not share the image")
        aws_times.append(modify.seconds + describe.seconds)

    # amictl: read (DescribeImages and DescribeImageAttribute), change, read back.
    amictl_floor = floor(
        [
            {"DescribeImages": 1, "DescribeImageAttribute": 1},
            {"ModifyImageAttribute": 1},
            {"DescribeImageAttribute": 1},
        ],
        latency,
    )
    aws_floor = floor([{"ModifyImageAttribute": 1}, {"DescribeImageAttribute": 1}], latency)
    amictl_s, aws_s = median(amictl_times), median(aws_times)
    return {
        "runs": runs,
        "amictl_s": amictl_s,
        "aws_s": aws_s,
        "ratio": amictl_s / aws_s,
        "amictl_mutating_calls": amictl_mutating,
        "floor_s": amictl_floor.seconds,
        "floor": amictl_floor.describe(latency),
        "aws_floor_s": aws_floor.seconds,
        "amictl_x_floor": amictl_s / amictl_floor.seconds,
    }


def amictl_bulk(bench: Bench, images: int) -> tuple[Run, list[str], Calls]:
    ids = bench.fresh(images)
    run = bench.tools.run(amictl_bulk_argv(bench))
    calls = Calls.seen(bench.sandbox)
    return run, ids, calls


def amictl_bulk_argv(bench: Bench) -> list[str]:
    return [
        bench.tools.amictl,
        "share",
        "--tag",
        f"{TAG_KEY}={TAG_VALUE}",
        "--account",
        ",".join(ACCOUNTS),
        "--yes",
        "-q",
        "-o",
        "json",
        *bench.endpoint,
    ]


def statuses(run: Run) -> dict[str, int]:
    document = json.loads(run.stdout)
    return dict(Counter(r["status"] for r in document["results"]))


AWS_LOOP = """\
set -eu
ids=$(aws ec2 describe-images --owners self --filters "Name=tag:$TAG_KEY,Values=$TAG_VALUE" \\
    --query 'Images[].ImageId' --output text --endpoint-url "$ENDPOINT" --region "$REGION")
for id in $ids; do
    aws ec2 modify-image-attribute --image-id "$id" --launch-permission "$PERMISSION" \\
        --endpoint-url "$ENDPOINT" --region "$REGION"
done
"""

BOTO3_SCRIPT = """\
import sys
import boto3

endpoint, region, tag_key, tag_value, *accounts = sys.argv[1:]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
pages = ec2.get_paginator("describe_images").paginate(
    Owners=["self"], Filters=[{"Name": f"tag:{tag_key}", "Values": [tag_value]}]
)
for page in pages:
    for image in page["Images"]:
        ec2.modify_image_attribute(
            ImageId=image["ImageId"],
            LaunchPermission={"Add": [{"UserId": a} for a in accounts]},
        )
"""


def bulk(bench: Bench, images: int, runs: int, single_describe_s: float | None) -> dict[str, Any]:
    tools, latency = bench.tools, bench.latency

    # amictl, `runs` times from the same state; the last run's images stay for the re-run.
    amictl_times: list[float] = []
    for _ in range(runs):
        run, ids, calls = amictl_bulk(bench, images)
        amictl_times.append(run.seconds)
        amictl_statuses = statuses(run)
        if bench.shared_with(ids, ACCOUNTS) != images:
            raise RuntimeError(f"amictl left images unshared: {amictl_statuses}")
    changed = amictl_statuses.get("changed", 0)

    # 4. the re-run: same command, same images, buckets full again.
    bench.configure()
    bench.sandbox.clear_requests()
    rerun = tools.run(amictl_bulk_argv(bench))
    rerun_calls = Calls.seen(bench.sandbox)
    rerun_statuses = statuses(rerun)

    # The AWS CLI's best case: one modify-image-attribute per image, no reads.
    ids = bench.fresh(images)
    permission = "Add=[" + ",".join(f"{{UserId={a}}}" for a in ACCOUNTS) + "]"
    loop_env = dict(
        tools.env,
        PATH=f"{Path(tools.aws).parent}{os.pathsep}{tools.env.get('PATH', '')}",
        ENDPOINT=bench.sandbox.endpoint_url,
        REGION=REGION,
        TAG_KEY=TAG_KEY,
        TAG_VALUE=TAG_VALUE,
        PERMISSION=permission,
    )
    loop = Tools(tools.amictl, tools.aws, tools.python, loop_env, tools.cwd).run(
        ["bash", "-c", AWS_LOOP]
    )
    aws_calls = Calls.seen(bench.sandbox)
    if bench.shared_with(ids, ACCOUNTS) != images:
        raise RuntimeError("the AWS CLI loop left images unshared")

    # A sequential boto3 script on the same endpoint.
    boto3_times: list[float] = []
    for _ in range(runs):
        ids = bench.fresh(images)
        script = tools.run(
            [
                tools.python,
                "-c",
                BOTO3_SCRIPT,
                bench.sandbox.endpoint_url,
                REGION,
                TAG_KEY,
                TAG_VALUE,
                *ACCOUNTS,
            ]
        )
        boto3_times.append(script.seconds)
        if bench.shared_with(ids, ACCOUNTS) != images:
            raise RuntimeError("the boto3 script left images unshared")

    amictl_s, boto3_s = median(amictl_times), median(boto3_times)
    verified_floor = floor(bulk_floor_steps(images), latency)
    blind_floor = floor(blind_floor_steps(images), latency)
    per_change = calls.mutating / changed if changed else float("nan")
    result: dict[str, Any] = {
        "images": images,
        "accounts": len(ACCOUNTS),
        "runs": runs,
        "amictl_s": amictl_s,
        "amictl_runs_s": amictl_times,
        "amictl_statuses": amictl_statuses,
        "amictl_calls": calls.by_action,
        "amictl_throttled": calls.throttled,
        "amictl_mutating_calls": calls.mutating,
        "amictl_mutating_attempts": calls.mutating_attempts,
        "mutating_calls_per_changed_image": per_change,
        "aws_loop_s": loop.seconds,
        "aws_loop_calls": aws_calls.by_action,
        "boto3_s": boto3_s,
        "boto3_runs_s": boto3_times,
        "ratio_vs_aws_loop": amictl_s / loop.seconds,
        "ratio_vs_boto3": amictl_s / boto3_s,
        "floor_s": verified_floor.seconds,
        "floor": verified_floor.describe(latency),
        "floor_bucket_waits_s": verified_floor.waits,
        "amictl_x_floor": amictl_s / verified_floor.seconds,
        "blind_floor_s": blind_floor.seconds,
        "blind_floor": blind_floor.describe(latency),
        "rerun": {
            "amictl_s": rerun.seconds,
            "statuses": rerun_statuses,
            "calls": rerun_calls.by_action,
            "mutating_calls": rerun_calls.mutating_attempts,
            "pass": rerun_calls.mutating_attempts == 0,
        },
        "targets": {
            "vs_aws_loop": {
                "target": f"ratio <= {BULK_VS_CLI_TARGET}",
                "pass": amictl_s / loop.seconds <= BULK_VS_CLI_TARGET,
            },
            "vs_floor": {
                "target": f"amictl / floor <= {BULK_VS_FLOOR_TARGET}",
                "pass": amictl_s / verified_floor.seconds <= BULK_VS_FLOOR_TARGET,
            },
            "mutations_per_change": {
                "target": "exactly 1 per changed image",
                "pass": changed == images and per_change == MUTATIONS_PER_CHANGE_TARGET,
            },
        },
    }
    if single_describe_s is not None:
        # A user would look at each result too: one describe-image-attribute per image.
        estimate = loop.seconds + images * single_describe_s
        result["aws_loop_with_describe_estimate_s"] = estimate
        result["ratio_vs_aws_loop_with_describe_estimate"] = amictl_s / estimate
    return result


# ---------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(results: dict[str, Any]) -> str:
    p = results["parameters"]
    s, one, b = results["startup"], results["single_share"], results["bulk"]
    r = b["rerun"]
    t = b["targets"]
    ms = p["latency_s"] * 1000
    rows = [
        ("scenario", "amictl", "AWS CLI", "ratio", "floor", "x floor", "target"),
        (
            "start-up (--version)",
            f"{s['amictl_s']:.2f} s",
            f"{s['aws_s']:.2f} s",
            f"{s['ratio']:.2f}",
            "-",
            "-",
            f"<= {STARTUP_TARGET}  {verdict(s['pass'])}",
        ),
        (
            "one share (amictl: read+change+verify)",
            f"{one['amictl_s']:.2f} s",
            f"{one['aws_s']:.2f} s",
            f"{one['ratio']:.2f}",
            f"{one['floor_s']:.2f} s",
            f"{one['amictl_x_floor']:.1f}",
            "-",
        ),
        (
            f"bulk share {b['images']} images x {b['accounts']} accounts",
            f"{b['amictl_s']:.2f} s",
            f"{b['aws_loop_s']:.2f} s",
            f"{b['ratio_vs_aws_loop']:.3f}",
            f"{b['floor_s']:.2f} s",
            f"{b['amictl_x_floor']:.2f}",
            f"<= {BULK_VS_CLI_TARGET} {verdict(t['vs_aws_loop']['pass'])}, "
            f"<= {BULK_VS_FLOOR_TARGET}x {verdict(t['vs_floor']['pass'])}",
        ),
        (
            "  same, vs sequential boto3 script",
            f"{b['amictl_s']:.2f} s",
            f"{b['boto3_s']:.2f} s",
            f"{b['ratio_vs_boto3']:.2f}",
            "-",
            "-",
            "-",
        ),
        (
            "re-run of the bulk share (no-op)",
            f"{r['amictl_s']:.2f} s",
            "-",
            "-",
            "-",
            "-",
            f"0 mutating: {r['mutating_calls']}  {verdict(r['pass'])}",
        ),
        (
            "mutating calls per changed image",
            f"{b['mutating_calls_per_changed_image']:g}",
            "-",
            "-",
            "-",
            "-",
            f"== 1  {verdict(t['mutations_per_change']['pass'])}",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    m = results["machine"]
    notes = [
        "",
        f"emulator: 127.0.0.1, {ms:g} ms injected per EC2 request (measured round trip "
        f"{p['round_trip_s'] * 1000:.0f} ms); buckets: "
        + ", ".join(f"{a} {c:g}/{r:g}/s" for a, (c, r) in p["buckets"].items() if a in _SHOWN),
        f"machine: {m['cpus']} CPUs, load {m['load_before'][0]:.2f} before / "
        f"{m['load_after'][0]:.2f} after; python {m['python']}; {m['aws_version']}",
        "",
        "floor = max(D*L, max over actions of s*L + max(0, n - capacity)/refill + (D-last)*L):",
        "  D dependent steps of one round trip L each; n calls of an action whose bucket is "
        "first used at step s",
        f"  bulk (select, read, change, read back): {b['floor']}",
        f"    = {b['floor_s']:.2f} s; without reads or verification (what the AWS CLI loop "
        f"and the boto3 script do): {b['blind_floor']} = {b['blind_floor_s']:.2f} s",
        f"  one share: {one['floor']} = {one['floor_s']:.2f} s (start-up is on top)",
        f"amictl's bulk calls: {b['amictl_calls']}, {b['amictl_throttled']} throttled "
        f"answers; AWS CLI loop: {b['aws_loop_calls']}",
    ]
    if "aws_loop_with_describe_estimate_s" in b:
        notes.append(
            "a user of the AWS CLI would also look at each image (describe-image-attribute): "
            f"about {b['aws_loop_with_describe_estimate_s']:.0f} s, amictl "
            f"{b['ratio_vs_aws_loop_with_describe_estimate']:.3f} of that (estimate)"
        )
    return "\n".join(lines + notes)


_SHOWN = ("ModifyImageAttribute", "DescribeImages", "DescribeImageAttribute")


README = Path(__file__).resolve().parent.parent / "README.md"
README_START, README_END = "<!-- bench-figures -->", "<!-- /bench-figures -->"


def readme_figures(results: dict[str, Any]) -> str:
    """The README's figures: a Markdown table of this run, between the two markers."""
    p, m = results["parameters"], results["machine"]
    s, one, b = results["startup"], results["single_share"], results["bulk"]
    r, t = b["rerun"], b["targets"]
    rows = [
        "| scenario | amictl | AWS CLI | ratio | target |",
        "|---|---|---|---|---|",
        f"| start-up (`--version`) | {s['amictl_s']:.2f} s | {s['aws_s']:.2f} s "
        f"| {s['ratio']:.2f} | ≤ {STARTUP_TARGET}: {verdict(s['pass']).lower()} |",
        f"| one share (amictl also reads and verifies) | {one['amictl_s']:.2f} s "
        f"| {one['aws_s']:.2f} s | {one['ratio']:.2f} | - |",
        f"| bulk share, {b['images']} images × {b['accounts']} accounts | {b['amictl_s']:.2f} s "
        f"| {b['aws_loop_s']:.1f} s (a loop) | {b['ratio_vs_aws_loop']:.3f} "
        f"| ≤ {BULK_VS_CLI_TARGET}: {verdict(t['vs_aws_loop']['pass']).lower()} |",
        f"| the same bulk share against its floor | {b['amictl_s']:.2f} s | floor "
        f"{b['floor_s']:.2f} s | {b['amictl_x_floor']:.2f}× "
        f"| ≤ {BULK_VS_FLOOR_TARGET}×: {verdict(t['vs_floor']['pass']).lower()} |",
        f"| the same bulk share, sequential boto3 script | {b['amictl_s']:.2f} s "
        f"| {b['boto3_s']:.2f} s (boto3) | {b['ratio_vs_boto3']:.2f} | - |",
        f"| re-run of the bulk share | {r['amictl_s']:.2f} s | - "
        f"| {r['mutating_calls']} mutating calls | 0: {verdict(r['pass']).lower()} |",
        f"| mutating calls per changed image | {b['mutating_calls_per_changed_image']:g} | - "
        f"| - | 1: {verdict(t['mutations_per_change']['pass']).lower()} |",
    ]
    return "\n".join(
        [
            README_START,
            f"Measured on {m['time'][:10]}: {m['cpus']} CPUs, Python {m['python']}, "
            f"{m['aws_version'].split(' ')[0]}, {p['latency_s'] * 1000:g} ms injected per "
            f"EC2 request, EC2's token buckets on, {b['images']} images in the bulk share.",
            "",
            *rows,
            "",
            f"amictl's bulk share made {b['amictl_calls'].get('ModifyImageAttribute', 0)} "
            f"`ModifyImageAttribute` calls and got {b['amictl_throttled']} throttled answers. "
            "Unlike the AWS CLI loop and the boto3 script, it also read every image first "
            "and read it back after the change. Its floor is set by the "
            f"{2 * b['images']} `DescribeImageAttribute` calls that reading and verifying "
            "take: that API has no batch form, and its bucket refills at 20 calls per "
            "second. The boto3 script reads nothing and verifies nothing.",
            README_END,
        ]
    )


def update_readme(results: dict[str, Any], readme: Path = README) -> None:
    text = readme.read_text()
    start = text.index(README_START)
    end = text.index(README_END, start) + len(README_END)
    readme.write_text(text[:start] + readme_figures(results) + text[end:])


def versions(tools: Tools) -> str:
    return tools.run([tools.aws, "--version"]).stdout.strip() or "aws ?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.04, help="seconds per EC2 request")
    parser.add_argument("--images", type=int, default=None, help="images in the bulk share")
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and 20 images (a smoke test)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="write this run's figures into README.md's Performance section",
    )
    parser.add_argument(
        "--from-results",
        type=Path,
        help="with --update-readme: take the figures from this results file, run nothing",
    )
    args = parser.parse_args(argv)
    if args.from_results:
        update_readme(json.loads(args.from_results.read_text()))
        return 0
    images = args.images or (20 if args.quick else 100)
    startup_runs, share_runs, bulk_runs = (3, 1, 1) if args.quick else (9, 3, 3)

    with tempfile.TemporaryDirectory(prefix="amictl-bench-") as home:
        tools = Tools(
            amictl=find_tool("amictl"),
            aws=find_tool("aws"),
            python=sys.executable,
            env=tool_env(Path(home)),
            cwd=home,
        )
        load_before = os.getloadavg()
        with Sandbox("127.0.0.1", 0) as sandbox:
            bench = Bench(sandbox, tools, args.latency)
            round_trip = bench.round_trip()
            print("start-up ...", file=sys.stderr)
            startup_result = startup(bench, startup_runs)
            print("one share ...", file=sys.stderr)
            single = single_share(bench, share_runs)
            # One describe-image-attribute, for the estimate of a loop that also looks.
            (image_id,) = bench.fresh(1, tagged=False)
            describe_s = tools.run(
                [
                    tools.aws,
                    "ec2",
                    "describe-image-attribute",
                    "--image-id",
                    image_id,
                    "--attribute",
                    "launchPermission",
                    *bench.endpoint,
                ]
            ).seconds
            print(
                f"bulk share of {images} images (the AWS CLI loop takes a while) ...",
                file=sys.stderr,
            )
            bulk_result = bulk(bench, images, bulk_runs, describe_s)
        results = {
            "parameters": {
                "latency_s": args.latency,
                "images": images,
                "quick": args.quick,
                "round_trip_s": round_trip,
                "buckets": {a: list(size) for a, size in EC2_BUCKETS.items()},
            },
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "amictl": amictl_version,
                "aws_version": versions(tools),
                "load_before": list(load_before),
                "load_after": list(os.getloadavg()),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            "startup": startup_result,
            "single_share": single,
            "bulk": bulk_result,
        }
    targets = [
        startup_result["pass"],
        *(t["pass"] for t in bulk_result["targets"].values()),
        bulk_result["rerun"]["pass"],
    ]
    results["all_pass"] = all(targets)
    print(table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {args.output}")
    if args.update_readme:
        update_readme(results)
        print(f"figures written to {README}")
    return 0 if all(targets) else 1


if __name__ == "__main__":
    sys.exit(main())
