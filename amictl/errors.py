"""amictl's exceptions and exit codes (spec §6). Only cli.py turns these into exits."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    PROBLEMS = 1  # at least one image failed or was refused
    USAGE = 2  # bad input; no API call was made
    NOT_CONFIRMED = 3  # a needed confirmation was declined or could not be asked
    CHANGES_FOUND = 4  # plan found changes / audit findings at or above --fail-on
    INTERRUPTED = 130  # Ctrl-C


class AmictlError(Exception):
    """Base for errors amictl reports as one line, without a traceback."""

    exit_code: ExitCode = ExitCode.PROBLEMS

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AmictlError):
    """Invalid input: the message names the bad value. Raised before any API call."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A config or policy file is invalid; the message names the file and key path."""


class EnvironmentProblem(AmictlError):
    """Credentials, region or endpoint trouble that stops the whole run (not one image)."""


class AwsError(AmictlError):
    """An error EC2 (or KMS/STS) answered, keeping its code."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
