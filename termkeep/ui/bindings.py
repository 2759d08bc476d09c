"""The prefix key: a tmux-like mode that is the app's only claim on the keyboard.

Every key goes to the remote except the prefix. After the prefix, one key picks an action
from the keymap (``Settings.keys``), run as the Textual action named after its id
(``textual_action``); the prefix again sends the prefix itself to the remote;
escape (or the timeout) cancels; any other key is swallowed with a hint, because sending a
key the user meant for the app to the remote could run something there.

The router is plain logic over key names, so it is tested without a screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from termkeep.config.settings import Settings, canonical_event_key

_MODIFIER_WORDS = ("shift", "control", "ctrl", "alt", "super", "hyper", "meta", "lock")


class Outcome(StrEnum):
    """What to do with one key."""

    FORWARD = "forward"
    """Give the key to the terminal (to the remote)."""

    ARMED = "armed"
    """The prefix was pressed: wait for the action key."""

    ACTION = "action"
    """Run ``Routed.action``."""

    CANCELLED = "cancelled"
    """Escape after the prefix: back to normal, nothing sent."""

    UNBOUND = "unbound"
    """A key with no action after the prefix: nothing sent, the user gets a hint."""

    IGNORED = "ignored"
    """A modifier-only key while armed: keep waiting."""


@dataclass(frozen=True, slots=True)
class Routed:
    """The router's decision for one key."""

    outcome: Outcome
    action: str | None = None
    key: str = ""


def is_modifier_only(key: str) -> bool:
    """Kitty's keyboard protocol reports bare modifier presses; they are never actions."""
    return "+" not in key and any(word in key for word in _MODIFIER_WORDS)


def shift_twin(key: str) -> str | None:
    """The other name of a shifted letter: ``B`` <-> ``shift+b``. Textual names the key
    ``B`` when the terminal sends the character, ``shift+b`` when the kitty protocol
    reports the key without its text; a keymap entry in either form matches both."""
    if len(key) == 1 and key.isascii() and key.isupper():
        return f"shift+{key.lower()}"
    base = key.removeprefix("shift+")
    if base != key and len(base) == 1 and base.isascii() and base.islower():
        return base.upper()
    return None


class PrefixRouter:
    """Decides, key by key, between the remote and the app."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.prefix
        self._actions = {key: action for action, key in settings.keys.items()}
        self.armed = False

    def route(self, key: str, aliases: Iterable[str] = ()) -> Routed:
        """Route ``key`` (a Textual key name; ``aliases`` are its other names)."""
        names = [canonical_event_key(name) for name in (key, *aliases)]
        names += [twin for name in names if (twin := shift_twin(name)) is not None]
        if not self.armed:
            if self.prefix in names:
                self.armed = True
                return Routed(Outcome.ARMED, key=self.prefix)
            return Routed(Outcome.FORWARD, key=names[0])
        return self._after_prefix(names)

    def _after_prefix(self, names: list[str]) -> Routed:
        if is_modifier_only(names[0]):
            return Routed(Outcome.IGNORED, key=names[0])
        self.armed = False
        if self.prefix in names:
            return Routed(Outcome.FORWARD, key=self.prefix)
        for name in names:
            if name in self._actions:
                return Routed(Outcome.ACTION, action=self._actions[name], key=name)
        if "escape" in names:
            return Routed(Outcome.CANCELLED, key="escape")
        return Routed(Outcome.UNBOUND, key=names[0])

    def cancel(self) -> bool:
        """Leave prefix mode (timeout); True if it was armed."""
        was_armed, self.armed = self.armed, False
        return was_armed


def textual_action(action_id: str) -> str:
    """The Textual action that runs keymap action ``action_id``: the app's method is named
    after the id (``tab.new`` runs ``action_tab_new``), a last part that is a number is its
    argument (``tab.goto.3`` runs ``action_tab_goto(3)``). The keymap's ids are the one
    table: no list of handlers beside it."""
    words, _, last = action_id.rpartition(".")
    if words and last.isdigit():
        return f"{words.replace('.', '_')}({last})"
    return action_id.replace(".", "_")


def key_label(key: str) -> str:
    """How a key name is shown to people: ``ctrl+backslash`` -> ``ctrl+\\``."""
    symbols = {
        "backslash": "\\",
        "question_mark": "?",
        "comma": ",",
        "colon": ":",
        "full_stop": ".",
        "slash": "/",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
        "semicolon": ";",
        "minus": "-",
        "plus": "+",
        "exclamation_mark": "!",
    }
    *modifiers, base = key.split("+") if key != "+" else ["+"]
    return "+".join([*modifiers, symbols.get(base, base)])
