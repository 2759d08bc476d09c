"""Import PuTTY's Unix saved sessions as profiles (pure: reads files, writes nothing).

Where PuTTY keeps them: ``$PUTTYDIR``, else ``~/.config/putty`` if it exists, else
``~/.putty``; the sessions are in its ``sessions/`` directory unless ``$PUTTYSESSIONS`` names
another. One file per session, named after the session with every byte outside
``[A-Za-z0-9+-.@_]`` written as ``%XX``; the content is ``Key=Value`` lines.

Decisions, so users are not surprised:

- "Default Settings" is not imported. PuTTY uses it only as the template a *new* session
  starts from; when it loads a saved session, keys missing from that file fall back to
  PuTTY's built-in defaults, not to "Default Settings" (storage.h: "the caller should invent
  a sensible default"). The importer does the same with termkeep's defaults.
- PuTTY's keepalive defaults (pings off, TCP keepalives off) are exactly what termkeep exists
  to avoid, and a saved session cannot tell "left at default" from "turned off on purpose".
  So a ping interval of 0 and ``TCPKeepalives=0`` keep termkeep's defaults, and the report
  says so; any other value is taken as the user's choice.
- Agent and X11 forwarding are imported as PuTTY had them (the user turned them on there),
  and each one that is on is named in the report with what it exposes and how to turn it
  off: a profile that quietly lets a server use the local agent or display would surprise.
- A ``.ppk`` key cannot be read by asyncssh. The profile points at the OpenSSH key that
  ``puttygen KEY -O private-openssh -o OUT`` will write next to it, and the report gives
  that exact command.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from termkeep.config.errors import ConfigError
from termkeep.config.forwards import Forward, ForwardKind, gather_forwards, parse_putty_forward
from termkeep.config.importing import (
    ImportedEntry,
    ImportPlan,
    NameAllocator,
    SkippedEntry,
    profile_problem,
)
from termkeep.config.profile import KeepaliveSettings, Profile, TcpSettings

DEFAULT_SETTINGS = "Default Settings"
"""PuTTY's template session."""

SSH_PROTOCOL = "ssh"
PUTTY_DEFAULT_PORT = 22

PuttySession = Mapping[str, str]


def putty_dir(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """PuTTY's settings directory, looked up the way PuTTY on Unix does."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if env.get("PUTTYDIR"):
        return Path(env["PUTTYDIR"]).expanduser()
    xdg = home / ".config" / "putty"
    return xdg if xdg.is_dir() else home / ".putty"


def sessions_dir(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Where PuTTY keeps saved sessions: ``$PUTTYSESSIONS``, else ``<putty dir>/sessions``."""
    env = os.environ if env is None else env
    if env.get("PUTTYSESSIONS"):
        return Path(env["PUTTYSESSIONS"]).expanduser()
    return putty_dir(env, home) / "sessions"


def resolve_sessions_dir(given: Path | None) -> Path:
    """The sessions directory for a user-given DIR: PuTTY's dir or its ``sessions/`` itself."""
    if given is None:
        return sessions_dir()
    nested = given / "sessions"
    return nested if nested.is_dir() else given


def decode_session_name(file_name: str) -> str:
    """The session name PuTTY encoded as ``file_name`` (``%XX`` escapes, UTF-8 assumed)."""
    return unquote(file_name, encoding="utf-8", errors="replace")


def parse_session(text: str) -> dict[str, str]:
    """``Key=Value`` lines to a dict; the value is everything after the first ``=``."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            settings[key] = value
    return settings


def _int(session: PuttySession, key: str, default: int) -> int:
    raw = session.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None


def _ppk_note(path: str) -> tuple[str, str]:
    """The OpenSSH key path to use instead of a .ppk, and the note telling how to make it."""
    converted = path[: -len(".ppk")]
    command = shlex.join(["puttygen", path, "-O", "private-openssh", "-o", converted])
    note = (
        f"key {path} is in PuTTY's .ppk format, which termkeep cannot read; the profile "
        f"uses {converted} instead: create it with `{command}`"
    )
    return converted, note


def _keepalive(session: PuttySession, notes: list[str]) -> KeepaliveSettings:
    seconds = _int(session, "PingInterval", 0) * 60 + _int(session, "PingIntervalSecs", 0)
    if seconds <= 0:
        notes.append(
            "PuTTY keepalives were off; termkeep's SSH keepalive "
            f"({KeepaliveSettings().interval:g} s) is used"
        )
        return KeepaliveSettings()
    return KeepaliveSettings(interval=float(seconds))


def _tcp(session: PuttySession, notes: list[str]) -> TcpSettings:
    keepalive = _int(session, "TCPKeepalives", 0) != 0
    if not keepalive:
        notes.append("PuTTY TCP keepalives were off; termkeep's tuned TCP keepalive is used")
    return TcpSettings(keepalive=True, nodelay=_int(session, "TCPNoDelay", 1) != 0)


def _forwards(session: PuttySession, notes: list[str]) -> tuple[Forward, ...]:
    """PortForwardings, with "Local ports accept connections from other hosts" applied (it
    is PuTTY's GatewayPorts)."""
    accept_all = {
        ForwardKind.LOCAL: _int(session, "LocalPortAcceptAll", 0) != 0,
        ForwardKind.DYNAMIC: _int(session, "LocalPortAcceptAll", 0) != 0,
        ForwardKind.REMOTE: _int(session, "RemotePortAcceptAll", 0) != 0,
    }

    def reader(entry: str) -> Callable[[], Forward]:
        def read() -> Forward:
            forward = parse_putty_forward(entry)
            if forward.listen_address is None and accept_all[forward.kind]:
                return replace(forward, listen_address="*")
            return forward

        return read

    entries = filter(None, (item.strip() for item in session.get("PortForwardings", "").split(",")))
    return gather_forwards((("port forwarding", reader(entry)) for entry in entries), notes)


def _split_user(host: str, user: str) -> tuple[str, str]:
    """PuTTY accepts ``user@host`` in HostName; an explicit UserName wins."""
    if "@" in host:
        login, _, host = host.rpartition("@")
        user = user or login
    return host, user


FORWARDING_NOTES = {
    "AgentFwd": (
        "agent forwarding is on, as in PuTTY (AgentFwd=1): while connected, the server can "
        "use the keys in your local SSH agent; set agent_forwarding = false in the profile "
        "unless you need it there"
    ),
    "X11Forward": (
        "X11 forwarding is on, as in PuTTY (X11Forward=1): programs on the server can open "
        "windows on your display and read what it shows and what you type; set "
        "x11_forwarding = false in the profile unless you need it there"
    ),
}
"""The report's line for each PuTTY forwarding switch that is on."""


def _forwarding_switch(session: PuttySession, key: str, notes: list[str]) -> bool:
    enabled = _int(session, key, 0) != 0
    if enabled:
        notes.append(FORWARDING_NOTES[key])
    return enabled


def session_to_profile(name: str, session: PuttySession, notes: list[str]) -> Profile:
    """Map one SSH session's settings to a Profile; raises ConfigError if it cannot."""
    host, user = _split_user(
        session.get("HostName", "").strip(), session.get("UserName", "").strip()
    )
    if not host:
        raise ConfigError("no HostName")
    identity_files: tuple[str, ...] = ()
    key_file = session.get("PublicKeyFile", "").strip()
    if key_file.lower().endswith(".ppk"):
        key_file, note = _ppk_note(key_file)
        notes.append(note)
    if key_file:
        identity_files = (key_file,)
    forwards = _forwards(session, notes)
    if _int(session, "ProxyMethod", 0) != 0:
        notes.append("PuTTY proxy settings are not imported; add a jump host if one is needed")
    return Profile(
        name=name,
        host=host,
        port=_int(session, "PortNumber", PUTTY_DEFAULT_PORT),
        user=user or None,
        identity_files=identity_files,
        agent_forwarding=_forwarding_switch(session, "AgentFwd", notes),
        x11_forwarding=_forwarding_switch(session, "X11Forward", notes),
        forwards=forwards,
        keepalive=_keepalive(session, notes),
        tcp=_tcp(session, notes),
    )


def _skip_reason(session_name: str, session: PuttySession) -> str | None:
    if session_name == DEFAULT_SETTINGS:
        return "PuTTY's template for new sessions, not a host"
    protocol = session.get("Protocol", SSH_PROTOCOL).strip() or SSH_PROTOCOL
    if protocol != SSH_PROTOCOL:
        return f"protocol {protocol!r}, not SSH"
    return None


def read_putty_sessions(directory: Path) -> ImportPlan:
    """Read every saved session in ``directory`` into an ImportPlan.

    Raises ConfigError if the directory does not exist. Unreadable or unusable sessions are
    skipped with a reason, never fatal.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"no PuTTY sessions directory at {directory}; give the directory as DIR "
            "(PuTTY's settings dir or its sessions/ dir)"
        )
    plan = ImportPlan(str(directory))
    # Dot files are sessions too: PuTTY writes '.' unescaped, so "..x" is the file "..x".
    files = sorted(path for path in directory.iterdir() if path.is_file())
    names = NameAllocator(decode_session_name(path.name) for path in files)
    for path in files:
        session_name = decode_session_name(path.name)
        try:
            session = parse_session(path.read_text(encoding="utf-8", errors="replace"))
        except OSError as error:
            plan.skipped.append(SkippedEntry(session_name, f"cannot read: {error.strerror}"))
            continue
        reason = _skip_reason(session_name, session)
        if reason:
            plan.skipped.append(SkippedEntry(session_name, reason))
            continue
        _add_session(plan, names, session_name, session)
    return plan


def _add_session(
    plan: ImportPlan, names: NameAllocator, session_name: str, session: PuttySession
) -> None:
    notes: list[str] = []
    name, name_notes = names.allocate(session_name)
    try:
        profile = session_to_profile(name, session, notes)
    except ConfigError as error:
        problem: str | None = str(error)
    else:
        problem = profile_problem(profile)
    if problem:
        names.release(name)
        plan.skipped.append(SkippedEntry(session_name, problem))
        return
    plan.entries.append(ImportedEntry(session_name, profile, (*name_notes, *notes)))
