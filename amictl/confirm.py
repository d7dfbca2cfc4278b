"""Confirmations (spec §5): only for risky changes, only on a terminal, default No.

Prompts go to stderr so stdout stays clean for JSON. The irreversible IMDSv2 change
needs the typed word `yes`; everything else a `[y/N]`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .model import Command, Plan
from .plan import describe_change

if TYPE_CHECKING:
    from .commands import Context

# Commands that always ask before changing anything (spec §5).
RISKY_COMMANDS = {Command.MAKE_PUBLIC, Command.RESET, Command.ENFORCE_IMDSV2, Command.APPLY}

IMDSV2_WARNING = (
    "Enforcing IMDSv2 cannot be undone. Instances launched from these images will require "
    "IMDSv2 session tokens (HttpTokens=required) with a hop limit of 2; software that only "
    "speaks IMDSv1 will lose instance metadata. The only way back is to register a new "
    "image from the snapshots."
)


class ConfirmationNeeded(Exception):
    """Nothing was changed: the confirmation was declined (Declined) or could not be asked
    (ConfirmationRequired)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def needs_confirmation(command: Command, plans: Sequence[Plan], from_selector: bool) -> bool:
    if not any(p.has_changes for p in plans):
        return False
    return command in RISKY_COMMANDS or from_selector or any(p.irreversible for p in plans)


def confirm_plans(
    ctx: Context, command: Command, plans: Sequence[Plan], from_selector: bool
) -> None:
    """Return if the changes may go ahead; raise ConfirmationNeeded otherwise. `plans` may
    come from several intents (a policy file's entries)."""
    if not needs_confirmation(command, plans, from_selector) or ctx.g.yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationNeeded(
            "ConfirmationRequired",
            "this change needs confirmation and stdin is not a terminal; nothing was changed. "
            "Re-run with --yes to approve it non-interactively.",
        )
    changing = [p for p in plans if p.has_changes]
    typed = any(p.irreversible for p in changing)
    lines = [f"{command.value} will change {len(changing)} image(s):"]
    for plan in changing:
        name = f" {plan.before.name}" if plan.before.name else ""
        lines.append(f"  {plan.ref.image_id} ({plan.ref.region}){name}")
        lines += [f"      {line}" for line in describe_change(plan)]
    if typed:
        lines += ["", IMDSV2_WARNING]
    sys.stderr.write("\n".join(lines) + "\n")
    if typed:
        answer = _ask("Type 'yes' to enforce IMDSv2 permanently: ")
        approved = answer.strip() == "yes"
    else:
        answer = _ask("Proceed? [y/N]: ")
        approved = answer.strip().lower() in ("y", "yes")
    if not approved:
        raise ConfirmationNeeded("Declined", "declined; nothing was changed.")


def _ask(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        return sys.stdin.readline()  # "" at end of input: treated as No
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return ""
