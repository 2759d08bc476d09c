"""The ssh_config options that termkeep applies itself rather than leaving to asyncssh.

asyncssh applies most of ``~/.ssh/config`` when it connects, but it ignores
StrictHostKeyChecking, CheckHostIP and ProxyUseFdpass, runs a ProxyCommand without a shell,
and lets ProxyJump win over ProxyCommand wherever each is written. OpenSSH takes whichever of
ProxyCommand and ProxyJump comes first and runs the command with ``$SHELL -c "exec …"``.
So the host's block is read once more here, with the same parser and the same Match and
token rules, and these options are taken from that reading.

A setting termkeep cannot honour is refused with one line naming it: a proxy setting that is
dropped would connect directly, which is exactly what the user's config forbids.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from asyncssh.config import ConfigParseError, SSHClientConfig, SSHConfig
from asyncssh.misc import IllegalUserName

from termkeep.transport.hostkeys import StrictHostKeyChecking
from termkeep.transport.link import Cause, ConnectFailedError

DEFAULT_SSH_CONFIG = Path("~", ".ssh", "config")
SYSTEM_SSH_CONFIG = Path("/etc/ssh/ssh_config")
DEFAULT_SHELL = "/bin/sh"

_PROXY_OPTIONS = ("ProxyCommand", "ProxyJump")


def _set_proxy(config: SSHConfig, option: str, args: list[str]) -> None:
    """ProxyCommand and ProxyJump: the first of the two to appear wins, as in OpenSSH
    (asyncssh would let ProxyJump win wherever it is written)."""
    value = args.pop(0) if option == "ProxyCommand" else " ".join(args)
    args.clear()
    options = config._options  # the parser's own option store
    if not any(name in options for name in _PROXY_OPTIONS):
        options[option] = None if value.strip().lower() == "none" else value


def _set_word(config: SSHConfig, option: str, args: list[str]) -> None:
    value = args.pop(0)
    config._options.setdefault(option, value)


def _set_command(config: SSHConfig, option: str, args: list[str]) -> None:
    value = " ".join(args)
    args.clear()
    config._options.setdefault(option, value)


_Handler = Callable[..., None]


class _TermkeepClientConfig(SSHClientConfig):
    """asyncssh's client config parser, plus the options termkeep acts on itself."""

    _percent_expand = {  # noqa: RUF012 - asyncssh declares it as a plain class attribute
        *SSHClientConfig._percent_expand,
        "UserKnownHostsFile",
        "GlobalKnownHostsFile",
        "RevokedHostKeys",
    }
    _handlers: dict[str, tuple[str, _Handler]] = {  # noqa: RUF012 - asyncssh's own shape
        **SSHClientConfig._handlers,
        **{
            option.lower(): (option, handler)
            for option, handler in (
                ("ProxyCommand", _set_proxy),
                ("ProxyJump", _set_proxy),
                ("StrictHostKeyChecking", _set_word),
                ("CheckHostIP", SSHConfig._set_bool),
                ("ProxyUseFdpass", SSHConfig._set_bool),
                ("HashKnownHosts", SSHConfig._set_bool),
                ("RevokedHostKeys", SSHConfig._set_string_list),
                ("KnownHostsCommand", _set_command),
            )
        },
    }


@dataclass(frozen=True, slots=True)
class SshOptions:
    """What ssh_config says for one host, of the options termkeep applies itself."""

    proxy_command: str | None = None
    """The command (tokens expanded) whose stdin/stdout carry the connection."""
    proxy_jump: str | None = None
    strict_host_key_checking: StrictHostKeyChecking | None = None
    check_host_ip: bool | None = None
    user_known_hosts: tuple[str, ...] | None = None
    """None: not set; empty: ``none`` (no user files)."""
    global_known_hosts: tuple[str, ...] | None = None
    host_key_alias: str | None = None
    host_key_algorithms: bool = False
    """HostKeyAlgorithms is set: asyncssh applies it, termkeep does not reorder."""
    hash_known_hosts: bool | None = None
    revoked_host_keys: tuple[str, ...] = ()
    forward_agent: bool | str | None = None
    """ForwardAgent: yes/no, or the agent socket to forward (a path with ``%`` tokens and
    ``${VAR}`` already expanded, or ``$VAR``)."""

    def proxy_argv(self) -> list[str] | None:
        """The ProxyCommand as ssh runs it: through the user's shell, ``exec``-ed."""
        if self.proxy_command is None:
            return None
        shell = os.environ.get("SHELL") or DEFAULT_SHELL
        return [shell, "-c", f"exec {self.proxy_command}"]


def config_paths(ssh_config: Sequence[Path] | None) -> list[Path]:
    """The files ssh reads, in its order (the first value of an option wins): the ones
    given, else ``~/.ssh/config`` and then the system-wide ``/etc/ssh/ssh_config``, each
    when readable. (asyncssh alone would read only the first: a proxy set for everyone in
    the system file would be dropped.)"""
    if ssh_config is not None:
        return list(ssh_config)
    defaults = (DEFAULT_SSH_CONFIG.expanduser(), SYSTEM_SSH_CONFIG)
    return [path for path in defaults if os.access(path, os.R_OK)]


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def read_ssh_options(
    paths: Sequence[Path], host: str, user: str | None, port: int | None
) -> SshOptions:
    """The options for ``host`` as ssh would resolve them (``user``/``port`` as given on
    the command line or in the profile, None when not). ConnectFailedError with one line
    when the file cannot be read or names a setting termkeep cannot honour."""
    try:
        config = _TermkeepClientConfig.load(
            None, list(paths), False, False, False, _local_user(), user or (), host, port or ()
        )
    except (ConfigParseError, IllegalUserName, OSError, UnicodeDecodeError) as error:
        raise ConnectFailedError(
            Cause.CONFIG, f"cannot use ssh_config for {host}: {error}"
        ) from None
    return _options_of(config, host)


def _options_of(config: SSHConfig, host: str) -> SshOptions:
    if config.get("ProxyUseFdpass") is True:
        raise _cannot_honour(host, "ProxyUseFdpass yes")
    command = cast(str | None, config.get("KnownHostsCommand"))
    if command is not None and command.lower() != "none":
        # It lists keys ssh would compare with: without them a changed key looks unknown.
        raise _cannot_honour(host, "KnownHostsCommand")
    proxy_command = cast(str | None, config.get("ProxyCommand"))
    if proxy_command is not None and proxy_command.strip() == "-":
        raise _cannot_honour(host, "ProxyCommand -")
    strict = cast(str | None, config.get("StrictHostKeyChecking"))
    try:
        strict_mode = StrictHostKeyChecking.parse(strict) if strict is not None else None
    except ValueError as error:
        raise ConnectFailedError(Cause.CONFIG, f"ssh_config for {host}: {error}") from None
    return SshOptions(
        proxy_command=proxy_command,
        proxy_jump=cast(str | None, config.get("ProxyJump")),
        strict_host_key_checking=strict_mode,
        check_host_ip=cast(bool | None, config.get("CheckHostIP")),
        user_known_hosts=_file_list(config, "UserKnownHostsFile"),
        global_known_hosts=_file_list(config, "GlobalKnownHostsFile"),
        host_key_alias=cast(str | None, config.get("HostKeyAlias")),
        host_key_algorithms=config.get("HostKeyAlgorithms") is not None,
        hash_known_hosts=cast(bool | None, config.get("HashKnownHosts")),
        revoked_host_keys=_file_list(config, "RevokedHostKeys") or (),
        forward_agent=cast(bool | str | None, config.get("ForwardAgent")),
    )


def _file_list(config: SSHConfig, option: str) -> tuple[str, ...] | None:
    value = config.get(option)
    if value is None:
        return None
    return tuple(str(item) for item in cast(list[object], value))


def _cannot_honour(host: str, setting: str) -> ConnectFailedError:
    return ConnectFailedError(
        Cause.CONFIG,
        f"ssh_config sets {setting} for {host}, which termkeep cannot honour; "
        "not connecting (a direct connection is what that setting rules out)",
    )
