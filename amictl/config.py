"""Load amictl's TOML config file (spec §7) into a frozen, validated `Config`.

Where it comes from, first found wins: `--config PATH`, `$AMICTL_CONFIG`, `./amictl.toml`,
the user config dir (`$XDG_CONFIG_HOME/amictl/config.toml`, else
`~/.config/amictl/config.toml`, also on macOS; `%APPDATA%` on Windows). None → defaults.

Every problem in a file is reported at once, one line each: `FILE:LINE: KEY.PATH: message`.
The TOML parser gives a line for syntax errors only; for the rest `key_lines` finds the
line with a best-effort scan of the text. `read_toml`, `key_lines`, `Problem` and
`ConfigFileError` serve the policy file too. Merging with flags and env is the CLI's job.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from . import validate
from .errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_ENV = "AMICTL_CONFIG"
LOCAL_CONFIG_NAME = "amictl.toml"

KeyPath = tuple[str | int, ...]
T = TypeVar("T")


def _no_aliases() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Config:
    """The config file's settings, validated. `None`/empty means "not set in the file"."""

    path: Path | None = None
    regions: tuple[str, ...] = ()
    profile: str | None = None
    output: str | None = None
    with_snapshots: bool = False
    verify_timeout: float | None = None
    concurrency: int | None = None
    accounts: Mapping[str, str] = field(default_factory=_no_aliases)  # alias → account ID
    trusted_accounts: tuple[str, ...] = ()  # account IDs, aliases resolved
    trusted_organizations: tuple[str, ...] = ()  # organization ARNs

    @classmethod
    def empty(cls) -> Config:
        """No config file: every setting at its default."""
        return cls()


# ---------------------------------------------------------------- problems and errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a TOML file: where (key path, line) and what."""

    key: KeyPath
    message: str
    line: int | None = None
    column: int | None = None

    def render(self, path: Path) -> str:
        where = str(path)
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        if self.key:
            return f"{where}: {format_key_path(self.key)}: {self.message}"
        return f"{where}: {self.message}"


class ConfigFileError(ConfigError):
    """Every problem found in one file; the message has one rendered line per problem."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render(path) for p in self.problems))


_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")


def format_key_path(key: KeyPath) -> str:
    """('defaults', 'region', 1) → `defaults.region[1]`; odd names are quoted."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY_RE.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{name}" if text else name
    return text


# ---------------------------------------------------------------- reading TOML

_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END_RE = re.compile(r"\s*\(at end of document\)$")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Read and parse a TOML file → (document, text). Unreadable, non-UTF-8 or invalid TOML
    raises ConfigFileError with the line (and column) the parser reports."""
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigFileError(path, [Problem((), f"cannot read the file: {reason}")]) from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problem = Problem((), "the file is not UTF-8 text", line=line)
        raise ConfigFileError(path, [problem]) from error
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(path, [_syntax_problem(error, text)]) from error


def _syntax_problem(error: tomllib.TOMLDecodeError, text: str) -> Problem:
    """tomllib puts the position in the message ("(at line 3, column 9)"); Python 3.14+
    also has `lineno`/`colno` attributes."""
    message = str(error.args[0]) if error.args else str(error)
    line: int | None = getattr(error, "lineno", None)
    column: int | None = getattr(error, "colno", None)
    match = _POSITION_RE.search(message)
    if _AT_END_RE.search(message):
        # The attributes (tomli, Python 3.14+) point past a final newline; the last line
        # of the file is where the user has to look.
        line, column = max(1, len(text.splitlines())), None
        message = _AT_END_RE.sub("", message)
    elif match:
        line, column = line or int(match[1]), column or int(match[2])
        message = message[: match.start()]
    return Problem((), f"invalid TOML: {message}", line=line, column=column)


# ---------------------------------------------------------------- key → line


class _ScanError(Exception):
    pass


_SCALAR_RE = re.compile(r"[^,\]}\r\n#]*")


class _KeyScanner:
    """Walks TOML text that the parser already accepted and records, for each key path, the
    line where it is defined: `[table]` and `[[array]]` headers (array entries numbered from
    0), `key = value` and dotted keys, elements of arrays (the line where each element
    starts) and inline-table keys. Strings are skipped properly; anything it does not
    understand stops the scan, keeping what was found (best effort)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines: dict[KeyPath, int] = {}
        self.array_index: dict[KeyPath, int] = {}  # [[array]] path → current entry

    def line(self) -> int:
        return bisect_right(self.line_starts, self.pos)

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def skip(self, newlines: bool) -> None:
        """Skip blanks; with `newlines`, also line breaks and comments."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif newlines and char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, token: str) -> None:
        self.skip(False)
        if not self.text.startswith(token, self.pos):
            raise _ScanError
        self.pos += len(token)

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip(False)
            if self.peek() in ("'", '"'):
                parts.append(self.string())
            else:
                match = _BARE_KEY_RE.match(self.text, self.pos)
                if not match:
                    raise _ScanError
                parts.append(match[0])
                self.pos = match.end()
            self.skip(False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def string(self) -> str:
        """Skip a string; return its text for single-line strings (keys)."""
        quote = self.peek()
        if self.peek(3) == quote * 3:
            end = self._find_closing(quote * 3, self.pos + 3)
            extra = 0
            while extra < 2 and self.text.startswith(quote, end + 3 + extra):
                extra += 1  # a multi-line string may end with up to two more quotes
            self.pos = end + 3 + extra
            return ""
        end = self._find_closing(quote, self.pos + 1)
        raw = self.text[self.pos + 1 : end]
        self.pos = end + 1
        if "\n" in raw:
            raise _ScanError
        if quote == '"':
            try:
                decoded: str = json.loads(f'"{raw}"')
                return decoded
            except ValueError:
                return raw
        return raw

    def _find_closing(self, closing: str, start: int) -> int:
        escapes = closing[0] == '"'
        index = start
        while index < len(self.text):
            if escapes and self.text[index] == "\\":
                index += 2
            elif self.text.startswith(closing, index):
                return index
            else:
                index += 1
        raise _ScanError

    def value(self, key: KeyPath) -> None:
        char = self.peek()
        if char == "[":
            self.array(key)
        elif char == "{":
            self.inline_table(key)
        elif char in ("'", '"'):
            self.string()
        else:
            match = _SCALAR_RE.match(self.text, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()

    def array(self, key: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip(True)
            if self.peek() == "]":
                self.pos += 1
                return
            if not self.peek():
                raise _ScanError
            self.lines.setdefault((*key, index), self.line())
            self.value((*key, index))
            index += 1
            self.skip(True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise _ScanError

    def inline_table(self, key: KeyPath) -> None:
        self.pos += 1
        while True:
            self.skip(True)
            if self.peek() == "}":
                self.pos += 1
                return
            line = self.line()
            sub = (*key, *self.key())
            self.expect("=")
            self.skip(False)
            self.lines.setdefault(sub, line)
            self.value(sub)
            self.skip(True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise _ScanError

    def resolve(self, parts: Iterable[str]) -> KeyPath:
        """A header's dotted key → key path, with the current entry of each [[array]]."""
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            if path in self.array_index:
                path = (*path, self.array_index[path])
        return path

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip(True)
            if self.pos >= len(self.text):
                return
            line = self.line()
            if self.peek(2) == "[[":
                self.pos += 2
                parts = self.key()
                self.expect("]]")
                array = (*self.resolve(parts[:-1]), parts[-1])
                self.array_index[array] = self.array_index.get(array, -1) + 1
                table = (*array, self.array_index[array])
                self.lines.setdefault(array, line)
            elif self.peek() == "[":
                self.pos += 1
                parts = self.key()
                self.expect("]")
                table = self.resolve(parts)
            else:
                key = (*table, *self.key())
                self.expect("=")
                self.skip(False)
                self.lines.setdefault(key, line)
                self.value(key)
                self.skip(False)
                if self.peek() not in ("", "\r", "\n", "#"):
                    raise _ScanError
                continue
            self.lines.setdefault(table, line)


def key_lines(text: str) -> dict[KeyPath, int]:
    """Best effort: the 1-based line of each key path in valid TOML text (see _KeyScanner)."""
    scanner = _KeyScanner(text)
    try:
        scanner.document()
    except (_ScanError, IndexError, ValueError):
        pass
    return scanner.lines


def line_of(lines: Mapping[KeyPath, int], key: KeyPath) -> int | None:
    """The line of `key`, else of its longest known prefix (e.g. the table's header)."""
    for size in range(len(key), 0, -1):
        if key[:size] in lines:
            return lines[key[:size]]
    return None


def locate(problems: Iterable[Problem], text: str) -> list[Problem]:
    """Fill in each problem's line from the text; sort by line (file-level ones first)."""
    lines = key_lines(text)
    located = [
        p if p.line is not None else replace(p, line=line_of(lines, p.key)) for p in problems
    ]
    return sorted(located, key=lambda p: p.line or 0)


# ---------------------------------------------------------------- checking values


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return "date/time"


def _describe(value: object) -> str:
    if isinstance(value, dict | list):
        return f"a{'n' if isinstance(value, list) else ''} {_toml_type(value)}"
    shown = repr(value)
    return f"{_toml_type(value)} {shown[:60]}{'...' if len(shown) > 60 else ''}"


class Checker:
    """Collects problems while checking a parsed TOML document, instead of stopping at the
    first. Each method returns the checked value, or None after recording a problem."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, key: KeyPath, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(key, f"{message} (hint: {hint})" if hint else message))

    def call(self, key: KeyPath, check: Callable[[Any], T], value: Any) -> T | None:
        """Run a validate.* function; its UsageError becomes a problem at `key`."""
        try:
            return check(value)
        except UsageError as error:
            self.add(key, error.message, error.hint)
            return None

    def typed(self, key: KeyPath, value: object, kind: type | tuple[type, ...], what: str) -> bool:
        """Is `value` of TOML type `kind` (booleans are not numbers)? Records a problem if not."""
        ok = isinstance(value, kind) and (
            not isinstance(value, bool)
            or kind is bool
            or (isinstance(kind, tuple) and bool in kind)
        )
        if not ok:
            self.add(key, f"expected {what}, got {_describe(value)}")
        return ok

    def regions(self, key: KeyPath, value: object, what: str) -> tuple[str, ...]:
        """`region = "us-east-1"`, `["us-east-1", "eu-west-1"]` or `"all"` (absent → ());
        `what` names the expected type when it is neither."""
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(self.call(key, validate.regions, [value]) or ())
        if not self.typed(key, value, list, what):
            return ()
        items = self.string_list(key, value, '["us-east-1", "eu-west-1"]')
        names = [self.call(k, validate.region, item) for k, item in items]
        unique = tuple(dict.fromkeys(n for n in names if n is not None))
        if validate.ALL_REGIONS in unique and len(unique) > 1:
            self.add(key, "region 'all' cannot be combined with other regions")
        return unique

    def table(self, key: KeyPath, value: object) -> dict[str, Any]:
        """A sub-table (absent → empty); anything else is a problem and counts as empty."""
        if value is None:
            return {}
        if self.typed(key, value, dict, "a table"):
            assert isinstance(value, dict)
            return value
        return {}

    def known_keys(
        self, key: KeyPath, table: Mapping[str, Any], allowed: Sequence[str], what: str = "key"
    ) -> None:
        """Unknown keys are problems (a typo must not be silently ignored)."""
        for name in table:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                self.add(
                    (*key, name),
                    f"unknown {what} {name!r}; expected one of {', '.join(sorted(allowed))}",
                    hint=f"did you mean {close[0]!r}?" if close else None,
                )

    def string_list(self, key: KeyPath, value: object, example: str) -> list[tuple[KeyPath, str]]:
        """An array of strings (absent → empty) → [(element key, string)], bad elements left out."""
        if value is None:
            return []
        if not self.typed(key, value, list, f"an array of strings, e.g. {example}"):
            return []
        assert isinstance(value, list)
        items = []
        for index, item in enumerate(value):
            if self.typed((*key, index), item, str, "a string"):
                items.append(((*key, index), item))
        return items

    def optional(
        self,
        key: KeyPath,
        value: object,
        kind: type | tuple[type, ...],
        what: str,
        check: Callable[[Any], T],
    ) -> T | None:
        """An optional scalar: absent → None; else type-checked, then `check`ed."""
        if value is None or not self.typed(key, value, kind, what):
            return None
        return self.call(key, check, value)


# ---------------------------------------------------------------- the config file

_SECTIONS = ("defaults", "accounts", "audit")
_DEFAULTS_KEYS = ("region", "profile", "output", "with_snapshots", "verify_timeout", "concurrency")
_AUDIT_KEYS = ("trusted_accounts", "trusted_organizations")


def _profile(value: str) -> str:
    name = value.strip()
    if not name:
        raise UsageError(f"invalid profile {value!r}: expected a profile name")
    return name


def _accounts(checker: Checker, value: object) -> tuple[dict[str, str], set[str]]:
    """[accounts] alias = "12 digits" → (valid aliases, names of the invalid ones)."""
    aliases: dict[str, str] = {}
    broken: set[str] = set()
    for name, target in checker.table(("accounts",), value).items():
        key: KeyPath = ("accounts", name)
        name_ok = checker.call(key, validate.alias_name, name) is not None
        if isinstance(target, int) and not isinstance(target, bool):
            checker.add(
                key,
                f"expected the account ID as a string, got integer {target}",
                hint=f'quote it, keeping leading zeros: {name} = "{target:012d}"',
            )
            target_ok = None
        elif checker.typed(key, target, str, 'a 12-digit account ID string, e.g. "111122223333"'):
            target_ok = checker.call(key, validate.numeric_account_id, target)
        else:
            target_ok = None
        if name_ok and target_ok is not None:
            aliases[name] = target_ok
        else:
            broken.add(name)
    return aliases, broken


def _trusted_accounts(
    checker: Checker, value: object, aliases: Mapping[str, str], broken: set[str]
) -> tuple[str, ...]:
    """Account IDs or aliases; references to aliases that are themselves invalid are not
    reported twice."""
    key: KeyPath = ("audit", "trusted_accounts")
    found: set[str] = set()
    for item_key, item in checker.string_list(key, value, '["prod", "111122223333"]'):
        if item.strip() in broken:
            continue
        account = checker.call(item_key, lambda v: validate.account_id(v, aliases), item)
        if account is not None:
            found.add(account)
    return tuple(sorted(found))


def _trusted_organizations(checker: Checker, value: object) -> tuple[str, ...]:
    key: KeyPath = ("audit", "trusted_organizations")
    arns = {
        checker.call(item_key, validate.organization_arn, item)
        for item_key, item in checker.string_list(key, value, f'["{validate.ORG_ARN_EXAMPLE}"]')
    }
    return tuple(sorted(a for a in arns if a is not None))


def check_config(
    document: Mapping[str, Any], path: Path | None = None
) -> tuple[Config, list[Problem]]:
    """Check a parsed config document → (config from the valid parts, problems without lines)."""
    checker = Checker()
    checker.known_keys((), document, _SECTIONS, what="section")
    defaults = checker.table(("defaults",), document.get("defaults"))
    checker.known_keys(("defaults",), defaults, _DEFAULTS_KEYS)
    audit = checker.table(("audit",), document.get("audit"))
    checker.known_keys(("audit",), audit, _AUDIT_KEYS)
    aliases, broken = _accounts(checker, document.get("accounts"))

    def setting(
        name: str, kind: type | tuple[type, ...], what: str, check: Callable[[Any], T]
    ) -> T | None:
        return checker.optional(("defaults", name), defaults.get(name), kind, what, check)

    config = Config(
        path=path,
        regions=checker.regions(
            ("defaults", "region"), defaults.get("region"), "a string or an array of strings"
        ),
        profile=setting("profile", str, "a string", _profile),
        output=setting("output", str, "a string: table, json or text", validate.output),
        with_snapshots=bool(setting("with_snapshots", bool, "true or false", bool)),
        verify_timeout=setting(
            "verify_timeout", (int, float), "a number of seconds", validate.verify_timeout
        ),
        concurrency=setting("concurrency", int, "an integer", validate.concurrency),
        accounts=MappingProxyType(aliases),
        trusted_accounts=_trusted_accounts(checker, audit.get("trusted_accounts"), aliases, broken),
        trusted_organizations=_trusted_organizations(checker, audit.get("trusted_organizations")),
    )
    return config, checker.problems


def parse_config(text: str, path: Path | None = None) -> Config:
    """Parse and check config text; `path` (default ./amictl.toml) is for messages and
    `Config.path`."""
    path = Path(LOCAL_CONFIG_NAME) if path is None else path
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(path, [_syntax_problem(error, text)]) from error
    return _checked(document, text, path)


def _checked(document: Mapping[str, Any], text: str, path: Path) -> Config:
    config, problems = check_config(document, path)
    if problems:
        raise ConfigFileError(path, locate(problems, text))
    return config


def load_config_file(path: Path) -> Config:
    """Read, parse and check one config file; every problem is in the one ConfigFileError."""
    document, text = read_toml(path)
    return _checked(document, text, path)


# ---------------------------------------------------------------- finding the file


def user_config_path() -> Path | None:
    """`$XDG_CONFIG_HOME/amictl/config.toml` (if absolute), `%APPDATA%\\amictl\\config.toml`
    on Windows, else `~/.config/amictl/config.toml`; None when there is no home."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    elif os.name == "nt" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        try:
            base = Path.home() / ".config"
        except RuntimeError:
            return None
    return base / "amictl" / "config.toml"


def _must_exist(path: Path, origin: str) -> Path:
    if not path.exists():
        raise UsageError(f"config file {str(path)!r} (from {origin}) does not exist")
    if not path.is_file():
        raise UsageError(f"config file {str(path)!r} (from {origin}) is not a file")
    return path


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use, or None. An explicit path (`--config`) or `$AMICTL_CONFIG`
    must exist; an empty `$AMICTL_CONFIG` counts as unset."""
    if explicit is not None:
        return _must_exist(Path(explicit).expanduser(), "--config")
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return _must_exist(Path(from_env).expanduser(), f"${CONFIG_ENV}")
    local = Path(LOCAL_CONFIG_NAME)
    if local.is_file():
        return local
    user = user_config_path()
    return user if user is not None and user.is_file() else None


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Find and load the config file; no file → `Config.empty()`."""
    path = find_config_file(explicit)
    return Config.empty() if path is None else load_config_file(path)
