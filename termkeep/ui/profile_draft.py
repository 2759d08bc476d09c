"""What the profile editor's form holds: a name and the keys it sets, checked as a file is.

A draft keeps file values (TOML types), not a Profile: a field the user left empty is simply
absent, so it takes the default (or the value ``settings.toml`` gives), and a value the user is
still typing may be wrong. Every check is the file loader's own (``schema.mapping_problems``),
so the form shows the very messages ``termkeep hosts show`` or a broken file would, and what
the form saves always loads again.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

from termkeep.config.errors import ConfigError
from termkeep.config.fields import FIELDS, GROUP_OF, parse_list, value_text
from termkeep.config.forwards import (
    Forward,
    ForwardError,
    check_distinct,
    forward_from_table,
    parse_flag,
)
from termkeep.config.profile import InvalidProfileNameError, Profile, validate_profile_name
from termkeep.config.schema import (
    FORWARDS_KEY,
    KEYS,
    NAME_IS_FILE_NAME,
    SECTIONS,
    Kind,
    mapping_problems,
    profile_from_mapping,
    profile_values,
)
from termkeep.config.store import StoredProfile

FORM_SOURCE = "form"
"""How a problem of the form is located (a file's would name its path)."""


def text_value(key: str, text: str) -> object | None:
    """What typing ``text`` in the field of ``key`` sets; None leaves the key unset.

    A number is read as TOML reads it, so ``5``, ``2.5`` and ``1e3`` mean what they would in
    the file; anything else stays a string, and the loader then says what it should be.
    """
    text = text.strip()
    if not text:
        return None
    kind = KEYS[key].kind
    if kind is Kind.STR_LIST:
        return parse_list(text) or None
    if kind in {Kind.INT, Kind.FLOAT}:
        return _toml_number(text)
    return text


def _toml_number(text: str) -> object:
    try:
        parsed = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text
    value = parsed.get("value")
    if len(parsed) == 1 and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return text


def field_text(value: object) -> str:
    """A file value as its field shows it (``5``, ``a, b``)."""
    return value_text(value)


def _nested(values: Mapping[str, object]) -> dict[str, object]:
    """Dotted keys -> a document's tables, as tomllib would give the file."""
    document: dict[str, object] = {}
    for key, value in values.items():
        section, _, leaf = key.rpartition(".")
        table = document.setdefault(section, {}) if section else document
        typing.cast(dict[str, object], table)[leaf] = value
    return document


def _flat_known(data: Mapping[str, object]) -> dict[str, object]:
    """The known keys of a parsed file, flattened; what is unknown stays out of the form."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(
                {
                    f"{key}.{leaf}": item
                    for leaf, item in typing.cast(dict[str, object], value).items()
                }
            )
        else:
            flat[key] = value
    return {key: value for key, value in flat.items() if key in KEYS}


@dataclass(slots=True)
class ProfileDraft:
    """A profile being edited: its name and the keys its file will set."""

    name: str = ""
    values: dict[str, object] = field(default_factory=dict)
    """Dotted key -> the value the file will hold; absent means unset."""

    @classmethod
    def of(cls, stored: StoredProfile) -> ProfileDraft:
        """The draft of a saved profile: exactly the keys its file sets."""
        values = profile_values(stored.profile)
        explicit = {key: values[key] for key in KEYS if key in stored.explicit_keys}
        return cls(stored.profile.name, explicit)

    @classmethod
    def of_file_data(cls, name: str, data: Mapping[str, object]) -> ProfileDraft:
        """The draft of a file that does not load: its known keys, right or wrong."""
        return cls(name, _flat_known(data))

    def copy(self) -> ProfileDraft:
        """An independent copy (lists included)."""
        values = {
            key: list(value) if isinstance(value, list) else value
            for key, value in self.values.items()
        }
        return ProfileDraft(self.name, values)

    def set(self, key: str, value: object | None) -> None:
        """Set a key (None unsets it, so it returns to the default)."""
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value

    def set_text(self, key: str, text: str) -> None:
        """What the user typed in the field of ``key``."""
        self.set(key, text_value(key, text))

    # --- forwards ----------------------------------------------------------------------------

    @property
    def forwards(self) -> list[Forward]:
        """The forwards the form holds (entries that do not read are left out)."""
        tables = self.values.get(FORWARDS_KEY)
        forwards: list[Forward] = []
        for table in tables if isinstance(tables, list) else []:
            try:
                forwards.append(forward_from_table(typing.cast(Mapping[str, object], table)))
            except (ForwardError, AttributeError, TypeError):
                continue  # only a broken file has such an entry; its problem is shown
        return forwards

    def add_forward(self, typed: str) -> Forward:
        """Add a forward typed as for ssh (``-L 8080:db:5432``); raises ForwardError."""
        flag, _, spec = typed.strip().partition(" ")
        if len(flag) > 2 and flag.startswith("-"):  # ssh takes -L8080:db:5432 too
            flag, spec = flag[:2], flag[2:]
        forward = parse_flag(flag, spec.strip())
        check_distinct([*self.forwards, forward])
        tables = [item.as_table() for item in self.forwards]
        self.values[FORWARDS_KEY] = [*tables, forward.as_table()]
        return forward

    def remove_forward(self, index: int) -> None:
        """Remove the forward at ``index``; the last one removed unsets the key."""
        forwards = self.forwards
        if not 0 <= index < len(forwards):
            return
        del forwards[index]
        self.set(FORWARDS_KEY, [item.as_table() for item in forwards] or None)

    # --- checking ------------------------------------------------------------------------------

    def document(self) -> dict[str, object]:
        """The draft as the parsed file it would be."""
        return _nested(self.values)

    def problems(self) -> list[tuple[str, str]]:
        """Every problem as (key, message); the name's key is ``name``. Messages are the file
        loader's own."""
        problems: list[tuple[str, str]] = []
        try:
            validate_profile_name(self.name)
        except InvalidProfileNameError as error:
            problems.append((NAME_IS_FILE_NAME, str(error)))
        problems += mapping_problems(self.document())
        return problems

    def profile(self) -> Profile:
        """The Profile the draft makes; raises ConfigError/ProfileLoadError with the loader's
        messages while it has problems."""
        try:
            validate_profile_name(self.name)
        except InvalidProfileNameError as error:
            raise ConfigError(str(error)) from None
        return profile_from_mapping(self.name, self.document(), FORM_SOURCE)

    def context(self) -> Profile:
        """A stand-in Profile for saying what unset keys mean: it has the draft's name and its
        use of ``~/.ssh/config``, whatever else is still wrong."""
        return Profile(
            name=self.name, host="-", use_ssh_config=self.values.get("use_ssh_config") is True
        )


def save_refusal(found: dict[str, list[str]]) -> str:
    """Why Save was refused: how many problems, in which categories, and the messages of
    keys no field shows (they would otherwise be nowhere on screen)."""
    count = sum(len(messages) for messages in found.values())
    groups: list[str] = []
    for key in found:
        title = GROUP_OF[key].title if key in GROUP_OF else "the file"
        if title not in groups:
            groups.append(title)
    where = ", ".join(groups)
    noun = "problem" if count == 1 else "problems"
    unplaced = [message for key in found if key not in FIELDS for message in found[key]]
    extra = "".join(f"\n{message}" for message in unplaced)
    return f"Not saved: fix the {count} {noun} marked in {where} first.{extra}"
