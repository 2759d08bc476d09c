"""What the user typed into a terminal body, as the body received it, before any encoding.

Broadcast input needs the keys as keys, not as bytes: each receiving tab encodes them afresh
for its own remote's modes (application cursor keys, the kitty protocol, bracketed paste),
exactly as if the user had typed them there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class TypedKey:
    """A key as Textual named it (``ctrl+c``, ``up``) with the character it typed, if any."""

    key: str
    character: str | None


@dataclass(frozen=True, slots=True)
class TypedPaste:
    """Pasted text (bracketed or not is up to the terminal that sends it)."""

    text: str


type Typed = TypedKey | TypedPaste
type TypedListener = Callable[[Typed], None]


@runtime_checkable
class TypingBody(Protocol):
    """A tab's terminal body that tells of what is typed into it and takes typing from
    another tab."""

    on_typed: TypedListener | None
    """Called with each key or paste the user sent to this body's remote (not the app's keys,
    nor local scrollback keys)."""

    def receive_typed(self, typed: Typed) -> None:
        """Send ``typed`` to this body's remote as if the user had typed it here."""
        ...
