"""The Quickstart's tour (examples/tour.sh): it runs every step against its own sandbox,
each step exits as the README says, and the script ends by itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The tour's steps in order, with the exit code each must give: the encrypted-image share
# and the Marketplace make-public are refused (1), and the plan of a new policy finds
# changes (4).
EXPECTED = [
    ("show --all", 0),
    ("show ami-", 0),
    ("share ami-", 0),
    ("share ami-", 0),
    ("share ami-", 1),
    ("make-public", 1),
    ("make-private", 0),
    ("unshare", 0),
    ("set-description", 0),
    ("imdsv2 --dry-run", 0),
    ("enforce-imdsv2", 0),
    ("reset", 0),
    ("reset", 0),
    ("show ami-", 0),
    ("export", 0),
    ("plan", 0),
    ("plan", 4),
    ("apply", 0),
    ("apply", 0),
]


@pytest.mark.slow
def test_the_tour_runs_every_step_and_ends() -> None:
    # The console script beside this interpreter, as `pip install -e .` puts it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PATH=path, NO_COLOR="1")
    done = subprocess.run(
        ["bash", str(ROOT / "examples" / "tour.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,  # the tour takes ~15 s; a sandbox that ignores `kill` would hang it
    )
    assert done.returncode == 0, done.stderr
    shown = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    commands = re.findall(r"^\$ amictl (.*)$", shown, re.M)
    codes = [int(code) for code in re.findall(r"^\(exit (\d+)\)$", shown, re.M)]
    assert len(commands) == len(codes) == len(EXPECTED), commands
    for command, code, (prefix, expected) in zip(commands, codes, EXPECTED, strict=True):
        assert command.startswith(prefix), (command, prefix)
        assert code == expected, (command, code)
    assert "Traceback" not in done.stdout + done.stderr
