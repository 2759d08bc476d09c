"""Open any host the way ssh does: a saved profile, else an ssh_config alias, else
``[user@]host[:port]``.

``termkeep alice@box``, ``termkeep attach root@10.0.0.5:2222`` and ``termkeep work`` (a
``Host work`` block in ``~/.ssh/config``) work without a saved profile. The precedence is
fixed and documented: a saved profile of that name first (the user made it on purpose), then
an ssh_config alias, then a literal host. A literal host gets termkeep's defaults (keepalive,
tmux, TCP) with whatever ssh_config says for it applied on top through asyncssh's parser, as
``ssh`` would; a user or port in the target wins over ssh_config, as on ssh's command line.

The profile made here is not saved (``tab.save_profile`` saves it); its name is the target
as typed, so a restored tab resolves it again the same way.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from termkeep.config.errors import ConfigError
from termkeep.config.profile import (
    InvalidProfileNameError,
    Profile,
    is_valid_profile_name,
    validate_profile_name,
)
from termkeep.config.store import ProfileStore
from termkeep.transport.link import ConnectFailedError
from termkeep.transport.ssh_config_import import (
    DEFAULT_SSH_CONFIG,
    OPENSSH_DEFAULT_PORT,
    WILDCARD_CHARS,
    config_to_profile,
    host_patterns,
    resolve_host,
)
from termkeep.transport.ssh_options import SYSTEM_SSH_CONFIG, config_paths, read_ssh_options

_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_.])?")
_USER_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,63}")
MAX_PORT = 65535


class TargetError(ConfigError):
    """A target that is neither a profile, an alias nor a usable ``[user@]host[:port]``."""


@dataclass(frozen=True, slots=True)
class HostTarget:
    """``[user@]host[:port]`` taken apart; ``user``/``port`` None when not given."""

    host: str
    user: str | None = None
    port: int | None = None


def parse_target(text: str) -> HostTarget:
    """Take ``[user@]host[:port]`` apart (IPv6 as ``[addr]:port`` or bare); TargetError with
    a one-line reason otherwise."""
    user, at, rest = text.rpartition("@")
    if at and not _USER_NAME.fullmatch(user):
        raise TargetError(f"{text!r}: {user!r} is not a user name")
    host, port = _split_port(text, rest)
    if not (_HOST_NAME.fullmatch(host) or _is_ipv6(host)):
        raise TargetError(
            f"{text!r} is not a saved profile, an ssh_config Host, or [user@]host[:port]"
        )
    return HostTarget(host, user or None, port)


def _split_port(text: str, rest: str) -> tuple[str, int | None]:
    if rest.startswith("["):  # [v6addr] or [v6addr]:port
        address, bracket, after = rest[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise TargetError(f"{text!r}: write an IPv6 address as [address]:port")
        return address, _port(text, after[1:]) if after else None
    if rest.count(":") == 1:
        host, _, port = rest.partition(":")
        return host, _port(text, port)
    return rest, None  # a bare IPv6 address has several colons and no port


def _port(text: str, port: str) -> int:
    if not port.isdigit() or not 1 <= int(port) <= MAX_PORT:
        raise TargetError(f"{text!r}: the port must be a number from 1 to {MAX_PORT}")
    return int(port)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def resolve_target(store: ProfileStore, text: str, ssh_config: Path | None = None) -> Profile:
    """The profile to connect to for ``text``: saved profile, ssh_config alias, literal
    host, in that order. Raises ConfigError (one line) when it is none of them."""
    if is_valid_profile_name(text) and store.exists(text):
        return store.load(text)
    config_path = (ssh_config or DEFAULT_SSH_CONFIG).expanduser()
    has_config = config_path.is_file()
    if has_config and not WILDCARD_CHARS & set(text) and text in host_patterns(config_path):
        return _through_ssh_config(text, text, config_path)
    target = parse_target(text)
    _check_name(text)
    if has_config:
        profile = _through_ssh_config(text, target.host, config_path)
        if target.port == OPENSSH_DEFAULT_PORT != profile.port:
            # Port 22 in a profile that uses ssh_config means "ssh_config's port".
            raise TargetError(
                f"{text!r}: ssh_config sets Port {profile.port} for {target.host}, and termkeep "
                "cannot override it with port 22; save a profile with 'termkeep hosts add'"
            )
    else:
        profile = Profile(
            name=text,
            host=target.host,
            port=OPENSSH_DEFAULT_PORT,
            use_ssh_config=_system_config_applies(target),
        )
    return dataclasses.replace(
        profile,
        user=target.user or profile.user,
        port=target.port or profile.port,
    )


def _through_ssh_config(name: str, host: str, config_path: Path) -> Profile:
    """A profile that connects exactly as a saved one with ``use_ssh_config`` does: the
    host stays as typed, so ssh_config's blocks (ProxyCommand, ProxyJump, HostKeyAlias,
    UserKnownHostsFile, StrictHostKeyChecking...) are looked up for it at every connect.
    termkeep's own settings (keepalive, TCP, forwards, key files that may need a passphrase)
    are taken from the block now."""
    mapped = config_to_profile(name, host, resolve_host(config_path, host), [])
    # What ssh_config says about jumps, host keys and the agent is read again at connect time.
    return dataclasses.replace(
        mapped,
        host=host,
        use_ssh_config=True,
        jump=None,
        agent_forwarding=None,
        agent_forwarding_socket=None,
        user_known_hosts_files=(),
        global_known_hosts_files=(),
        strict_host_key_checking=None,
        host_key_alias=None,
    )


def _system_config_applies(target: HostTarget) -> bool:
    """Whether the system-wide ssh_config (read by ssh after ``~/.ssh/config``) sends this
    host through a ProxyCommand or ProxyJump, or forwards the agent to it: then it must go
    through ssh_config too."""
    paths = [path for path in config_paths(None) if path == SYSTEM_SSH_CONFIG]
    if not paths:
        return False
    try:
        options = read_ssh_options(paths, target.host, target.user, target.port)
    except ConnectFailedError as error:
        raise TargetError(error.detail) from None
    proxied = options.proxy_command is not None or options.proxy_jump is not None
    return proxied or bool(options.forward_agent)


def ssh_config_aliases(ssh_config: Path | None = None) -> list[str]:
    """The concrete Host aliases of the user's ssh_config (none when it is missing or does
    not parse: the picker then lists saved profiles only)."""
    path = (ssh_config or DEFAULT_SSH_CONFIG).expanduser()
    if not path.is_file():
        return []
    try:
        patterns = host_patterns(path)
    except ConfigError:
        return []
    return [pattern for pattern in patterns if not WILDCARD_CHARS & set(pattern)]


def _check_name(text: str) -> None:
    try:
        validate_profile_name(text)
    except InvalidProfileNameError as error:
        raise TargetError(str(error)) from None
