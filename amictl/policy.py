"""Policy files (spec §7): the desired state of images, in TOML, and `export` back to it.

A policy has `[accounts]` aliases (merged over the config's) and `[[image]]` entries. Each
entry picks images by `id` or by `select = { tags = {...}, filters = {...} }`, optionally
in `region` (else the command's regions), and lists the attributes it owns:

- `accounts`, `organizations`, `organizational_units`: exact sets; what the image has of
  that kind beyond the list is removed, what is missing is added;
- `public`: `true` adds public launch permission (the planner's safety rules still apply),
  `false` removes it;
- `description`: the text (`""` = no description);
- `imds_support = "v2.0"`: enforce IMDSv2 (irreversible, so there is no other value);
- `snapshots = true`: keep every snapshot's createVolumePermission accounts equal to the
  image's accounts; `false` = leave snapshot permissions alone.

An attribute an entry omits is left alone. Each entry becomes one `Intent` (DESIGN.md:
a policy file is just many intents), independent of any image's state: the planner's
`exact` and `snapshots_follow_image` carry the exact-set semantics.

Every problem in a file is reported at once (`ConfigFileError`), each with the file, the
key path (`image[2].accounts[0]`) and the line. Pure: no boto3, typer or rich, no I/O
but reading the file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import validate
from .config import (
    Checker,
    ConfigFileError,
    KeyPath,
    Problem,
    _accounts,
    _describe,
    _syntax_problem,
    key_lines,
    line_of,
    locate,
    read_toml,
)
from .errors import UsageError
from .gateway import Filter
from .model import (
    IMDS_V2,
    Command,
    ImageRef,
    ImageState,
    Intent,
    LaunchTargets,
    TargetKind,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Policy",
    "PolicyEntry",
    "check_overlaps",
    "export_policy",
    "load_policy",
    "parse_policy",
    "snapshots_in_step",
]

POLICY_SECTIONS = ("accounts", "image")
ENTRY_KEYS = (
    "id",
    "select",
    "region",
    "accounts",
    "organizations",
    "organizational_units",
    "public",
    "description",
    "imds_support",
    "snapshots",
)
SELECT_KEYS = ("tags", "filters")

_NO_ALIASES: Mapping[str, str] = MappingProxyType({})
_SHOWN_OVERLAPS = 5


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class PolicyEntry:
    """One `[[image]]` entry, validated. `None` means the attribute was omitted (left alone)."""

    index: int  # position in the file's [[image]] array, from 0
    line: int | None = None
    image_id: str | None = None
    filters: tuple[Filter, ...] = ()  # from `select` (tags become tag:KEY filters)
    regions: tuple[str, ...] = ()  # empty: the command's regions
    accounts: frozenset[str] | None = None
    organizations: frozenset[str] | None = None
    organizational_units: frozenset[str] | None = None
    public: bool | None = None
    description: str | None = None
    enforce_imdsv2: bool = False
    snapshots: bool = False

    @property
    def key(self) -> str:
        return f"image[{self.index}]"

    @property
    def is_selector(self) -> bool:
        return self.image_id is None

    @property
    def label(self) -> str:
        """`image[2] (ami-…)` or `image[2] (select tag:Team=base)`, for messages."""
        if self.image_id is not None:
            return f"{self.key} ({self.image_id})"
        what = " ".join(f"{f.name}={','.join(f.values)}" for f in self.filters)
        return f"{self.key} (select {what})"

    def intent(self, command: Command) -> Intent:
        """The entry as an intent for the planner: listed kinds are exact sets."""
        listed = {
            TargetKind.ACCOUNTS: self.accounts,
            TargetKind.ORGANIZATIONS: self.organizations,
            TargetKind.ORGANIZATIONAL_UNITS: self.organizational_units,
        }
        return Intent(
            command,
            add=LaunchTargets.of(
                self.accounts or (),
                self.organizations or (),
                self.organizational_units or (),
                public=self.public is True,
            ),
            remove=LaunchTargets(public=self.public is False),
            exact=frozenset(kind for kind, value in listed.items() if value is not None),
            description=self.description,
            enforce_imdsv2=self.enforce_imdsv2,
            snapshots_follow_image=self.snapshots,
        )


@dataclass(frozen=True)
class Policy:
    path: Path
    entries: tuple[PolicyEntry, ...] = ()
    accounts: Mapping[str, str] = field(default_factory=lambda: _NO_ALIASES)  # merged aliases

    @property
    def needs_snapshot_permissions(self) -> bool:
        return any(e.snapshots for e in self.entries)

    @property
    def may_make_public(self) -> bool:
        return any(e.public is True for e in self.entries)


# ---------------------------------------------------------------- loading


def load_policy(path: Path, aliases: Mapping[str, str] = _NO_ALIASES) -> Policy:
    """Read, parse and check a policy file; `aliases` are the config's [accounts], which the
    file's own [accounts] override. Every problem is in the one ConfigFileError."""
    document, text = read_toml(path)
    return _checked(document, text, path, aliases)


def parse_policy(text: str, path: Path, aliases: Mapping[str, str] = _NO_ALIASES) -> Policy:
    """Like `load_policy`, from text (`path` is for messages)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(path, [_syntax_problem(error, text)]) from error
    return _checked(document, text, path, aliases)


def _checked(
    document: Mapping[str, Any], text: str, path: Path, aliases: Mapping[str, str]
) -> Policy:
    policy, problems = check_policy(document, path, aliases)
    if problems:
        raise ConfigFileError(path, locate(problems, text))
    lines = key_lines(text)
    entries = tuple(replace(e, line=line_of(lines, ("image", e.index))) for e in policy.entries)
    return Policy(policy.path, entries, policy.accounts)


def check_policy(
    document: Mapping[str, Any], path: Path, aliases: Mapping[str, str] = _NO_ALIASES
) -> tuple[Policy, list[Problem]]:
    """Check a parsed policy document → (policy from the valid parts, problems without lines)."""
    checker = Checker()
    checker.known_keys((), document, POLICY_SECTIONS, what="section")
    own, broken = _accounts(checker, document.get("accounts"))
    merged = {**aliases, **own}
    broken -= set(own)
    entries: list[PolicyEntry] = []
    raw_entries = document.get("image")
    if raw_entries is not None and not isinstance(raw_entries, list):
        checker.add(
            ("image",),
            f"expected an array of tables, got {_describe(raw_entries)}",
            hint="write each entry as [[image]] (two brackets)",
        )
    elif raw_entries is not None:
        for index, raw in enumerate(raw_entries):
            entry = _entry(checker, index, raw, merged, broken)
            if entry is not None:
                entries.append(entry)
    return Policy(path, tuple(entries), MappingProxyType(merged)), checker.problems


def _entry(
    checker: Checker, index: int, raw: object, aliases: Mapping[str, str], broken: set[str]
) -> PolicyEntry | None:
    key: KeyPath = ("image", index)
    if not checker.typed(key, raw, dict, "a table ([[image]])"):
        return None
    assert isinstance(raw, dict)
    before = len(checker.problems)
    checker.known_keys(key, raw, ENTRY_KEYS)

    def at(name: str) -> KeyPath:
        return (*key, name)

    image_id = checker.optional(
        at("id"),
        raw.get("id"),
        str,
        f'an AMI ID string, e.g. "{validate.AMI_EXAMPLE}"',
        validate.ami_id,
    )
    filters = _select(checker, at("select"), raw.get("select"))
    if "id" in raw and "select" in raw:
        checker.add(key, "give either id or select, not both")
    elif "id" not in raw and "select" not in raw:
        checker.add(
            key,
            "no image: give id or select",
            hint='id = "ami-0123456789abcdef0", or select = { tags = { Team = "base" } }',
        )
    accounts = _set(
        checker,
        at("accounts"),
        raw.get("accounts"),
        '["prod", "111122223333"]',
        lambda value: validate.account_id(value, aliases),
        skip=broken,
    )
    organizations = _set(
        checker,
        at("organizations"),
        raw.get("organizations"),
        f'["{validate.ORG_ARN_EXAMPLE}"]',
        validate.organization_arn,
    )
    organizational_units = _set(
        checker,
        at("organizational_units"),
        raw.get("organizational_units"),
        f'["{validate.OU_ARN_EXAMPLE}"]',
        validate.organizational_unit_arn,
    )
    public = _flag(checker, at("public"), raw.get("public"))
    description = checker.optional(
        at("description"), raw.get("description"), str, "a string", validate.description
    )
    imds = checker.optional(
        at("imds_support"), raw.get("imds_support"), str, f'the string "{IMDS_V2}"', _imds
    )
    snapshots = _flag(checker, at("snapshots"), raw.get("snapshots"))
    regions = _regions(checker, at("region"), raw.get("region"))
    if len(checker.problems) > before:
        return None
    return PolicyEntry(
        index=index,
        image_id=image_id,
        filters=filters,
        regions=regions,
        accounts=accounts,
        organizations=organizations,
        organizational_units=organizational_units,
        public=public,
        description=description,
        enforce_imdsv2=imds is not None,
        snapshots=bool(snapshots),
    )


def _imds(value: str) -> str:
    if value == IMDS_V2:
        return value
    raise UsageError(
        f"invalid imds_support {value!r}: the only value is {IMDS_V2!r}; enforcing IMDSv2 "
        "cannot be undone, so a policy can require it but never turn it off",
        hint="to leave IMDS support as it is, remove the key",
    )


def _flag(checker: Checker, key: KeyPath, value: object) -> bool | None:
    if value is None or not checker.typed(key, value, bool, "true or false"):
        return None
    assert isinstance(value, bool)
    return value


def _set(
    checker: Checker,
    key: KeyPath,
    value: object,
    example: str,
    check: Callable[[str], str],
    skip: set[str] | None = None,
) -> frozenset[str] | None:
    """An array of strings, each checked → the set (None when the key is absent)."""
    if value is None:
        return None
    found: set[str] = set()
    for item_key, item in checker.string_list(key, value, example):
        if skip and item.strip() in skip:
            continue  # an alias that is itself invalid: reported once, at its definition
        checked = checker.call(item_key, check, item)
        if checked is not None:
            found.add(checked)
    return frozenset(found)


def _regions(checker: Checker, key: KeyPath, value: object) -> tuple[str, ...]:
    """An entry's regions; unlike the config's default, an empty array is a mistake."""
    if value == []:
        checker.add(key, "empty array: give a region, or remove the key for the default regions")
    return checker.regions(key, value, "a region name or an array of region names")


def _select(checker: Checker, key: KeyPath, value: object) -> tuple[Filter, ...]:
    """`select = { tags = { K = "V" }, filters = { name = ["v1", "v2"] } }` → filters."""
    if value is None:
        return ()
    if not checker.typed(key, value, dict, 'a table, e.g. { tags = { Team = "base" } }'):
        return ()
    assert isinstance(value, dict)
    checker.known_keys(key, value, SELECT_KEYS)
    filters: list[Filter] = []
    for name, tag_value in checker.table((*key, "tags"), value.get("tags")).items():
        tag_key = (*key, "tags", name)
        if checker.typed(tag_key, tag_value, str, "a string (the tag's value)"):
            if checker.call(tag_key, validate.tag, f"{name}={tag_value}") is not None:
                filters.append(Filter(f"tag:{name}", (tag_value,)))
    for name, values in checker.table((*key, "filters"), value.get("filters")).items():
        filter_key = (*key, "filters", name)
        items = (
            [(filter_key, values)]
            if isinstance(values, str)
            else checker.string_list(filter_key, values, '["base-*"]')
        )
        good = [
            item
            for item_key, item in items
            if checker.call(item_key, validate.image_filter, f"{name}={item}") is not None
        ]
        if isinstance(values, list) and not values:
            checker.add(filter_key, "empty array: give at least one value")
        elif good and len(good) == len(items):
            filters.append(Filter(name, tuple(good)))
    if not value.get("tags") and not value.get("filters") and set(value) <= set(SELECT_KEYS):
        checker.add(
            key,
            "select matches nothing: give tags or filters",
            hint='select = { tags = { Team = "base" } }',
        )
    return tuple(filters)


# ---------------------------------------------------------------- one image, one entry


def check_overlaps(policy: Policy, selected: Mapping[int, Iterable[ImageRef]]) -> None:
    """Raise ConfigFileError when two entries select the same image (after selection):
    each image's attributes must come from one entry. `selected`: entry index → images."""
    by_index = {e.index: e for e in policy.entries}
    owner: dict[ImageRef, int] = {}
    clashes: dict[tuple[int, int], list[ImageRef]] = {}
    for index in sorted(selected):
        for ref in sorted(set(selected[index])):
            first = owner.setdefault(ref, index)
            if first != index:
                clashes.setdefault((first, index), []).append(ref)
    problems = []
    for (first, second), refs in sorted(clashes.items()):
        earlier, later = by_index[first], by_index[second]
        shown = ", ".join(f"{r.image_id} ({r.region})" for r in refs[:_SHOWN_OVERLAPS])
        if len(refs) > _SHOWN_OVERLAPS:
            shown += f" and {len(refs) - _SHOWN_OVERLAPS} more"
        where = f" (line {earlier.line})" if earlier.line is not None else ""
        problems.append(
            Problem(
                ("image", second),
                f"{later.label} and {earlier.label}{where} both select {shown}; an image may "
                "be in one entry only, so that its attributes are set once",
                line=later.line,
            )
        )
    if problems:
        raise ConfigFileError(policy.path, problems)


# ---------------------------------------------------------------- export

EXPORT_HEADER = """\
# amictl policy: the current state of {count}, written by `amictl export`.
# `amictl plan FILE` shows what differs; `amictl apply FILE` makes the images match.
# An attribute an entry lists is authoritative (an exact set); remove it from the entry
# to leave that attribute alone. snapshots = true keeps every snapshot's
# createVolumePermission in step with `accounts`."""

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _array(items: Iterable[str]) -> str:
    ordered = sorted(items)
    if len(ordered) <= 1:
        return "[" + "".join(toml_string(i) for i in ordered) + "]"
    return "[\n" + "".join(f"  {toml_string(i)},\n" for i in ordered) + "]"


def _comment(text: str) -> str:
    """Untrusted text inside a comment: ASCII, JSON-escaped (no control characters)."""
    return json.dumps(text, ensure_ascii=True)


def snapshots_in_step(state: ImageState) -> bool:
    """Does every snapshot (there is at least one) grant createVolumePermission to exactly
    the image's accounts, and not to everyone? Unknown permissions count as not."""
    accounts = state.launch.accounts
    return bool(state.snapshots) and all(
        s.accounts == accounts and not s.public for s in state.snapshots
    )


def _entry_lines(state: ImageState) -> list[str]:
    launch = state.launch
    lines = ["[[image]]"]
    if state.name:
        lines.append(f"# name: {_comment(state.name)}")
    lines += [
        f"id = {toml_string(state.image_id)}",
        f"region = {toml_string(state.region)}",
        f"accounts = {_array(launch.accounts)}",
        f"organizations = {_array(launch.organizations)}",
        f"organizational_units = {_array(launch.organizational_units)}",
        f"public = {'true' if launch.public else 'false'}",
    ]
    description = state.description or ""
    try:
        validate.description(description)
    except UsageError:
        lines.append(
            "# description left out: EC2 has one that a policy cannot hold "
            f"({len(description)} characters, or control characters)"
        )
    else:
        lines.append(f"description = {toml_string(description)}")
    if state.imds_support == IMDS_V2:
        lines.append(f"imds_support = {toml_string(IMDS_V2)}")
    elif state.imds_support:
        lines.append(f"# imds_support is {_comment(state.imds_support)}: not settable in a policy")
    lines.append(f"snapshots = {'true' if snapshots_in_step(state) else 'false'}")
    return lines


def export_policy(states: Sequence[ImageState]) -> str:
    """The policy TOML for these images' current state: every attribute, entries sorted by
    (region, image ID), lists sorted; `plan` of it against the same state is empty."""
    count = f"{len(states)} image" + ("" if len(states) == 1 else "s")
    blocks = [EXPORT_HEADER.format(count=count)]
    for state in sorted(states, key=lambda s: (s.region, s.image_id)):
        blocks.append("\n".join(_entry_lines(state)))
    return "\n\n".join(blocks) + "\n"
