"""Writing a profile into its TOML file: only what changed, keeping the user's comments and
layout (``update_document``), and the header of a new file. The rules of what a file may hold
are in ``schema``; this module only writes what passed them."""

from __future__ import annotations

import typing
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from termkeep.config.profile import Profile
from termkeep.config.schema import KEYS, LEGACY_FORWARDS_KEY, SECTIONS, profile_values

if TYPE_CHECKING:
    # tomlkit costs ~40 ms to import and is needed only to write a file: every writer imports
    # it when it writes, so reading profiles and starting the app never pay for it.
    import tomlkit
    from tomlkit.container import Container
    from tomlkit.items import Table


def toml_literal(value: object) -> str:
    """How ``value`` is written in a TOML file, e.g. ``"x"``, ``5.0``, ``["a", "b"]``."""
    import tomlkit  # noqa: PLC0415 - see the TYPE_CHECKING import

    return str(tomlkit.item(typing.cast(Any, value)).as_string())


def _comparable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _plain(item: object) -> object:
    """A tomlkit item as a plain Python value, for comparison."""
    unwrap = getattr(item, "unwrap", None)
    return _comparable(unwrap() if callable(unwrap) else item)


def _table_for(doc: Container | Table, section: str, *, create: bool) -> Container | Table | None:
    if not section:
        return doc
    if section in doc:
        return typing.cast("Table", doc[section])
    if not create:
        return None
    import tomlkit  # noqa: PLC0415 - see the TYPE_CHECKING import

    table = tomlkit.table()
    doc.add(section, table)
    return table


def update_document(
    doc: tomlkit.TOMLDocument, profile: Profile, keys: Collection[str] | None = None
) -> tomlkit.TOMLDocument:
    """Write ``profile`` onto ``doc`` in place, touching only what changed.

    The rule, per key:
    - unset (None) in the profile: the key is removed (TOML has no null);
    - present in the file: rewritten only if the value differs, so its comment and
      formatting stay (a value set back to the default stays written, since the user chose to
      write it down);
    - absent from the file: added only if it differs from the default, so new files stay
      short and follow improved defaults in later versions.
    With ``keys`` (what an editor's form sets, field by field) the file sets exactly those:
    a key outside them is removed, so clearing a field returns it to the default, and a key
    inside them is written even when it equals today's default.
    An old ``port_forwardings`` key was read into ``forwards``; it goes, so it is not read twice.
    """
    if LEGACY_FORWARDS_KEY in doc:
        del doc[LEGACY_FORWARDS_KEY]
    for key, current in profile_values(profile).items():
        value = None if keys is not None and key not in keys else current
        section, _, leaf = key.rpartition(".")
        wanted = value is not None and (
            value != _comparable(KEYS[key].default) or (keys is not None and key in keys)
        )
        table = _table_for(doc, section, create=wanted)
        if table is None:
            continue
        if value is None:
            if leaf in table:
                del table[leaf]
        elif leaf in table:
            if _plain(table[leaf]) != value:
                table[leaf] = value
        elif wanted:
            table[leaf] = value
    _drop_empty_sections(doc)
    return doc


def _drop_empty_sections(doc: tomlkit.TOMLDocument) -> None:
    """A section whose last key was cleared goes too, unless a comment of the user's is in it."""
    from tomlkit import items  # noqa: PLC0415 - see the TYPE_CHECKING import

    for section in SECTIONS:
        table = doc.get(section)
        if not isinstance(table, items.Table):
            continue
        body = table.value.body
        if all(key is None and not isinstance(item, items.Comment) for key, item in body):
            del doc[section]


NEW_FILE_HEADER = (
    "termkeep host profile; the file name is the profile name.\n"
    "Keys left out use termkeep's defaults: see `termkeep hosts show NAME`."
)


def new_document() -> tomlkit.TOMLDocument:
    """An empty profile document with a short header comment."""
    import tomlkit  # noqa: PLC0415 - see the TYPE_CHECKING import

    doc = tomlkit.document()
    for line in NEW_FILE_HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    return doc
