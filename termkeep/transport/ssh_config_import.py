"""Import OpenSSH client config (``~/.ssh/config``) hosts as profiles, through asyncssh's parser.

asyncssh already parses ssh_config the way it will be used when connecting, so no second
parser is written here. Two passes use it:

1. Find the aliases: a subclass of asyncssh's ``SSHClientConfig`` enters every ``Host`` and
   ``Match`` block (so an ``Include`` inside a block is read too) and records the ``Host``
   patterns. Patterns with wildcards or negations are not hosts and are reported as skipped.
2. Resolve each concrete alias with asyncssh's normal lookup, exactly as a connection to that
   alias would: first value wins, wildcard blocks and ``Include`` apply as in OpenSSH.

An import never runs a command: a ``Match exec`` block is left out of both passes (with an
entry in the plan saying so), where asyncssh would run the command through the shell. Each
file read is first checked like termkeep's own config files (a regular file, at most 1 MB,
UTF-8, a bad byte named by line and column), and ``Include`` nests at most 16 deep, as in
OpenSSH, so an Include loop is one line instead of a RecursionError.

This lives in transport because only transport may import asyncssh; the result is the plain
``ImportPlan`` of the config layer.
"""

from __future__ import annotations

import functools
import getpass
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import cast

from asyncssh.config import ConfigParseError, SSHClientConfig, SSHConfig
from asyncssh.misc import IllegalUserName

from termkeep.config.agent import agent_socket_problem
from termkeep.config.errors import ConfigError
from termkeep.config.files import read_config_text
from termkeep.config.forwards import Forward, ForwardKind, gather_forwards, parse_ssh_forward
from termkeep.config.importing import (
    ImportedEntry,
    ImportPlan,
    NameAllocator,
    SkippedEntry,
    profile_problem,
)
from termkeep.config.profile import KeepaliveSettings, Profile, TcpSettings
from termkeep.transport.hostkeys import StrictHostKeyChecking

DEFAULT_SSH_CONFIG = Path("~", ".ssh", "config")
WILDCARD_CHARS = frozenset("*?!")
NULL_DEVICE = "/dev/null"
OPENSSH_DEFAULT_PORT = 22
MATCH_EXEC_LEFT_OUT = (
    "left out: an import never runs commands, so this block's settings are in no profile; "
    "add them to the profiles by hand if they apply"
)

_Handler = Callable[..., None]
FORWARD_OPTIONS = {
    ForwardKind.LOCAL: "LocalForward",
    ForwardKind.REMOTE: "RemoteForward",
    ForwardKind.DYNAMIC: "DynamicForward",
}


MAX_INCLUDE_DEPTH = 16
"""OpenSSH's READCONF_MAX_DEPTH: Include files nested deeper are an error."""

NO_ARGUMENT_CRITERIA = frozenset({"all", "canonical", "final"})
"""Match criteria that take no pattern after them."""


def match_runs_command(args: list[str]) -> bool:
    """Whether a ``Match`` line's criteria include ``exec`` (or ``!exec``)."""
    tokens = iter(args)
    for token in tokens:
        criterion = token.lower().removeprefix("!")
        if criterion == "exec":
            return True
        if criterion not in NO_ARGUMENT_CRITERIA:
            next(tokens, None)  # the criterion's pattern
    return False


class _GuardedParsing(SSHConfig):
    """asyncssh's parser with the checks it lacks: each file is checked before asyncssh
    reads it, and Include nesting is limited as in OpenSSH."""

    _include_depth = 0
    """How many Includes deep the file being parsed is (the named file is 0)."""

    def parse(self, path: Path) -> None:
        if self._include_depth > MAX_INCLUDE_DEPTH:
            # self._path is still the including file here: name it and its Include line.
            self._error(
                f"Include nested more than {MAX_INCLUDE_DEPTH} deep (does a file include "
                "itself?); break the loop"
            )
        read_config_text(path)  # a regular UTF-8 file of at most 1 MB, or ConfigFileError
        self._include_depth += 1
        try:
            super().parse(path)
        finally:
            self._include_depth -= 1


class _HostPatternCollector(_GuardedParsing, SSHClientConfig):
    """asyncssh's parser, made to enter every block and remember the Host patterns."""

    def __init__(self) -> None:
        # asyncssh itself passes None and () for "no previous config" and "unset"; its
        # type hints do not say so.
        super().__init__(None, False, False, False, _local_user(), (), "", ())  # type: ignore[arg-type]
        self.patterns: list[str] = []
        self.left_out: dict[tuple[Path, int], str] = {}
        """The ``Match exec`` lines not entered, by file and line."""

    def _collect_host(self, _option: str, args: list[str]) -> None:
        # Host patterns are separated by spaces in OpenSSH and by commas in asyncssh.
        for arg in args:
            self.patterns.extend(part for part in arg.split(",") if part)
        args.clear()
        self._matching = True

    def _enter_match(self, _option: str, args: list[str]) -> None:
        # Entering every Match block reaches Includes inside it; a block that would run a
        # command is not entered at all.
        self._matching = not match_runs_command(args)
        if not self._matching:
            self.left_out.setdefault((self._path, self._line_no), shlex.join(["Match", *args]))
        args.clear()

    _handlers: dict[str, tuple[str, _Handler]] = {  # noqa: RUF012 - asyncssh's own shape
        **SSHClientConfig._handlers,
        "host": ("Host", _collect_host),
        "match": ("Match", _enter_match),
    }


def _append_forward(config: SSHConfig, option: str, args: list[str]) -> None:
    """Keep every LocalForward/RemoteForward/DynamicForward line, as OpenSSH does (the
    first-value-wins rule of other options does not apply to forwards)."""
    spec = ":".join(args)
    args.clear()
    # The parser's own option store: a list per forwarding option.
    cast(list[str], config._options.setdefault(option, [])).append(spec)


def _match_without_exec(config: SSHConfig, option: str, args: list[str]) -> None:
    """asyncssh's Match, except that a block with ``exec`` is left out, its command unrun."""
    if match_runs_command(args):
        args.clear()
        config._matching = False
    else:
        SSHConfig._match(config, option, args)


class _ForwardingClientConfig(_GuardedParsing, SSHClientConfig):
    """asyncssh's client config parser, plus the forwarding options it does not read."""

    _handlers = {  # noqa: RUF012 - asyncssh declares it as a plain class attribute
        **SSHClientConfig._handlers,
        **{
            option.lower(): (option, handler)
            for option, handler in (
                (FORWARD_OPTIONS[ForwardKind.LOCAL], _append_forward),
                (FORWARD_OPTIONS[ForwardKind.REMOTE], _append_forward),
                (FORWARD_OPTIONS[ForwardKind.DYNAMIC], _append_forward),
                ("ClearAllForwardings", SSHConfig._set_bool),
                # asyncssh does not read it; termkeep applies it (hostkeys.py).
                ("StrictHostKeyChecking", SSHConfig._set_string),
            )
        },
    }


class _ImportClientConfig(_ForwardingClientConfig):
    """The parser of an import: the same, but it never runs a ``Match exec`` command."""

    _handlers = {  # noqa: RUF012 - asyncssh declares it as a plain class attribute
        **_ForwardingClientConfig._handlers,
        "match": ("Match", _match_without_exec),
    }


def _local_user() -> str:
    """The local login name, used by ssh_config's ``%u`` and ``Match localuser``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def _parse_errors(path: Path) -> ConfigError:
    return ConfigError(f"no ssh config at {path}; give the file to import as FILE")


def _collect(path: Path) -> _HostPatternCollector:
    collector = _HostPatternCollector()
    _guarded(lambda: collector.parse(path), path)
    return collector


def host_patterns(path: Path) -> list[str]:
    """All Host patterns in ``path`` and the files it includes, first occurrence first
    (``Match exec`` blocks are not entered: their command is never run)."""
    return list(dict.fromkeys(_collect(path).patterns))


def resolve_host(path: Path, alias: str, *, run_match_exec: bool = True) -> SSHClientConfig:
    """The settings OpenSSH (and asyncssh) would use to connect to ``alias``.

    ``Match exec`` commands run as when ssh connects, unless ``run_match_exec`` is False:
    then those blocks are left out (an import never runs commands).
    """
    parser = _ForwardingClientConfig if run_match_exec else _ImportClientConfig
    return cast(
        SSHClientConfig,
        _guarded(
            lambda: parser.load(None, [path], False, False, False, _local_user(), (), alias, ()),
            path,
        ),
    )


def _guarded[T](action: Callable[[], T], path: Path) -> T:
    """Run a parse, turning asyncssh's and the OS's errors into one-line ConfigErrors."""
    try:
        return action()
    except FileNotFoundError as error:
        if Path(str(error.filename)) == path:
            raise _parse_errors(path) from None
        raise ConfigError(f"{error.filename}: {error.strerror}") from None
    except (ConfigParseError, IllegalUserName) as error:
        raise ConfigError(f"cannot import {path}: {error}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {error.filename or path}: {error.strerror}") from None


def _skip_reason(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return "negated pattern: it only excludes hosts from a block"
    if WILDCARD_CHARS & set(pattern):
        return "wildcard pattern: its settings apply to the hosts it matches"
    return None


def _str_option(config: SSHClientConfig, option: str) -> str | None:
    value = config.get(option)
    return value if isinstance(value, str) else None


def _list_option(config: SSHClientConfig, option: str) -> list[str]:
    value = config.get(option)
    return [str(item) for item in value] if isinstance(value, list) else []


def _keepalive(config: SSHClientConfig) -> KeepaliveSettings:
    defaults = KeepaliveSettings()
    interval = config.get("ServerAliveInterval")
    count = config.get("ServerAliveCountMax")
    return KeepaliveSettings(
        interval=float(interval) if isinstance(interval, int) else defaults.interval,
        count_max=count if isinstance(count, int) else defaults.count_max,
    )


def _known_hosts(config: SSHClientConfig, notes: list[str]) -> tuple[str, ...]:
    files = _list_option(config, "UserKnownHostsFile")
    if NULL_DEVICE in files:
        notes.append(f"UserKnownHostsFile {NULL_DEVICE} ignored: termkeep always checks host keys")
        files = [name for name in files if name != NULL_DEVICE]
    return tuple(files)


def _strict_host_key_checking(config: SSHClientConfig, notes: list[str]) -> str | None:
    value = _str_option(config, "StrictHostKeyChecking")
    if value is None:
        return None
    try:
        return str(StrictHostKeyChecking.parse(value))
    except ValueError as error:
        notes.append(f"{error}: left unset (ask)")
        return None


def _jump(config: SSHClientConfig, notes: list[str]) -> str | None:
    jump = _str_option(config, "ProxyJump")
    if jump and "," in jump:
        *earlier, last = jump.split(",")
        notes.append(
            f"ProxyJump {jump} has several hops; termkeep follows one: saved jump {last!r}, "
            f"which needs its own jump {earlier[-1]!r}"
        )
        return last
    return jump


def _forwards(config: SSHClientConfig, notes: list[str]) -> tuple[Forward, ...]:
    """LocalForward, RemoteForward and DynamicForward, in file order per kind; an entry that
    cannot be read or repeats a listener is left out with a note."""
    if config.get("ClearAllForwardings") is True:
        return ()
    entries = (
        (option, functools.partial(parse_ssh_forward, kind, spec))
        for kind, option in FORWARD_OPTIONS.items()
        for spec in _list_option(config, option)
    )
    return gather_forwards(entries, notes)


AGENT_FORWARDING_NOTE = (
    "agent forwarding is on, as in ssh_config (ForwardAgent {value}): while connected, the "
    "server's root can use the keys in your agent; set agent_forwarding = false in the "
    "profile if you do not trust the host that much"
)


def _agent_forwarding(config: SSHClientConfig, notes: list[str]) -> tuple[bool | None, str | None]:
    """ForwardAgent as the profile's (agent_forwarding, agent_forwarding_socket): yes/no,
    or the socket to forward (OpenSSH 8.2+; a ``$VAR`` is kept and read at connect time)."""
    value = config.get("ForwardAgent")
    if value is None or isinstance(value, bool):
        if value:
            notes.append(AGENT_FORWARDING_NOTE.format(value="yes"))
        return value, None
    socket = str(value)
    problem = agent_socket_problem(socket)
    if problem is not None:
        notes.append(f"ForwardAgent {socket} left out: it {problem}; the agent is not forwarded")
        return None, None
    notes.append(AGENT_FORWARDING_NOTE.format(value=socket))
    return True, socket


def config_to_profile(name: str, alias: str, config: SSHClientConfig, notes: list[str]) -> Profile:
    """Map an alias's resolved settings to a Profile; unset options keep termkeep defaults."""
    port = config.get("Port")
    tcp_keepalive = config.get("TCPKeepAlive")
    # A ProxyCommand is run from ssh_config at each connect, as for ssh: the profile keeps
    # the alias as its host and uses ssh_config. Dropped, it would connect directly.
    proxied = _str_option(config, "ProxyCommand") is not None
    if proxied:
        notes.append("ProxyCommand: saved with use_ssh_config = true, so ssh_config's runs")
    agent_forwarding, agent_socket = _agent_forwarding(config, notes)
    return Profile(
        name=name,
        host=alias if proxied else _str_option(config, "Hostname") or alias,
        use_ssh_config=proxied,
        port=port if isinstance(port, int) else OPENSSH_DEFAULT_PORT,
        user=_str_option(config, "User"),
        identity_files=tuple(_list_option(config, "IdentityFile")),
        user_known_hosts_files=_known_hosts(config, notes),
        global_known_hosts_files=tuple(_list_option(config, "GlobalKnownHostsFile")),
        strict_host_key_checking=_strict_host_key_checking(config, notes),
        host_key_alias=_str_option(config, "HostKeyAlias"),
        jump=_jump(config, notes),
        agent_forwarding=agent_forwarding,
        agent_forwarding_socket=agent_socket,
        forwards=_forwards(config, notes),
        keepalive=_keepalive(config),
        tcp=TcpSettings(keepalive=tcp_keepalive if isinstance(tcp_keepalive, bool) else True),
    )


def read_ssh_config(path: Path | None = None) -> ImportPlan:
    """Read the concrete Host aliases of an ssh_config file into an ImportPlan.

    Raises ConfigError if the file is missing or asyncssh cannot parse it (the message names
    the file and line).
    """
    path = (path or DEFAULT_SSH_CONFIG).expanduser()
    plan = ImportPlan(str(path))
    collector = _collect(path)
    patterns = list(dict.fromkeys(collector.patterns))
    names = NameAllocator(pattern for pattern in patterns if not _skip_reason(pattern))
    for pattern in patterns:
        reason = _skip_reason(pattern)
        if reason:
            plan.skipped.append(SkippedEntry(pattern, reason))
            continue
        name, notes = names.allocate(pattern)
        config = resolve_host(path, pattern, run_match_exec=False)
        profile = config_to_profile(name, pattern, config, notes)
        problem = profile_problem(profile)
        if problem:
            names.release(name)
            plan.skipped.append(SkippedEntry(pattern, problem))
            continue
        plan.entries.append(ImportedEntry(pattern, profile, tuple(notes)))
    for (file, line), match in collector.left_out.items():
        plan.skipped.append(SkippedEntry(match, f"{file} line {line}: {MATCH_EXEC_LEFT_OUT}"))
    return plan
