"""Parse and check what users type (spec §2, §3, §7): IDs, ARNs, filters, tags, regions, text.

Pure: no I/O and no API calls. Each function returns the normalized value or raises
`UsageError` whose message names the bad value and shows what a good one looks like;
`hint` carries the likely fix when there is an obvious one. Values are shown with `repr`
(escaped, and cut after 120 characters) so control characters cannot garble a terminal.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

from .errors import UsageError
from .gateway import Filter

AMI_EXAMPLE = "ami-0123456789abcdef0"
ACCOUNT_EXAMPLE = "111122223333"
ORG_ARN_FORMAT = "arn:aws:organizations::<management-account-id>:organization/o-<id>"
OU_ARN_FORMAT = "arn:aws:organizations::<management-account-id>:ou/o-<id>/ou-<id>"
ORG_ARN_EXAMPLE = "arn:aws:organizations::123456789012:organization/o-abc123def4"
OU_ARN_EXAMPLE = "arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cd34ef56"
# Known partitions (botocore partitions.json); the ARN patterns accept any `aws-*` partition.
PARTITIONS = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
ALL_REGIONS = "all"
OUTPUT_FORMATS = ("table", "json", "text")
DESCRIPTION_MAX = 255  # EC2's historical limit (unconfirmed by AWS docs), in characters
VERIFY_TIMEOUT_MAX = 3600.0
CONCURRENCY_MAX = 64

_NO_ALIASES: Mapping[str, str] = MappingProxyType({})
_SHOW_MAX = 120

# `[0-9]`, never `\d`: Python's `\d` also matches non-ASCII digits such as "١".
_AMI_RE = re.compile(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_HYPHENATED_ACCOUNT_RE = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{4}")
_ALIAS_NAME_RE = re.compile(r"[A-Za-z0-9_-]*[A-Za-z_][A-Za-z0-9_-]*")
_PARTITION = r"aws(?:-[a-z]+)*"
_ORG_ID = r"o-[a-z0-9]{10,32}"
_OU_ID = r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"
_ARN_HEAD = rf"arn:{_PARTITION}:organizations::[0-9]{{12}}:"
_ORG_ID_RE = re.compile(_ORG_ID)
_OU_ID_RE = re.compile(_OU_ID)
_ORG_ARN_RE = re.compile(rf"{_ARN_HEAD}organization/{_ORG_ID}")
_OU_ARN_RE = re.compile(rf"{_ARN_HEAD}ou/{_ORG_ID}/{_OU_ID}")
_ARN_WITH_REGION_RE = re.compile(r"arn:[^:]*:organizations:[^:]+:")
_REGION_RE = re.compile(r"(?:[a-z]{2}(?:-gov|-iso[a-z]?)?|eusc-[a-z]{2})-[a-z]+-[0-9]{1,2}")
_OTHER_RESOURCE_PREFIXES = {
    "snap-": "a snapshot ID",
    "i-": "an instance ID",
    "vol-": "a volume ID",
    "aki-": "a kernel image ID",
    "ari-": "a ramdisk image ID",
}


def _show(value: str) -> str:
    """A user value as it appears in messages: repr-quoted, long values cut."""
    if len(value) > _SHOW_MAX:
        return f"{value[:_SHOW_MAX]!r}... ({len(value)} characters)"
    return repr(value)


def split_values(values: Iterable[str], what: str) -> list[str]:
    """Flatten repeatable, comma-separated option values; strip each item; reject empty ones."""
    if isinstance(values, str):
        values = [values]
    items: list[str] = []
    for value in values:
        for part in value.split(","):
            item = part.strip()
            if not item:
                raise UsageError(
                    f"empty {what} in {_show(value)}",
                    hint="separate values with single commas, e.g. a,b",
                )
            items.append(item)
    return items


# ---------------------------------------------------------------- AMI IDs


def ami_id(value: str) -> str:
    """`ami-` + 8 or 17 lowercase hex digits, e.g. ami-0123456789abcdef0."""
    text = value.strip()
    if _AMI_RE.fullmatch(text):
        return text
    raise UsageError(
        f"invalid AMI ID {_show(value)}: expected 'ami-' followed by 8 or 17 lowercase hex "
        f"digits, e.g. {AMI_EXAMPLE}",
        hint=_ami_hint(text),
    )


def _ami_hint(text: str) -> str | None:
    if _AMI_RE.fullmatch(text.lower()):
        return f"AMI IDs are lowercase: {text.lower()}"
    for prefix, kind in _OTHER_RESOURCE_PREFIXES.items():
        if text.startswith(prefix):
            return f"{text} looks like {kind}, not an AMI ID"
    digits = text[4:] if text.startswith("ami-") else None
    if digits is None:
        return None
    if "," in digits:
        return "give several AMI IDs as separate arguments"
    if all(c in "0123456789abcdef" for c in digits):
        return f"it has {len(digits)} hex digits after 'ami-'; AMI IDs have 8 or 17"
    return "only the hex digits 0-9 and a-f may follow 'ami-'"


# ---------------------------------------------------------------- accounts


def numeric_account_id(value: str) -> str:
    """Exactly 12 ASCII digits, kept as a string (leading zeros matter). No aliases."""
    text = value.strip()
    if _ACCOUNT_RE.fullmatch(text):
        return text
    raise UsageError(
        f"invalid account ID {_show(value)}: expected exactly 12 digits, e.g. {ACCOUNT_EXAMPLE}",
        hint=_account_hint(text),
    )


def _account_hint(text: str) -> str | None:
    if _HYPHENATED_ACCOUNT_RE.fullmatch(text):
        return f"write it without hyphens: {text.replace('-', '')}"
    if text.isascii() and text.isdigit() and len(text) < 12:
        return f"account IDs keep their leading zeros; did you mean {text.zfill(12)}?"
    return None


def account_id(value: str, aliases: Mapping[str, str] = _NO_ALIASES) -> str:
    """A 12-digit account ID, or an alias from the config's [accounts] table resolved to one."""
    text = value.strip()
    if _ACCOUNT_RE.fullmatch(text):
        return text
    if text in aliases:
        target = aliases[text]
        if not _ACCOUNT_RE.fullmatch(target):
            raise UsageError(f"account alias {_show(text)} maps to {_show(target)}, not 12 digits")
        return target
    if not text or (any(c.isdigit() for c in text) and not any(c.isalpha() for c in text)):
        return numeric_account_id(value)  # number-like: report it as a bad account ID
    raise UsageError(
        f"unknown account alias {_show(value)}: not a 12-digit account ID and not one of "
        f"{_known_aliases(aliases)}",
        hint=_alias_hint(text, aliases),
    )


def _known_aliases(aliases: Mapping[str, str]) -> str:
    if not aliases:
        return "the config's [accounts] aliases (none are defined)"
    return "the config's [accounts] aliases: " + ", ".join(sorted(aliases))


def _alias_hint(text: str, aliases: Mapping[str, str]) -> str | None:
    close = difflib.get_close_matches(text, list(aliases), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if _ALIAS_NAME_RE.fullmatch(text):
        return f'define it in the config file: [accounts] {text} = "{ACCOUNT_EXAMPLE}"'
    return None


def account_ids(values: Iterable[str], aliases: Mapping[str, str] = _NO_ALIASES) -> list[str]:
    """Repeatable, comma-separated IDs or aliases → sorted, de-duplicated account IDs."""
    return sorted({account_id(item, aliases) for item in split_values(values, "account ID")})


def alias_name(name: str) -> str:
    """An [accounts] alias name: letters, digits, '_' or '-', and at least one letter or '_'
    (so that it can never be mistaken for an account ID)."""
    if _ALIAS_NAME_RE.fullmatch(name):
        return name
    if _ACCOUNT_RE.fullmatch(name.strip()):
        message = f"invalid alias name {_show(name)}: an alias cannot itself be an account ID"
    else:
        message = (
            f"invalid alias name {_show(name)}: use letters, digits, '_' or '-', "
            "with at least one letter, e.g. prod"
        )
    raise UsageError(message)


# ---------------------------------------------------------------- organizations and OUs


def organization_arn(value: str) -> str:
    """arn:<partition>:organizations::<12 digits>:organization/o-<10-32 [a-z0-9]>."""
    text = value.strip()
    if _ORG_ARN_RE.fullmatch(text):
        return text
    raise UsageError(
        f"invalid organization ARN {_show(value)}: expected {ORG_ARN_FORMAT}, "
        f"e.g. {ORG_ARN_EXAMPLE}",
        hint=_org_hint(text, want_ou=False),
    )


def organizational_unit_arn(value: str) -> str:
    """arn:<partition>:organizations::<12 digits>:ou/o-<id>/ou-<4-32>-<8-32>."""
    text = value.strip()
    if _OU_ARN_RE.fullmatch(text):
        return text
    raise UsageError(
        f"invalid organizational unit ARN {_show(value)}: expected {OU_ARN_FORMAT}, "
        f"e.g. {OU_ARN_EXAMPLE}",
        hint=_org_hint(text, want_ou=True),
    )


def _org_hint(text: str, want_ou: bool) -> str | None:
    """The likely mistake: a bare ID, the other kind of ARN, upper case, or a region."""
    org_id_help = (
        f"EC2 needs the full organization ARN, not the ID: "
        f"arn:aws:organizations::<management-account-id>:organization/{text} "
        "(`aws organizations describe-organization --query Organization.Arn` prints it)"
    )
    ou_id_help = (
        f"EC2 needs the full OU ARN, not the ID: "
        f"arn:aws:organizations::<management-account-id>:ou/<o-id>/{text} "
        f"(`aws organizations describe-organizational-unit --organizational-unit-id {text} "
        "--query OrganizationalUnit.Arn` prints it)"
    )
    if _ORG_ID_RE.fullmatch(text):
        return org_id_help + ("; and an organization is given with --org" if want_ou else "")
    if _OU_ID_RE.fullmatch(text):
        return ou_id_help + ("" if want_ou else "; and an OU is given with --ou")
    if not want_ou and _OU_ARN_RE.fullmatch(text):
        return "that is an organizational unit ARN, not an organization ARN (OUs go with --ou)"
    if want_ou and _ORG_ARN_RE.fullmatch(text):
        return "that is an organization ARN, not an OU ARN (organizations go with --org)"
    wanted = _OU_ARN_RE if want_ou else _ORG_ARN_RE
    if wanted.fullmatch(text.lower()):
        return f"ARNs and organization IDs are lowercase: {text.lower()}"
    if _ARN_WITH_REGION_RE.match(text):
        return "organization ARNs have no region: arn:aws:organizations::<account-id>:..."
    return None


def organization_arns(values: Iterable[str]) -> list[str]:
    """Repeatable, comma-separated organization ARNs → sorted, de-duplicated."""
    return sorted({organization_arn(v) for v in split_values(values, "organization ARN")})


def organizational_unit_arns(values: Iterable[str]) -> list[str]:
    """Repeatable, comma-separated OU ARNs → sorted, de-duplicated."""
    return sorted({organizational_unit_arn(v) for v in split_values(values, "OU ARN")})


# ---------------------------------------------------------------- filters and tags

_FILTER_FORMS = "Name=VALUE[,VALUE] (e.g. name=base-*) or Name=NAME,Values=VALUE[,VALUE]"


def image_filter(value: str) -> Filter:
    """EC2 filter syntax `name=V1[,V2]`, or the AWS CLI's `Name=name,Values=V1[,V2]`.

    Values are split on commas and kept otherwise as typed (spaces and `*`/`?` wildcards)."""
    name, sep, rest = value.partition("=")
    if not sep:
        raise UsageError(f"invalid filter {_show(value)}: no '='; expected {_FILTER_FORMS}")
    if name == "Name":
        name, sep, rest = rest.partition(",Values=")
        if not sep:
            raise UsageError(
                f"invalid filter {_show(value)}: the AWS CLI form needs Values; "
                f"expected {_FILTER_FORMS}"
            )
    if not name or any(c.isspace() for c in name):
        raise UsageError(
            f"invalid filter {_show(value)}: the filter name must be non-empty without spaces; "
            f"expected {_FILTER_FORMS}",
            hint="no spaces around '='" if name.strip() else None,
        )
    values = tuple(rest.split(","))
    if any(not v for v in values):
        raise UsageError(
            f"invalid filter {_show(value)}: empty value; expected {_FILTER_FORMS}",
            hint="to match any value of a tag, use tag-key=KEY",
        )
    if any(v.startswith("Values=") for v in values):
        raise UsageError(
            f"invalid filter {_show(value)}: the AWS CLI form starts with a capital 'Name='",
            hint=f"Name={name},{rest}",
        )
    return Filter(name, values)


def tag(value: str) -> Filter:
    """`KEY=VALUE` → Filter("tag:KEY", (VALUE,)). The value is taken whole (commas too)."""
    key, sep, tag_value = value.partition("=")
    if not sep or not key:
        problem = "no '='" if not sep else "empty key"
        raise UsageError(
            f"invalid tag {_show(value)}: {problem}; expected KEY=VALUE, e.g. Team=base"
        )
    if not tag_value:
        raise UsageError(
            f"invalid tag {_show(value)}: empty value; expected KEY=VALUE, e.g. Team=base",
            hint=f"to match any value, use --filter tag-key={key}",
        )
    return Filter(f"tag:{key}", (tag_value,))


# ---------------------------------------------------------------- regions


def region(value: str) -> str:
    """`all`, or a region name such as us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1."""
    text = value.strip()
    if text == ALL_REGIONS or _REGION_RE.fullmatch(text):
        return text
    raise UsageError(
        f"invalid region {_show(value)}: expected a region name such as us-east-1 or 'all'",
        hint=_region_hint(text),
    )


def _region_hint(text: str) -> str | None:
    lower = text.lower()
    if lower != text and (lower == ALL_REGIONS or _REGION_RE.fullmatch(lower)):
        return f"region names are lowercase: {lower}"
    if _REGION_RE.fullmatch(text[:-1]) and text[-1:].isalpha():
        return f"{text} is an availability zone; its region is {text[:-1]}"
    return None


def regions(values: Iterable[str]) -> list[str]:
    """Repeatable, comma-separated regions → de-duplicated in the given order.

    `all` must stand alone."""
    result = list(dict.fromkeys(region(v) for v in split_values(values, "region")))
    if ALL_REGIONS in result and len(result) > 1:
        others = ", ".join(r for r in result if r != ALL_REGIONS)
        raise UsageError(f"region 'all' cannot be combined with other regions ({others})")
    return result


# ---------------------------------------------------------------- other values


def output(value: str) -> str:
    """One of table, json, text."""
    text = value.strip()
    if text in OUTPUT_FORMATS:
        return text
    raise UsageError(f"invalid output format {_show(value)}: expected one of table, json, text")


def description(text: str) -> str:
    """An AMI description: at most 255 characters, one line, no control characters.

    Taken literally (not stripped); empty is allowed. Any other Unicode is fine."""
    if len(text) > DESCRIPTION_MAX:
        raise UsageError(
            f"description is {len(text)} characters long; EC2 allows at most "
            f"{DESCRIPTION_MAX}: {_show(text[:40])}..."
        )
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            raise UsageError(
                f"invalid description {_show(text)}: control character or line break "
                f"{char!r} at position {position}",
                hint="a description is one line of text without tabs or newlines",
            )
        if category == "Cs":
            raise UsageError(
                f"invalid description {_show(text)}: not valid Unicode at position {position}",
                hint="check that the terminal or file uses UTF-8",
            )
    return text


def endpoint_url(value: str) -> str:
    """http(s)://host[:port][/path], without credentials, query or fragment."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is not None and (parts.username is not None or parts.password is not None):
        shown = text.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2])
        raise UsageError(f"invalid endpoint URL {_show(shown)}: it must not contain credentials")
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in text)
    ):
        raise UsageError(
            f"invalid endpoint URL {_show(value)}: expected http(s)://host[:port][/path], "
            "e.g. http://127.0.0.1:5000"
        )
    return text


def verify_timeout(value: float) -> float:
    """Seconds to keep re-reading for verification: 0 to 3600."""
    if isinstance(value, bool) or not 0 <= value <= VERIFY_TIMEOUT_MAX:
        raise UsageError(
            f"invalid verify timeout {value!r}: expected seconds from 0 to {VERIFY_TIMEOUT_MAX:g}"
        )
    return float(value)


def concurrency(value: int) -> int:
    """How many images to work on at once: 1 to 64."""
    if isinstance(value, bool) or not 1 <= value <= CONCURRENCY_MAX:
        raise UsageError(f"invalid concurrency {value!r}: expected 1 to {CONCURRENCY_MAX}")
    return value
