"""The saved host profile: where to connect and how to keep the connection.

A profile is plain data, one TOML file per host. Sections group what PuTTY spreads over its
Connection pages: ``[keepalive]`` (SSH level), ``[tcp]`` (socket level), ``[reconnect]`` and
``[tmux]``. Defaults lean towards keeping the connection: SSH keepalive is on (every 5 s,
3 missed replies), TCP keepalive is tuned far below the kernel's two-hour default, and tmux is
on so that a reconnect reattaches the same session.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from termkeep.config.forwards import Forward

PROFILE_NAME_MAX = 64
TMUX_SESSION_DEFAULT_PREFIX = "termkeep"


class InvalidProfileNameError(ValueError):
    """A profile name that cannot be used as a file name."""


def validate_profile_name(name: str) -> str:
    """Return ``name`` if it can be a profile file name, else raise InvalidProfileNameError.

    Names become ``hosts/<name>.toml``, so anything that could escape the directory, hide
    the file or confuse a terminal is refused.
    """
    if not name:
        raise InvalidProfileNameError("a profile name cannot be empty")
    if len(name) > PROFILE_NAME_MAX:
        raise InvalidProfileNameError(f"profile name {name!r} is longer than {PROFILE_NAME_MAX}")
    if "/" in name or "\\" in name:
        raise InvalidProfileNameError(f"profile name {name!r} must not contain '/' or '\\'")
    if name in {".", ".."} or ".." in name:
        raise InvalidProfileNameError(f"profile name {name!r} must not contain '..'")
    if name.startswith("."):
        raise InvalidProfileNameError(f"profile name {name!r} must not start with '.'")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidProfileNameError(f"profile name {name!r} must not contain control characters")
    if name != name.strip():
        raise InvalidProfileNameError(f"profile name {name!r} must not start or end with spaces")
    return name


def is_valid_profile_name(name: str) -> bool:
    """Whether ``name`` could be a profile's name (``validate_profile_name`` says why not)."""
    try:
        validate_profile_name(name)
    except InvalidProfileNameError:
        return False
    return True


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._@+-]+")


def sanitize_profile_name(raw: str) -> str:
    """Turn any string (a PuTTY session name, an ssh_config alias) into a valid profile name."""
    cleaned = _UNSAFE_NAME_CHARS.sub("-", raw).strip("-.")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)[:PROFILE_NAME_MAX]
    return cleaned or "host"


_TMUX_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TMUX_DOTTED_NAME = re.compile(r"[A-Za-z0-9.-]+")
_TMUX_KEPT_CHARACTER = re.compile(r"[A-Za-z0-9-]")


def default_tmux_session(profile_name: str) -> str:
    """The tmux session of a profile that names none: distinct for distinct profile names.

    tmux turns ``.`` and ``:`` into ``_``, and termkeep keeps session names to
    ``[A-Za-z0-9_-]`` so every shell passes them unchanged; a plain replacement would give
    ``a.b``, ``a_b`` and ``a:b`` one session. So there are three disjoint forms:

    - a name already made of ``[A-Za-z0-9_-]`` is kept: ``termkeep-web_1``;
    - a host-like name of ``[A-Za-z0-9.-]`` has its dots written as ``_`` after a ``_``
      (it has no ``_`` of its own, so none is ambiguous): ``termkeep_web_example_org``;
    - any other name keeps letters, digits and ``-`` and writes every other character as
      ``_<hex code>_`` after ``__``: ``a:b`` is ``termkeep__a_3a_b``.

    The characters after ``termkeep`` tell the forms apart (``-``; ``_`` and no second
    ``_``; ``__``), and each form can be read back, so no two profile names share a
    session. The longest (64 characters outside the BMP) is 522 characters; tmux takes it.
    """
    if _TMUX_PLAIN_NAME.fullmatch(profile_name):
        return f"{TMUX_SESSION_DEFAULT_PREFIX}-{profile_name}"
    if _TMUX_DOTTED_NAME.fullmatch(profile_name) and not profile_name.startswith("."):
        return f"{TMUX_SESSION_DEFAULT_PREFIX}_{profile_name.replace('.', '_')}"
    escaped = "".join(
        ch if _TMUX_KEPT_CHARACTER.fullmatch(ch) else f"_{ord(ch):x}_" for ch in profile_name
    )
    return f"{TMUX_SESSION_DEFAULT_PREFIX}__{escaped}"


@dataclass(frozen=True, slots=True)
class KeepaliveSettings:
    """SSH-level keepalive (OpenSSH's ServerAliveInterval/CountMax, PuTTY's pings)."""

    interval: float = 5.0
    """Seconds of silence before a keepalive request is sent; 0 turns SSH keepalive off.
    It is also how long silence must last before the tab shows the link as stalled."""

    count_max: int = 3
    """Unanswered keepalives after which the connection is declared dead."""


@dataclass(frozen=True, slots=True)
class TcpSettings:
    """Kernel TCP options set on the socket (SO_KEEPALIVE and friends)."""

    keepalive: bool = True
    """Turn on SO_KEEPALIVE (PuTTY's "Enable TCP keepalives")."""

    idle: int = 10
    """TCP_KEEPIDLE: seconds idle before the first TCP keepalive probe."""

    interval: int = 5
    """TCP_KEEPINTVL: seconds between TCP keepalive probes."""

    count: int = 3
    """TCP_KEEPCNT: unanswered probes before the kernel drops the connection."""

    user_timeout: int = 30
    """TCP_USER_TIMEOUT in seconds: how long sent data may stay unacknowledged before the
    kernel gives up; 0 leaves the kernel default (about 15 minutes of retransmissions)."""

    nodelay: bool = True
    """TCP_NODELAY: send keystrokes at once instead of batching them (Nagle)."""


@dataclass(frozen=True, slots=True)
class ReconnectSettings:
    """How a dead connection is re-made."""

    enabled: bool = True
    """Reconnect by itself after a network or server abort."""

    connect_timeout: float = 5.0
    """Seconds a single probe may take for TCP connect plus SSH handshake."""

    initial_delay: float = 0.25
    """Seconds before the next probe after a server accepted us and then refused or dropped
    us; later refusals back off from here. A network that is down is probed every 0.25-0.5 s
    whatever these say."""

    max_delay: float = 30.0
    """Cap on the delay between probes to a server that keeps accepting and dropping us."""

    multiplier: float = 2.0
    """Each such refusal multiplies the delay by this much, up to ``max_delay``."""

    jitter: float = 0.2
    """Random spread, as a fraction of the delay, so many tabs do not probe in lockstep."""

    stable_after: float = 30.0
    """Seconds a connection must stay attached (stalls not counted) before the backoff steps
    of earlier accept-then-drop failures are forgotten."""


@dataclass(frozen=True, slots=True)
class TmuxSettings:
    """The tmux session on the server that makes a reconnect lossless."""

    enabled: bool = True
    """Run the session inside tmux; without it a reconnect starts a fresh shell."""

    session: str | None = None
    """tmux session name; unset means ``termkeep-<profile name>`` (``default_tmux_session``
    says how other characters are written)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """One saved host, like one of PuTTY's saved sessions."""

    name: str
    """The profile's name; also its file name, ``hosts/<name>.toml``."""

    host: str
    """Host name or address to connect to."""

    port: int = 22
    """TCP port of the SSH server."""

    user: str | None = None
    """Login name; unset means ssh_config's, else the local user name."""

    identity_files: tuple[str, ...] = ()
    """Private key files to offer, in order (``~`` is expanded). The agent is tried too."""

    known_hosts_file: str | None = None
    """This profile's own known_hosts file, checked before the user and global files;
    accepted keys are saved here when it is set."""

    user_known_hosts_files: tuple[str, ...] = ()
    """OpenSSH's UserKnownHostsFile: the user's known_hosts files, in order (``~`` is
    expanded); an accepted key is saved to the first when the profile has no file of its
    own. Unset means ssh_config's (with ``use_ssh_config``), else ``~/.ssh/known_hosts`` and
    ``~/.ssh/known_hosts2``."""

    global_known_hosts_files: tuple[str, ...] = ()
    """OpenSSH's GlobalKnownHostsFile: system-wide known_hosts files, read only. Unset means
    ssh_config's, else ``/etc/ssh/ssh_known_hosts`` and ``/etc/ssh/ssh_known_hosts2``."""

    strict_host_key_checking: str | None = None
    """OpenSSH's StrictHostKeyChecking for an unknown host key: "ask" (the default),
    "yes" (refuse it), "accept-new" (save it without asking) or "no" (the same as
    accept-new here: a changed key is refused whatever this says). Unset means ssh_config's
    (with ``use_ssh_config``), else "ask"."""

    host_key_alias: str | None = None
    """OpenSSH's HostKeyAlias: the name the host key is looked up and saved under instead of
    the host name and port. Unset means ssh_config's (with ``use_ssh_config``), else none."""

    jump: str | None = None
    """Jump host: another profile's name or ``[user@]host[:port]`` (OpenSSH's ProxyJump)."""

    use_ssh_config: bool = False
    """Also apply ``~/.ssh/config`` for this host (what the profile sets wins)."""

    agent_forwarding: bool | None = None
    """Forward the local SSH agent to the server (``ssh -A``), to the target only, never to a
    jump host. While a tab is connected, anyone who is root on the server can use the agent's
    keys: turn it on only for hosts you trust. Unset means ssh_config's ForwardAgent (with
    ``use_ssh_config``), else off."""

    agent_forwarding_socket: str | None = None
    """Which agent to forward, as OpenSSH's ``ForwardAgent PATH`` takes it: a socket path
    (``~`` and ``${VAR}`` expanded) or ``$VAR``, an environment variable that holds one (unset
    there: nothing is forwarded). Needs ``agent_forwarding = true``. Unset means the agent
    termkeep logs in with: ``$SSH_AUTH_SOCK``, or ssh_config's IdentityAgent."""

    x11_forwarding: bool = False
    """Forward X11 connections."""

    forwards: tuple[Forward, ...] = ()
    """Tunnels opened on every connection of the host's tabs (``ssh -L/-R/-D``); written as
    ``[[forwards]]`` tables. Files from before kept PuTTY's ``port_forwardings`` strings, which
    still load."""

    term: str = "xterm-256color"
    """TERM value sent with the PTY request."""

    theme: str | None = None
    """Theme for this host's tabs; unset means the app-wide theme."""

    predict: str | None = None
    """Predictive local echo for this host: "adaptive", "always" or "never"; unset means the
    app-wide ``predict`` setting."""

    paste_confirm: str | None = None
    """Ask before pasting several lines into a program without bracketed paste for this host:
    "multiline" or "never"; unset means the app-wide ``paste_confirm`` setting."""

    notify: str | None = None
    """Desktop notifications from this host's background tabs: "off", "bell", "done" or
    "all"; unset means the app-wide ``notify`` setting."""

    log: str | None = None
    """Session log for this host's tabs: "off", "output" or "raw"; unset means the app-wide
    ``log`` setting."""

    log_path: str | None = None
    """Where this host's logs go (a pattern like the ``log_path`` setting); unset means the
    app-wide one."""

    keepalive: KeepaliveSettings = field(default_factory=KeepaliveSettings)
    """SSH keepalive."""

    tcp: TcpSettings = field(default_factory=TcpSettings)
    """TCP socket options."""

    reconnect: ReconnectSettings = field(default_factory=ReconnectSettings)
    """Automatic reconnect."""

    tmux: TmuxSettings = field(default_factory=TmuxSettings)
    """Server-side tmux session."""

    @property
    def tmux_session_name(self) -> str:
        """The tmux session this profile attaches, before tmux's own name rewriting."""
        return self.tmux.session or default_tmux_session(self.name)

    @property
    def destination(self) -> str:
        """``user@host:port`` as shown in lists and status lines."""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port}"
