"""amictl on a pseudo-terminal (pexpect), for the prompts that only a terminal gets."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pexpect


def amictl_script() -> str:
    """The console script installed next to this interpreter (not a pyenv shim)."""
    beside = Path(sys.executable).with_name("amictl")
    found = str(beside) if beside.exists() else shutil.which("amictl")
    assert found, "the amictl console script is not installed"
    return found


def spawn_amictl(args: list[str]) -> pexpect.spawn:
    """amictl on a pseudo-terminal; the environment (fake credentials, AWS_REGION,
    AWS_ENDPOINT_URL of the in-process sandbox) comes from the fixtures."""
    env = {**os.environ, "TERM": "dumb", "COLUMNS": "200"}
    return pexpect.spawn(
        amictl_script(), args, env=env, encoding="utf-8", timeout=30, dimensions=(50, 200)
    )


def finish_with_output(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the process to end; its exit status and everything it printed after the
    last expect()."""
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.signalstatus
    return int(child.exitstatus), str(child.before)


def finish(child: pexpect.spawn) -> int:
    """Wait for the process to end; its exit status."""
    return finish_with_output(child)[0]
