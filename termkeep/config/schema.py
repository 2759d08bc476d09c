"""The TOML form of a Profile: which keys exist, what each accepts, and the mapping both ways.

The keys are the Profile dataclass fields, sections are its nested dataclasses (``[keepalive]``,
``[tcp]``, ``[reconnect]``, ``[tmux]``). The key list is derived from the dataclasses, so a new
Profile field is a new TOML key without touching this module; only its range rule (``_RULES``)
is written by hand. The profile name is not a key: it is the file name.

Reading is strict: an unknown key, a wrong type or a value out of range is an error, and all of
a file's errors are reported together. Writing goes through tomlkit onto the file's existing
document, so the user's comments, order and formatting survive an edit.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from termkeep.config.agent import agent_socket_problem
from termkeep.config.errors import ProfileIssue, ProfileLoadError, closest
from termkeep.config.forwards import (
    Forward,
    ForwardError,
    check_distinct,
    forward_from_table,
    parse_putty_forward,
)
from termkeep.config.profile import Profile

NAME_IS_FILE_NAME = "name"
"""The Profile field that is not stored in the file: it is the file's stem."""


class Kind(Enum):
    """The TOML value types a profile key can hold."""

    STR = "a string"
    INT = "an integer"
    FLOAT = "a number"
    BOOL = "true or false"
    STR_LIST = "a list of strings"
    FORWARDS = "a list of [[forwards]] tables"


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One key of the profile file."""

    key: str
    """Dotted path, e.g. ``port`` or ``keepalive.interval``."""

    kind: Kind
    optional: bool
    """The Profile allows None (TOML has no null: the key is simply absent)."""

    default: object


Rule = Callable[[Any], str | None]
"""Returns why a value (already of the right type) is not acceptable, or None if it is."""


def _number_range(low: float, high: float, *, low_open: bool = False) -> Rule:
    def check(value: float) -> str | None:
        too_low = value <= low if low_open else value < low
        if too_low or value > high or math.isnan(value):
            bound = "above" if low_open else "from"
            return f"must be {bound} {low:g} {'and at most' if low_open else 'to'} {high:g}"
        return None

    return check


def _text(*, spaces_ok: bool) -> Rule:
    def check(value: str) -> str | None:
        if not value.strip():
            return "must not be empty"
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            return "must not contain control characters"
        if not spaces_ok and any(ch.isspace() for ch in value):
            return "must not contain spaces"
        return None

    return check


def _each(rule: Rule) -> Rule:
    def check(values: list[str]) -> str | None:
        for item in values:
            problem = rule(item)
            if problem:
                return f"entry {item!r} {problem}"
        return None

    return check


def _one_of(*choices: str) -> Rule:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        return "must be " + " or ".join(f'"{choice}"' for choice in choices)

    return check


def _forwards_rule(values: list[Mapping[str, object]]) -> str | None:
    try:
        check_distinct(_forwards_of(values))
    except ForwardError as error:
        return str(error)
    return None


def _forwards_of(values: list[Mapping[str, object]]) -> tuple[Forward, ...]:
    forwards: list[Forward] = []
    for number, table in enumerate(values, start=1):
        try:
            forwards.append(forward_from_table(table))
        except ForwardError as error:
            raise ForwardError(f"entry {number}: {error}") from None
    return tuple(forwards)


FORWARDS_KEY = "forwards"
"""The Profile field holding tunnels: an array of tables in the file, written after the keys."""

LEGACY_FORWARDS_KEY = "port_forwardings"
"""Where files written before ``[[forwards]]`` kept PuTTY-notation strings; read, never written."""


def _legacy_forwards(data: dict[str, object], issues: list[tuple[str, str]]) -> None:
    """Turn an old ``port_forwardings = ["L8080=db:5432"]`` into ``forwards`` tables in place,
    so old profiles keep loading; the next save writes them the new way."""
    entries = data.pop(LEGACY_FORWARDS_KEY, None)
    if entries is None:
        return
    if not isinstance(entries, list) or not all(isinstance(item, str) for item in entries):
        issues.append((LEGACY_FORWARDS_KEY, f"{LEGACY_FORWARDS_KEY!r} must be a list of strings"))
        return
    tables: list[object] = []
    for entry in entries:
        try:
            tables.append(parse_putty_forward(entry).as_table())
        except ForwardError as error:
            issues.append((LEGACY_FORWARDS_KEY, f"{LEGACY_FORWARDS_KEY!r}: {error}"))
    existing = data.get(FORWARDS_KEY, [])
    data[FORWARDS_KEY] = [*existing, *tables] if isinstance(existing, list) else existing


_WORD = _text(spaces_ok=False)
_PATH = _text(spaces_ok=True)


def _agent_socket(value: str) -> str | None:
    return _PATH(value) or agent_socket_problem(value)


CHOICES: dict[str, tuple[str, ...]] = {
    "strict_host_key_checking": ("ask", "yes", "accept-new", "no"),
    "predict": ("adaptive", "always", "never"),
    "paste_confirm": ("multiline", "never"),
    "notify": ("off", "bell", "done", "all"),
    "log": ("off", "output", "raw"),
}
"""Keys whose value is one of a few words, in the order they are offered."""

# Ranges follow what the kernel and OpenSSH accept and what still makes sense for a
# keep-the-connection tool; the error message states them, so users never guess.
_RULES: dict[str, Rule] = {
    "host": _WORD,
    "port": _number_range(1, 65535),
    "user": _WORD,
    "identity_files": _each(_PATH),
    "known_hosts_file": _PATH,
    "user_known_hosts_files": _each(_PATH),
    "global_known_hosts_files": _each(_PATH),
    "strict_host_key_checking": _one_of(*CHOICES["strict_host_key_checking"]),
    "host_key_alias": _WORD,
    "jump": _WORD,
    "agent_forwarding_socket": _agent_socket,
    FORWARDS_KEY: _forwards_rule,
    "term": _WORD,
    "theme": _PATH,
    "predict": _one_of(*CHOICES["predict"]),
    "paste_confirm": _one_of(*CHOICES["paste_confirm"]),
    "notify": _one_of(*CHOICES["notify"]),
    "log": _one_of(*CHOICES["log"]),
    "log_path": _PATH,
    "keepalive.interval": _number_range(0, 3600),
    "keepalive.count_max": _number_range(1, 100),
    "tcp.idle": _number_range(1, 32767),  # TCP_KEEPIDLE's kernel maximum
    "tcp.interval": _number_range(1, 32767),  # TCP_KEEPINTVL's kernel maximum
    "tcp.count": _number_range(1, 127),  # TCP_KEEPCNT's kernel maximum
    "tcp.user_timeout": _number_range(0, 86400),
    "reconnect.connect_timeout": _number_range(0, 300, low_open=True),
    "reconnect.initial_delay": _number_range(0, 3600),
    "reconnect.max_delay": _number_range(0, 86400, low_open=True),
    "reconnect.multiplier": _number_range(1, 10),
    "reconnect.jitter": _number_range(0, 1),
    "reconnect.stable_after": _number_range(0, 86400),
    "tmux.session": _WORD,
}


def _kind_of(hint: object) -> tuple[Kind, bool]:
    """The TOML kind for a dataclass field's type hint, and whether it may be None."""
    optional = False
    if isinstance(hint, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        (hint,) = members
    if typing.get_origin(hint) is tuple:
        (item, _ellipsis) = typing.get_args(hint)
        return (Kind.FORWARDS if item is Forward else Kind.STR_LIST), optional
    simple = {str: Kind.STR, int: Kind.INT, float: Kind.FLOAT, bool: Kind.BOOL}
    if not isinstance(hint, type) or hint not in simple:
        raise TypeError(f"profile field type {hint!r} has no TOML form; extend schema._kind_of")
    return simple[hint], optional


def _default_of(field: dataclasses.Field[Any]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _walk(cls: type, prefix: str) -> Iterator[KeySpec | str]:
    """Yield section names and key specs of ``cls`` in declaration order."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if not prefix and field.name == NAME_IS_FILE_NAME:
            continue
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            yield field.name
            yield from _walk(typing.cast(type, hint), f"{field.name}.")
            continue
        kind, optional = _kind_of(hint)
        yield KeySpec(f"{prefix}{field.name}", kind, optional, _default_of(field))


def _build() -> tuple[dict[str, KeySpec], tuple[str, ...]]:
    specs: dict[str, KeySpec] = {}
    sections: list[str] = []
    for item in _walk(Profile, ""):
        if isinstance(item, str):
            sections.append(item)
        else:
            specs[item.key] = item
    return specs, tuple(sections)


KEYS, SECTIONS = _build()
"""Every key of a profile file, by dotted path, and the section names."""

REQUIRED_KEYS = ("host",)
"""Keys a file must set: the Profile has no default for them."""


# --- reading ------------------------------------------------------------------------------


LineFinder = Callable[[str], int | None]


def _no_lines(_key: str) -> int | None:
    return None


def key_line_finder(text: str) -> LineFinder:
    """A function giving the line where a dotted key (or its closest parent) is written.

    tomllib does not report positions, so this scans the text for ``[table]`` headers and
    ``key =`` lines. It is only used to point at a line in error messages, so being simple
    (no multi-line strings awareness) costs at most a less precise line number.
    """
    positions: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\[\]]+?)\s*\]", line)  # [table] or [[array]]
        if header:
            table = _normalize_key(header.group(1))
            positions.setdefault(table, number)
            continue
        assignment = re.match(r"^([A-Za-z0-9_\-.\"' ]+?)\s*=", line)
        if assignment:
            key = _normalize_key(assignment.group(1))
            positions.setdefault(f"{table}.{key}" if table else key, number)

    def find(key: str) -> int | None:
        while key:
            if key in positions:
                return positions[key]
            key = key.rpartition(".")[0]
        return None

    return find


def _normalize_key(raw: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in raw.split("."))


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _type_problem(spec: KeySpec, value: object) -> str | None:
    """Why ``value`` does not have the key's TOML type, or None."""
    if spec.kind is Kind.BOOL:
        ok = isinstance(value, bool)
    elif spec.kind is Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.kind is Kind.FLOAT:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif spec.kind is Kind.STR:
        ok = isinstance(value, str)
    elif spec.kind is Kind.FORWARDS:
        ok = isinstance(value, list) and all(isinstance(item, dict) for item in value)
    else:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    if ok:
        return None
    return f"must be {spec.kind.value}, not {_describe(value)}"


def _suggest(key: str) -> str:
    """A 'did you mean' for an unknown dotted key, from the same table first."""
    table, _, leaf = key.rpartition(".")
    siblings = [k.rpartition(".")[2] for k in KEYS if k.rpartition(".")[0] == table]
    if not table:
        siblings += list(SECTIONS)
    match = closest(leaf, siblings)
    if match is not None:
        return f"{table}.{match}" if table else match
    # A key put in the wrong table, e.g. ``count_max`` at the top level.
    elsewhere = [k for k in KEYS if k.rpartition(".")[2] == leaf]
    return elsewhere[0] if elsewhere else ""


def _unknown_key_message(key: str) -> str:
    if key == NAME_IS_FILE_NAME:
        return "'name' is not a key: a profile's name is its file name; remove this line"
    suggestion = _suggest(key)
    if suggestion:
        return f"unknown key {key!r}; did you mean {suggestion!r}?"
    table = key.rpartition(".")[0]
    valid = sorted(k.rpartition(".")[2] for k in KEYS if k.rpartition(".")[0] == table)
    return f"unknown key {key!r}; valid keys here: {', '.join(valid)}"


def _flatten(data: Mapping[str, object], issues: list[tuple[str, str]]) -> dict[str, object]:
    """Dotted key -> value for the known layout; unknown keys and sections go to ``issues``."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                issues.append((key, f"{key!r} must be a table ([{key}]), not {_describe(value)}"))
                continue
            for sub_key, sub_value in value.items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[key] = value
    for key in list(flat):
        if key not in KEYS:
            issues.append((key, _unknown_key_message(key)))
            del flat[key]
    return flat


def _to_model_type(spec: KeySpec, value: object) -> object:
    """TOML lists become tuples, integers in float fields become floats."""
    if spec.kind is Kind.FLOAT:
        return float(typing.cast(float, value))
    if spec.kind is Kind.STR_LIST:
        return tuple(typing.cast(list[str], value))
    if spec.kind is Kind.FORWARDS:
        return _forwards_of(typing.cast(list[Mapping[str, object]], value))
    return value


def value_problem(key: str, value: object) -> str | None:
    """Why ``value`` is not acceptable for the dotted ``key`` (type or range), or None."""
    spec = KEYS[key]
    problem = _type_problem(spec, value)
    if problem is None and key in _RULES:
        problem = _RULES[key](value)
    return problem


def _check_values(flat: dict[str, object], issues: list[tuple[str, str]]) -> dict[str, object]:
    """Type- and range-check each value; return the good ones, converted to the model's types."""
    good: dict[str, object] = {}
    for key, value in flat.items():
        problem = value_problem(key, value)
        if problem is not None:
            issues.append((key, f"{key!r} {problem}"))
            continue
        good[key] = _to_model_type(KEYS[key], value)
    return good


def _cross_check(values: Mapping[str, object], issues: list[tuple[str, str]]) -> None:
    _check_delays(values, issues)
    _check_agent_socket(values, issues)


def _check_agent_socket(values: Mapping[str, object], issues: list[tuple[str, str]]) -> None:
    """A socket to forward the agent from does nothing unless the agent is forwarded."""
    if "agent_forwarding_socket" in values and values.get("agent_forwarding") is not True:
        issues.append(
            (
                "agent_forwarding_socket",
                "'agent_forwarding_socket' is set but 'agent_forwarding' is not true: "
                "add agent_forwarding = true, or remove the socket",
            )
        )


def _check_delays(values: Mapping[str, object], issues: list[tuple[str, str]]) -> None:
    initial = typing.cast(
        float, values.get("reconnect.initial_delay", KEYS["reconnect.initial_delay"].default)
    )
    maximum = typing.cast(
        float, values.get("reconnect.max_delay", KEYS["reconnect.max_delay"].default)
    )
    if initial > maximum:
        issues.append(
            (
                "reconnect.max_delay",
                f"'reconnect.max_delay' ({maximum:g}) must not be below "
                f"'reconnect.initial_delay' ({initial:g})",
            )
        )


def _assemble(name: str, values: Mapping[str, object]) -> Profile:
    """Build the Profile (and its sections) from checked dotted values."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in values.items():
        section, _, leaf = key.rpartition(".")
        if section:
            nested[section][leaf] = value
        else:
            top[key] = value
    hints = typing.get_type_hints(Profile)
    for section, fields in nested.items():
        top[section] = hints[section](**fields)
    return Profile(name=name, **top)


def _checked(data: Mapping[str, object]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The good values of ``data`` (dotted keys, model types) and each problem with its key."""
    problems: list[tuple[str, str]] = []
    data = dict(data)
    _legacy_forwards(data, problems)
    flat = _flatten(data, problems)
    values = _check_values(flat, problems)
    for key in REQUIRED_KEYS:
        if key not in flat:
            problems.append((key, f'{key!r} is missing; add e.g. {key} = "example.org"'))
    _cross_check(values, problems)
    return values, problems


def mapping_problems(data: Mapping[str, object]) -> list[tuple[str, str]]:
    """Every problem of ``data`` (a parsed TOML document) as (dotted key, message): the
    messages ``profile_from_mapping`` reports for a file, for a form to show by its field."""
    return _checked(data)[1]


def profile_from_mapping(
    name: str, data: Mapping[str, object], source: str, find_line: LineFinder = _no_lines
) -> Profile:
    """Check ``data`` (a parsed TOML document) strictly and build the Profile named ``name``.

    Raises ProfileLoadError listing every problem, each with its line when ``find_line`` can
    tell it.
    """
    values, problems = _checked(data)
    if problems:
        located = [ProfileIssue(source, find_line(key), message) for key, message in problems]
        located.sort(key=lambda issue: issue.line or 0)
        raise ProfileLoadError(tuple(located))
    return _assemble(name, values)


def check_profile(profile: Profile, source: str) -> Profile:
    """Apply the file rules to a Profile built in code (CLI, importers); raises ProfileLoadError.

    Going through the same checks as a file means a profile that is saved always loads again.
    """
    return profile_from_mapping(profile.name, _as_document_data(profile), source)


def _as_document_data(profile: Profile) -> dict[str, object]:
    data: dict[str, object] = {}
    for key, value in profile_values(profile).items():
        if value is None:
            continue
        section, _, leaf = key.rpartition(".")
        table = typing.cast(dict[str, object], data.setdefault(section, {})) if section else data
        table[leaf] = value
    return data


# --- writing ------------------------------------------------------------------------------


def profile_values(profile: Profile) -> dict[str, object]:
    """Dotted key -> the profile's value, in TOML-ready types (lists, not tuples)."""
    values: dict[str, object] = {}
    for key in KEYS:
        value: object = profile
        for part in key.split("."):
            value = getattr(value, part)
        if KEYS[key].kind is Kind.FLOAT and value is not None:
            value = float(typing.cast(float, value))
        if KEYS[key].kind is Kind.FORWARDS:
            value = [forward.as_table() for forward in typing.cast(tuple[Forward, ...], value)]
        values[key] = list(value) if isinstance(value, tuple) else value
    return values
