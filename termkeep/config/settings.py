"""App-wide settings: theme, the prefix key, the keymap, clipboard, paste, scrollback, local echo.

The file is ``settings.toml`` in the config dir. Every field is optional; an absent file means
all defaults. Reading is strict, like profiles and themes: an unknown key, a wrong type, an
unknown action id or two actions on one key is an error naming the key (with a "did you mean"),
and all problems are reported together. termkeep never writes this file, so a broken one is
never overwritten: the app says what is wrong and runs on the defaults.

Every app action has a stable id (``tab.new``, ``theme.switch``...). The ``[keys]`` table maps
ids to the key pressed after the prefix; ``tab.new = "c"`` and ``"tab.new" = "c"`` both work
(TOML reads the first as nested tables, which are flattened back into the dotted id). An empty
string unbinds an action.

Key names follow Textual's (``ctrl+backslash``, ``question_mark``, ``pageup``) so the app can
compare them with the keys it receives, but this module stays pure (no textual import). Users
may also write a plain character (``?``, ``,``) or a common alias (``esc``, ``pgup``).
"""

from __future__ import annotations

import string
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from termkeep import paths
from termkeep.config.errors import ConfigError, KeyIssue, did_you_mean
from termkeep.config.files import ConfigFileError, load_toml_file, located_reason
from termkeep.config.themes import DEFAULT_THEME_NAME

# --- key names ------------------------------------------------------------------------------

MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")

_NAMED = {
    "escape",
    "enter",
    "tab",
    "space",
    "backspace",
    "delete",
    "insert",
    "home",
    "end",
    "pageup",
    "pagedown",
    "up",
    "down",
    "left",
    "right",
    *(f"f{number}" for number in range(1, 25)),
}

_ALIASES = {
    "esc": "escape",
    "return": "enter",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "del": "delete",
    "ins": "insert",
    "bs": "backspace",
    "bracketleft": "left_square_bracket",  # X11's keysym names
    "bracketright": "right_square_bracket",
}

# Textual's friendlier names for some Unicode character names (textual.keys).
_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


class KeyNameError(ValueError):
    """A key name that no keyboard produces."""


def character_key_name(character: str) -> str:
    """The key name of one printable character, as Textual names it (``?`` -> question_mark)."""
    if character.isalnum():
        return character
    name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    return _REPLACEMENTS.get(name, name)


_PUNCTUATION = {character_key_name(ch) for ch in string.punctuation}


def _base_key(base: str) -> str:
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return character_key_name(base)
    lowered = base.lower()
    lowered = _ALIASES.get(lowered, lowered)
    if lowered in _NAMED or lowered in _PUNCTUATION:
        return lowered
    raise KeyNameError(
        f"{base!r} is not a key name; use a character (c, ?, 1), a named key "
        "(escape, enter, tab, space, f1..f24, up, pageup, ...) or a punctuation name "
        "(comma, question_mark, backslash, ...)"
    )


def normalize_key(text: str) -> str:
    """``Ctrl+\\`` -> ``ctrl+backslash``: modifiers lower-cased and sorted, the key named.

    Raises KeyNameError with a message that says what a valid key looks like.
    """
    cleaned = text.strip()
    if not cleaned:
        raise KeyNameError("a key cannot be empty")
    # A trailing "+" after a separator is the plus key itself, as in "ctrl++".
    if cleaned.endswith("++"):
        head, base = cleaned[:-2], "+"
    elif "+" in cleaned[:-1]:
        head, _, base = cleaned.rpartition("+")
    else:
        head, base = "", cleaned
    modifiers = sorted({part.strip().lower() for part in head.split("+") if part.strip()})
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            raise KeyNameError(
                f"{modifier!r} in {text!r} is not a modifier; use {', '.join(MODIFIERS)}"
            )
    return "+".join([*modifiers, _base_key(base.strip() or base)])


def canonical_event_key(key: str) -> str:
    """Put a key name received from the terminal in the same form as ``normalize_key``'s,
    so ``shift+ctrl+x`` and ``ctrl+shift+x`` compare equal. Unknown names pass unchanged."""
    if key.endswith("++"):
        head, base = key[:-2], "+"
    else:
        head, _, base = key.rpartition("+")
    modifiers = sorted(part for part in head.split("+") if part)
    return "+".join([*modifiers, base])


# --- actions and the keymap ----------------------------------------------------------------

# The default prefix is ctrl+\ (0x1c). Each candidate collides with something:
#   ctrl+b  tmux's own prefix (the remote runs tmux, so it must reach it untouched);
#   ctrl+a  readline beginning-of-line, screen; ctrl+g  emacs keyboard-quit;
#   ctrl+]  vim's jump-to-tag (used all the time in :help), telnet's escape;
#   ctrl+^  vim's alternate file; ctrl+_  readline/emacs undo; ctrl+space  emacs set-mark;
#   f12     grabbed by drop-down terminals (Guake, Yakuake) and needs Fn on many laptops.
# ctrl+\ is bound by none of tmux, readline, vim (only as the first half of ctrl+\ ctrl+n)
# or emacs (toggle-input-method, rarely used); what it normally does, send SIGQUIT, stays
# reachable by pressing it twice, and it is on the home row's right hand on most layouts.
DEFAULT_PREFIX = "ctrl+backslash"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One app action that a key after the prefix can trigger."""

    id: str
    """Stable id used in ``[keys]``; never renamed once released."""

    default_key: str
    """Key after the prefix, in canonical form."""

    description: str
    """One line for the help overlay."""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tab.new", "c", "New tab: pick a saved profile"),
    ActionSpec("tab.close", "x", "Close this tab (asks while connected)"),
    ActionSpec("tab.next", "n", "Next tab"),
    ActionSpec("tab.prev", "p", "Previous tab"),
    *(ActionSpec(f"tab.goto.{n}", str(n), f"Go to tab {n}") for n in range(1, 10)),
    ActionSpec("tab.next_marked", "a", "Next marked tab: new output, a bell, done"),
    ActionSpec("tab.rename", "comma", "Rename this tab"),
    ActionSpec("log.toggle", "l", "Start or stop this tab's session log"),
    ActionSpec("tab.save_profile", "w", "Save this tab's host as a profile"),
    ActionSpec("tunnels.manage", "f", "Tunnels of this tab: list, add, remove, save"),
    ActionSpec("session.reconnect", "r", "Reconnect now"),
    ActionSpec("connection.history", "i", "Connection history: drops, round trip, bytes"),
    ActionSpec("broadcast.pick", "b", "Broadcast input: pick tabs that get this typing"),
    ActionSpec("broadcast.off", "B", "Broadcast input off"),
    ActionSpec("profiles.manage", "m", "Manage saved profiles"),
    ActionSpec("sessions.manage", "s", "tmux sessions left on this host: attach or kill"),
    ActionSpec("theme.switch", "t", "Switch theme"),
    ActionSpec(
        "scrollback.open", "left_square_bracket", "History: scroll, search and copy (remote tmux)"
    ),
    ActionSpec("transfer.upload", "u", "Upload files to where this tab's shell is"),
    ActionSpec("transfer.download", "U", "Download files from where this tab's shell is"),
    ActionSpec("transfers.show", "T", "Transfers of this tab: progress, cancel, retry"),
    ActionSpec("help", "question_mark", "Show this help"),
    ActionSpec("palette", "colon", "Command palette"),
    ActionSpec("app.quit", "q", "Quit (asks while sessions are open)"),
    ActionSpec("demo.drop_network", "d", "Demo only: cut the network for a few seconds"),
)
"""Every action, in the order the help overlay lists them."""

ACTION_IDS = {action.id: action for action in ACTIONS}


class ClipboardWrite(StrEnum):
    """Whether the remote may set the local clipboard with OSC 52."""

    ALLOW = "allow"
    DENY = "deny"


class ClipboardBackground(StrEnum):
    """What an OSC 52 clipboard write from a tab that is not on screen does."""

    ASK = "ask"
    """Ask once per tab; the answer holds for that tab."""
    ALLOW = "allow"
    DENY = "deny"


class PasteConfirm(StrEnum):
    """When a paste asks before it goes to the remote."""

    MULTILINE = "multiline"
    """Several lines, to a program without bracketed paste (a shell would run each line)."""
    NEVER = "never"


class PasteUpload(StrEnum):
    """Whether a paste of local file paths (a file dropped on the terminal) offers an upload."""

    ASK = "ask"
    """Ask "upload N files to HOST:DIR, or paste the text?" at a shell prompt."""
    NEVER = "never"
    """Paste the paths as text."""


class Predict(StrEnum):
    """When typed characters are shown before the remote echoes them (predictive echo)."""

    ADAPTIVE = "adaptive"
    """When the link is slow (round trip above ~30 ms) or an echo was late."""
    ALWAYS = "always"
    """Whenever the remote has echoed the line being typed, however fast the link."""
    NEVER = "never"
    """Never: every character waits for the remote's echo."""


PREDICT_CHOICES = tuple(mode.value for mode in Predict)


class Notify(StrEnum):
    """What in a background tab becomes a desktop notification (sent through the terminal
    termkeep runs in)."""

    OFF = "off"
    BELL = "bell"
    """A bell rung in a background tab."""
    DONE = "done"
    """A background tab that printed for a while (10 s) and then went quiet (5 s)."""
    ALL = "all"
    """Both."""


class NotifyVia(StrEnum):
    """The escape sequence a desktop notification is sent with; terminals that read two of
    them would notify twice, so exactly one is sent."""

    AUTO = "auto"
    """Chosen by ``$TERM_PROGRAM`` and ``$TERM``."""
    OSC9 = "osc9"
    """iTerm2's ``OSC 9`` (also WezTerm, Ghostty, Windows Terminal, ConEmu)."""
    OSC99 = "osc99"
    """kitty's ``OSC 99``."""
    OSC777 = "osc777"
    """rxvt-unicode's ``OSC 777;notify`` (also foot, Ghostty, WezTerm, some VTE builds)."""


class LogMode(StrEnum):
    """What a session log keeps."""

    OFF = "off"
    OUTPUT = "output"
    """Printable text, escape sequences stripped."""
    RAW = "raw"
    """The bytes the remote sent."""


DEFAULT_LOG_PATTERN = "&P &Y-&M-&D &T.log"
"""Where a session log goes unless the settings say (``records.session_log.log_file_path``)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in ``settings.toml``; every field has a default."""

    theme: str = DEFAULT_THEME_NAME
    """Theme for the app and for tabs whose profile names none."""

    prefix: str = DEFAULT_PREFIX
    """The one key the app keeps for itself; everything else goes to the remote."""

    prefix_timeout: float = 3.0
    """Seconds the app waits for the key after the prefix before giving up; 0 waits forever."""

    clipboard_write: ClipboardWrite = ClipboardWrite.ALLOW
    """Let the remote copy to the local clipboard (OSC 52), as tmux's copy mode does.
    Reading the clipboard is never allowed, whatever this says."""

    clipboard_write_background: ClipboardBackground = ClipboardBackground.ASK
    """A background tab's clipboard write, when ``clipboard_write`` allows writes: "ask"
    (once per tab), "allow" or "deny". Every write is announced in the status line."""

    paste_confirm: PasteConfirm = PasteConfirm.MULTILINE
    """Ask before pasting several lines into a program without bracketed paste ("multiline")
    or never ("never"); a profile's own ``paste_confirm`` wins over this."""

    paste_upload: PasteUpload = PasteUpload.ASK
    """A paste that is only existing local file paths, at a shell prompt: offer to upload
    the files to where the shell is ("ask") or paste the text ("never")."""

    downloads_dir: str = ""
    """Where downloads go (``~`` allowed); empty: the user's downloads folder."""

    scrollback_lines: int = 10_000
    """Lines of history kept per tab."""

    predict: Predict = Predict.ADAPTIVE
    """Predictive local echo: show typed characters before the remote echoes them (underlined
    until it does); a profile's own ``predict`` wins over this."""

    notify: Notify = Notify.BELL
    """Desktop notifications from background tabs, through the terminal termkeep runs in:
    "off", "bell", "done" (a long output ended) or "all"; a profile's own ``notify`` wins
    over this. The text is the tab's label and a fixed phrase, never the remote's output."""

    notify_via: NotifyVia = NotifyVia.AUTO
    """How notifications are sent: "auto" (by ``$TERM_PROGRAM``/``$TERM``), "osc9",
    "osc99" (kitty) or "osc777"."""

    log: LogMode = LogMode.OFF
    """Session logs for every tab: "off", "output" (printable text) or "raw" (the bytes);
    a profile's own ``log`` wins over this."""

    log_path: str = DEFAULT_LOG_PATTERN
    """Where logs go: PuTTY's fields &H host, &P profile, &Y &M &D date, &T time; relative
    to the state directory's logs/."""

    keys: Mapping[str, str] = field(
        default_factory=lambda: {action.id: action.default_key for action in ACTIONS}
    )
    """Action id -> key after the prefix (canonical form); unbound actions are absent."""

    def action_for_key(self, key: str) -> str | None:
        """The action id bound to ``key`` (canonical form), if any."""
        for action_id, bound in self.keys.items():
            if bound == key:
                return action_id
        return None


class SettingsLoadError(ConfigError):
    """The settings file has problems; ``issues`` lists all of them."""

    def __init__(self, issues: tuple[KeyIssue, ...]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


_TOP_KEYS = (
    "theme",
    "prefix",
    "prefix_timeout",
    "clipboard_write",
    "clipboard_write_background",
    "paste_confirm",
    "paste_upload",
    "downloads_dir",
    "scrollback_lines",
    "predict",
    "notify",
    "notify_via",
    "log",
    "log_path",
    "keys",
)
_SCROLLBACK_MAX = 1_000_000
_TIMEOUT_MAX = 60.0


def _flatten_ids(table: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """``{"tab": {"new": "c"}}`` -> ``{"tab.new": "c"}``: undo TOML's dotted-key nesting."""
    flat: dict[str, object] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten_ids(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


class _Checker:
    """Collects the problems of one settings file while building its values."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.issues: list[KeyIssue] = []

    def problem(self, key: str, message: str) -> None:
        self.issues.append(KeyIssue(self.source, key, message))

    def text(self, data: Mapping[str, object], key: str, default: str) -> str:
        value = data.get(key, default)
        if isinstance(value, str) and value.strip():
            return value
        self.problem(key, f"must be a non-empty string, e.g. {key} = {default!r}")
        return default

    def optional_text(self, data: Mapping[str, object], key: str) -> str:
        """A string that may be empty (empty: termkeep's default)."""
        value = data.get(key, "")
        if isinstance(value, str):
            return value
        self.problem(key, f'must be a string in quotes, e.g. {key} = "~/Downloads"')
        return ""

    def number(self, data: Mapping[str, object], key: str, default: float, high: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(key, f"must be a number, e.g. {key} = {default!r}")
            return default
        if not 0 <= value <= high:
            self.problem(key, f"must be from 0 to {high:g}, not {value!r}")
            return default
        return value

    def key_name(self, where: str, value: object) -> str | None:
        if not isinstance(value, str):
            self.problem(where, f'must be a key name in quotes, e.g. "c", not {value!r}')
            return None
        try:
            return normalize_key(value)
        except KeyNameError as error:
            self.problem(where, str(error))
            return None

    def choice[E: StrEnum](self, data: Mapping[str, object], key: str, default: E) -> E:
        """``data[key]`` as one of ``default``'s enum values (``default`` when absent); a
        problem naming every choice otherwise."""
        kind = type(default)
        value = data.get(key, default.value)
        if isinstance(value, str) and value in {member.value for member in kind}:
            return kind(value)
        choices = " or ".join(f'"{member.value}"' for member in kind)
        self.problem(key, f"must be {choices}, not {value!r}")
        return default

    def keymap(self, table: object, prefix: str | None) -> dict[str, str]:
        keys = {action.id: action.default_key for action in ACTIONS}
        if not isinstance(table, dict):
            self.problem("keys", 'must be a table: write [keys] and then lines like tab.new = "c"')
            return keys
        for action_id, value in _flatten_ids(table).items():
            where = f"keys.{action_id}"
            if action_id not in ACTION_IDS:
                hint = did_you_mean(action_id, list(ACTION_IDS))
                self.problem(where, f"unknown action {action_id!r}{hint or _ACTION_LIST_HINT}")
            elif value == "":
                del keys[action_id]
            else:
                key = self.key_name(where, value)
                if key is not None:
                    keys[action_id] = key
        self._check_collisions(keys, prefix)
        return keys

    def _check_collisions(self, keys: Mapping[str, str], prefix: str | None) -> None:
        owner: dict[str, str] = {}
        for action_id, key in keys.items():
            if prefix is not None and key == prefix:
                self.problem(
                    f"keys.{action_id}",
                    f"{key!r} is the prefix itself (pressed twice it goes to the remote); "
                    "pick another key",
                )
            elif key in owner:
                self.problem(
                    f"keys.{action_id}",
                    f"{key!r} is already the key of {owner[key]!r}; give one of them another "
                    f'key, or unbind it with {owner[key]} = ""',
                )
            else:
                owner[key] = action_id


_ACTION_LIST_HINT = f"; known actions: {', '.join(ACTION_IDS)}"


def settings_from_mapping(data: Mapping[str, object], source: Path) -> Settings:
    """Check a parsed settings file strictly; raise SettingsLoadError listing every problem."""
    check = _Checker(source)
    for key in data:
        if key not in _TOP_KEYS:
            check.problem(key, f"unknown setting {key!r}{did_you_mean(key, _TOP_KEYS)}")
    prefix = check.key_name("prefix", data.get("prefix", DEFAULT_PREFIX))
    settings = Settings(
        theme=check.text(data, "theme", DEFAULT_THEME_NAME),
        prefix=prefix or DEFAULT_PREFIX,
        prefix_timeout=float(check.number(data, "prefix_timeout", 3.0, _TIMEOUT_MAX)),
        clipboard_write=check.choice(data, "clipboard_write", ClipboardWrite.ALLOW),
        clipboard_write_background=check.choice(
            data, "clipboard_write_background", ClipboardBackground.ASK
        ),
        paste_confirm=check.choice(data, "paste_confirm", PasteConfirm.MULTILINE),
        paste_upload=check.choice(data, "paste_upload", PasteUpload.ASK),
        downloads_dir=check.optional_text(data, "downloads_dir"),
        scrollback_lines=int(check.number(data, "scrollback_lines", 10_000, _SCROLLBACK_MAX)),
        predict=check.choice(data, "predict", Predict.ADAPTIVE),
        notify=check.choice(data, "notify", Notify.BELL),
        notify_via=check.choice(data, "notify_via", NotifyVia.AUTO),
        log=check.choice(data, "log", LogMode.OFF),
        log_path=check.text(data, "log_path", DEFAULT_LOG_PATTERN),
        keys=check.keymap(data.get("keys", {}), prefix),
    )
    if isinstance(data.get("scrollback_lines"), float):
        check.problem("scrollback_lines", "must be a whole number of lines")
    if check.issues:
        raise SettingsLoadError(tuple(check.issues))
    return settings


def settings_or_defaults(problems: list[str]) -> Settings:
    """``settings.toml``, or the defaults when it does not load (its problems are added to
    ``problems``): a broken file never keeps a session from opening."""
    try:
        return load_settings()
    except SettingsLoadError as error:
        problems.extend(str(issue) for issue in error.issues)
        return Settings()


def load_settings(path: Path | None = None) -> Settings:
    """Read ``settings.toml`` (default: the config dir's); a missing file means defaults.

    Raises SettingsLoadError listing every problem; the file is never modified.
    """
    path = path or paths.settings_file()
    try:
        data = load_toml_file(path)
    except FileNotFoundError:
        return Settings()
    except ConfigFileError as error:
        raise SettingsLoadError((KeyIssue(path, "", located_reason(error)),)) from None
    except OSError as error:
        issue = KeyIssue(path, "", f"cannot be read: {error.strerror or error}")
        raise SettingsLoadError((issue,)) from None
    except tomllib.TOMLDecodeError as error:
        issue = KeyIssue(path, "", f"is not valid TOML ({error}); fix the line it names")
        raise SettingsLoadError((issue,)) from None
    return settings_from_mapping(data, path)
