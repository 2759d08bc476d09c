"""What each profile key means to a person: its group, a plain-words label and one line of help.

The schema (``schema.KEYS``) says what a key accepts; this module says how to show it. It is
declared once, here, for every screen that shows a profile: the profile editor lays its
categories out from ``GROUPS`` and ``FIELDS``, ``termkeep hosts show`` labels its lines with
them. A test fails when a Profile field has no entry, so a new setting cannot be left out of
the editor.

Labels are plain words, never key names; a ``…`` stands where the value goes ("Send a
keepalive every … s"). ``applied`` says which value holds when the file does not set a key and
where it comes from: "5 (default)", "adaptive (from settings.toml)".
"""

from __future__ import annotations

import getpass
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from termkeep.config.profile import Profile, default_tmux_session
from termkeep.config.schema import KEYS, NAME_IS_FILE_NAME, Kind
from termkeep.config.settings import Settings


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """How one profile key is shown."""

    key: str
    """Dotted key of the profile file (``keepalive.interval``), or ``name``."""

    label: str
    """Plain words; ``…`` marks where the value goes."""

    help: str
    """One line: what the value does, in the user's terms."""

    setting: str | None = None
    """The ``settings.toml`` key that applies while the profile leaves this one unset."""

    unset: str | None = None
    """What applies while unset, for a key whose default is not a value (None or empty)."""


@dataclass(frozen=True, slots=True)
class Group:
    """One category of the editor, like a page of PuTTY's configuration tree."""

    title: str
    fields: tuple[FieldInfo, ...]

    @property
    def slug(self) -> str:
        """A stable id made of the title: ``Keepalive and TCP`` -> ``keepalive-and-tcp``."""
        return "-".join(self.title.lower().split())


# What ssh reads when a profile names no files (transport's DEFAULT_KEY_FILES and hostkeys'
# DEFAULT_*_KNOWN_HOSTS; a test checks they agree). Short, so an 80-column form shows it whole.
DEFAULT_KEY_FILES_TEXT = "the agent's, then ~/.ssh/id_* keys"
DEFAULT_USER_KNOWN_HOSTS_TEXT = "~/.ssh/known_hosts, known_hosts2"
DEFAULT_GLOBAL_KNOWN_HOSTS_TEXT = "/etc/ssh/ssh_known_hosts, ssh_known_hosts2"
DEFAULT_AGENT_SOCKET_TEXT = "your agent ($SSH_AUTH_SOCK)"
LIST_SEPARATOR = ","
"""Lists of paths are typed on one line, separated by commas."""

GROUPS: tuple[Group, ...] = (
    Group(
        "Session",
        (
            FieldInfo(NAME_IS_FILE_NAME, "Profile name", "Also the file name: hosts/<name>.toml"),
            FieldInfo("host", "Host name or address", "The SSH server to connect to"),
            FieldInfo("port", "Port", "TCP port of the SSH server"),
            FieldInfo("user", "User name", "Login name on the server"),
            FieldInfo(
                "use_ssh_config",
                "Also use ~/.ssh/config",
                "Apply ssh_config's settings for this host; what this profile sets wins",
            ),
        ),
    ),
    Group(
        "Authentication",
        (
            FieldInfo(
                "identity_files",
                "Private key files",
                "Offered in order, the agent's keys too; separate several with commas",
                unset=DEFAULT_KEY_FILES_TEXT,
            ),
            FieldInfo(
                "agent_forwarding",
                "Forward your SSH agent",
                "While connected, the server's root can use your keys: only for trusted hosts",
                unset="off",
            ),
            FieldInfo(
                "agent_forwarding_socket",
                "Forward the agent at",
                "A socket path, or $VAR naming one; needs the agent forwarded",
                unset=DEFAULT_AGENT_SOCKET_TEXT,
            ),
            FieldInfo(
                "jump",
                "Connect through jump host",
                "Another profile's name, or [user@]host[:port] (ssh -J)",
                unset="none",
            ),
        ),
    ),
    Group(
        "Host keys",
        (
            FieldInfo(
                "strict_host_key_checking",
                "For a host key never seen",
                "ask; yes refuses it; accept-new or no save it; a changed key is always refused",
                unset="ask",
            ),
            FieldInfo(
                "known_hosts_file",
                "This profile's own known_hosts",
                "Checked first; keys you accept are saved here when it is set",
                unset="none",
            ),
            FieldInfo(
                "user_known_hosts_files",
                "Your known_hosts files",
                "Checked next; the first gets accepted keys; separate several with commas",
                unset=DEFAULT_USER_KNOWN_HOSTS_TEXT,
            ),
            FieldInfo(
                "global_known_hosts_files",
                "System known_hosts files",
                "Checked last and never written; separate several with commas",
                unset=DEFAULT_GLOBAL_KNOWN_HOSTS_TEXT,
            ),
            FieldInfo(
                "host_key_alias",
                "Look the host key up as",
                "A name used in known_hosts instead of the host name and port",
                unset="the host name",
            ),
        ),
    ),
    Group(
        "Keepalive and TCP",
        (
            FieldInfo(
                "keepalive.interval",
                "Send a keepalive every … s",
                "After this much silence, ask the server for a reply; 0 turns it off",
            ),
            FieldInfo(
                "keepalive.count_max",
                "Give up after … missed replies",
                "Unanswered keepalives before the connection counts as dead",
            ),
            FieldInfo(
                "tcp.keepalive",
                "TCP keepalive",
                "Let the kernel probe an idle connection too (PuTTY's TCP keepalives)",
            ),
            FieldInfo(
                "tcp.idle", "First TCP probe after … s idle", "Seconds idle before the first probe"
            ),
            FieldInfo("tcp.interval", "Then a TCP probe every … s", "Seconds between probes"),
            FieldInfo(
                "tcp.count", "Drop after … unanswered probes", "Probes the kernel sends in vain"
            ),
            FieldInfo(
                "tcp.user_timeout",
                "Give up on unacknowledged data after … s",
                "0 leaves the kernel's own (about 15 minutes of resending)",
            ),
            FieldInfo(
                "tcp.nodelay",
                "Send each keystroke at once",
                "No batching of small packets (Nagle off)",
            ),
        ),
    ),
    Group(
        "Reconnect",
        (
            FieldInfo(
                "reconnect.enabled",
                "Reconnect by itself",
                "After a network failure or a server abort",
            ),
            FieldInfo(
                "reconnect.connect_timeout",
                "Each attempt may take … s",
                "TCP connect plus SSH handshake, before the next try",
            ),
            FieldInfo(
                "reconnect.initial_delay",
                "Retry a refusing server after … s",
                "When it accepted and then dropped us; later refusals wait longer",
            ),
            FieldInfo(
                "reconnect.max_delay",
                "Wait at most … s between retries",
                "The cap on the growing delay",
            ),
            FieldInfo(
                "reconnect.multiplier",
                "Multiply the delay by …",
                "After each refusal, up to the cap",
            ),
            FieldInfo(
                "reconnect.jitter",
                "Random spread of the delay",
                "A fraction from 0 to 1, so many tabs do not retry in step",
            ),
            FieldInfo(
                "reconnect.stable_after",
                "Forget failures after … s attached",
                "Time attached (stalls not counted) before the delay starts over",
            ),
        ),
    ),
    Group(
        "tmux",
        (
            FieldInfo(
                "tmux.enabled",
                "Run inside tmux",
                "A reconnect reattaches the same session; off starts a fresh shell",
            ),
            FieldInfo(
                "tmux.session",
                "tmux session name",
                "Tabs of this profile attach this session (created if missing)",
            ),
        ),
    ),
    Group(
        "Tunnels",
        (
            FieldInfo(
                "forwards",
                "Forwarded ports",
                "Opened on every connection; add them as for ssh: -L 8080:db:5432, -D 1080",
                unset="none",
            ),
            FieldInfo(
                "x11_forwarding",
                "Forward X11",
                "Let programs on the server open windows here",
            ),
        ),
    ),
    Group(
        "Terminal",
        (
            FieldInfo(
                "predict",
                "Local echo",
                "Show typed characters before the server echoes them (underlined until it does)",
                setting="predict",
            ),
            FieldInfo(
                "paste_confirm",
                "Ask before pasting several lines",
                "multiline asks when the program has no bracketed paste; never does not ask",
                setting="paste_confirm",
            ),
            FieldInfo(
                "notify",
                "Desktop notifications",
                "From a tab in the background: bell, done (long output ended), all, or off",
                setting="notify",
            ),
            FieldInfo(
                "log",
                "Session log",
                "output keeps the printable text, raw the bytes as received",
                setting="log",
            ),
            FieldInfo(
                "log_path",
                "Log file",
                "&H host, &P profile, &Y &M &D date, &T time; relative to the logs folder",
                setting="log_path",
            ),
            FieldInfo("theme", "Colour theme", "The colours of this host's tabs", setting="theme"),
            FieldInfo("term", "Terminal type (TERM)", "Sent to the server with the terminal"),
        ),
    ),
)
"""The editor's categories, in the order it lists them."""

FIELDS: dict[str, FieldInfo] = {info.key: info for group in GROUPS for info in group.fields}
"""Every shown key, by dotted key."""

GROUP_OF: dict[str, Group] = {info.key: group for group in GROUPS for info in group.fields}


def profile_keys() -> list[str]:
    """Every key a profile has: its name and each key of the file."""
    return [NAME_IS_FILE_NAME, *KEYS]


def value_text(value: object) -> str:
    """A value as the editor shows it: ``5``, ``0.25``, ``on``, ``a, b``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return f"{LIST_SEPARATOR} ".join(str(item) for item in value)
    return "" if value is None else str(value)


SETTINGS_FILE_ORIGIN = "from settings.toml"
DEFAULT_ORIGIN = "default"


def _settings_value(key: str, settings: Settings) -> tuple[object, str]:
    value = getattr(settings, key)
    origin = DEFAULT_ORIGIN if value == getattr(Settings(), key) else SETTINGS_FILE_ORIGIN
    return value, origin


def applied(key: str, profile: Profile, settings: Settings) -> str:
    """What holds while the profile leaves ``key`` unset, and where it comes from.

    ``profile`` gives the context (its name names the tmux session, ``use_ssh_config`` lets
    ``~/.ssh/config`` decide); ``settings`` is the app's, whose values a profile inherits.
    """
    info = FIELDS[key]
    if info.setting is not None:
        value, origin = _settings_value(info.setting, settings)
        return f"{value_text(str(value))} ({origin})"
    special = _context_dependent(key, profile)
    if special is not None:
        return special
    if info.unset is not None:
        if profile.use_ssh_config and key in _SSH_CONFIG_KEYS:
            return f"from ~/.ssh/config, else {info.unset}"
        return f"{info.unset} ({DEFAULT_ORIGIN})"
    spec = KEYS.get(key)
    return f"{value_text(spec.default)} ({DEFAULT_ORIGIN})" if spec is not None else ""


def _context_dependent(key: str, profile: Profile) -> str | None:
    """The unset value of keys whose default depends on the profile or the local user."""
    if key == "tmux.session":
        return f"{default_tmux_session(profile.name or 'NAME')} (from the profile name)"
    if key == "user":
        local = getpass.getuser()
        if profile.use_ssh_config:
            return f"from ~/.ssh/config, else {local}"
        return f"{local} (your local user name)"
    return None


_SSH_CONFIG_KEYS = frozenset(
    {
        "identity_files",
        "agent_forwarding",
        "jump",
        "strict_host_key_checking",
        "user_known_hosts_files",
        "global_known_hosts_files",
        "host_key_alias",
    }
)
"""Keys that ``~/.ssh/config`` fills in when a profile uses it and leaves them unset."""


def parse_list(text: str) -> list[str]:
    """A one-line list, ``a, b`` -> ``["a", "b"]``; empty entries are dropped."""
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def missing_fields(keys: Collection[str] | None = None) -> list[str]:
    """Keys of a profile that have no entry here (a test keeps this empty)."""
    wanted: Sequence[str] = list(keys) if keys is not None else profile_keys()
    return [key for key in wanted if key not in FIELDS]


def is_list(key: str) -> bool:
    """Whether the key holds a list of strings, typed as one comma-separated line."""
    spec = KEYS.get(key)
    return spec is not None and spec.kind is Kind.STR_LIST
