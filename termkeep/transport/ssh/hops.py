"""The hops of a connection: where each one goes after ``~/.ssh/config``, the jump hosts
in front of the target (a profile's ``jump``, ssh_config's ProxyJump and ProxyCommand), and
the host key settings each hop is judged by.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import asyncssh

from termkeep.config.profile import Profile
from termkeep.transport.hostkeys import (
    DEFAULT_GLOBAL_KNOWN_HOSTS,
    DEFAULT_SSH_PORT,
    DEFAULT_USER_KNOWN_HOSTS,
    HostKeySettings,
    StrictHostKeyChecking,
)
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.ssh_options import SshOptions, config_paths, read_ssh_options

MAX_JUMP_HOPS = 8

type ProfileLookup = Callable[[str], Profile | None]
"""Finds a saved profile by name (for ``jump = "other-profile"``); None if there is none."""


@dataclasses.dataclass(frozen=True, slots=True)
class Hop:
    """One SSH connection in the chain and the TCP socket under it (None when tunneled)."""

    conn: asyncssh.SSHClientConnection
    sock: socket.socket | None


def close_hops(hops: Sequence[Hop]) -> None:
    """Close a chain of connections, the target first, then each jump host."""
    for hop in reversed(hops):
        hop.conn.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where one hop connects, after ``~/.ssh/config`` (when used) is applied."""

    host: str
    port: int
    user: str | None
    jump: str | None
    host_keys: HostKeySettings
    proxy_command: list[str] | None = None
    """ssh_config's ProxyCommand as ssh runs it (through the shell); it carries the
    connection instead of a TCP connect of ours, so the profile's TCP options cannot apply."""
    host_key_algs_from_config: bool = False
    """ssh_config sets HostKeyAlgorithms: asyncssh applies it as written."""
    forward_agent: bool | str | None = None
    """ssh_config's ForwardAgent for this host (read only with ``use_ssh_config``)."""


def config_arg(profile: Profile, ssh_config: Sequence[Path] | None) -> Any:
    # An empty list turns asyncssh's ssh_config reading off.
    if not profile.use_ssh_config:
        return []
    return [str(path) for path in config_paths(ssh_config)]


def destination_args(profile: Profile) -> dict[str, Any]:
    """host/port/username as asyncssh gets them, so ssh_config's ``Host`` blocks match the
    profile's host as typed and fill in what the profile leaves unset."""
    if not profile.use_ssh_config:
        return {"host": profile.host, "port": profile.port, "username": profile.user or ()}
    return {
        "host": profile.host,
        # Port 22 is the profile default, so it lets ssh_config's Port apply.
        "port": profile.port if profile.port != DEFAULT_SSH_PORT else (),
        "username": profile.user or (),
    }


async def resolve_target(profile: Profile, ssh_config: Sequence[Path] | None) -> Target:
    if not profile.use_ssh_config:
        return Target(
            profile.host, profile.port, profile.user, profile.jump, host_key_settings(profile)
        )
    options = await asyncssh.SSHClientConnectionOptions.construct(
        config=config_arg(profile, ssh_config),
        **destination_args(profile),
        client_keys=None,
        known_hosts=None,
    )
    given = destination_args(profile)
    ours = read_ssh_options(
        config_paths(ssh_config), profile.host, profile.user, given["port"] or None
    )
    # The profile's own jump wins; else ssh_config's ProxyJump, unless a ProxyCommand came
    # first there (ssh takes whichever of the two is written first).
    jump = profile.jump or ours.proxy_jump
    return Target(
        options.host,
        options.port,
        options.username,
        jump,
        host_key_settings(profile, ours),
        None if jump else ours.proxy_argv(),
        ours.host_key_algorithms,
        ours.forward_agent,
    )


def _paths(names: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(name).expanduser() for name in names)


def host_key_settings(profile: Profile, ssh: SshOptions | None = None) -> HostKeySettings:
    """The profile's host key options; what it leaves unset comes from ssh_config (when it
    uses it), then from OpenSSH's defaults. The profile's own known_hosts file is read
    first and receives accepted keys."""
    ssh = ssh or SshOptions()
    if profile.user_known_hosts_files:
        user_files = _paths(profile.user_known_hosts_files)
    elif ssh.user_known_hosts is not None:
        user_files = _paths(ssh.user_known_hosts)
    else:
        user_files = _paths(DEFAULT_USER_KNOWN_HOSTS)
    own = _known_hosts_file(profile)
    if own is not None:
        user_files = (own, *(path for path in user_files if path != own))
    if profile.global_known_hosts_files:
        global_files = _paths(profile.global_known_hosts_files)
    elif ssh.global_known_hosts is not None:
        global_files = _paths(ssh.global_known_hosts)
    else:
        global_files = _paths(DEFAULT_GLOBAL_KNOWN_HOSTS)
    if profile.strict_host_key_checking is not None:
        strict = StrictHostKeyChecking.parse(profile.strict_host_key_checking)
    else:
        strict = ssh.strict_host_key_checking or StrictHostKeyChecking.ASK
    return HostKeySettings(
        user_files=user_files,
        global_files=global_files,
        strict=strict,
        alias=profile.host_key_alias or ssh.host_key_alias,
        check_host_ip=bool(ssh.check_host_ip),
        revoked_files=_paths(ssh.revoked_host_keys),
        # termkeep hashes unless ssh_config says not to (Debian's ssh_config says yes).
        hash_saved_hosts=ssh.hash_known_hosts is not False,
    )


def parse_jump_spec(spec: str) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` (one ProxyJump element) as (user, host, port)."""
    user, _, hostport = spec.rpartition("@")
    host, port = hostport, DEFAULT_SSH_PORT
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest.startswith(":"):
            port = _parse_port(rest[1:], spec)
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
        port = _parse_port(port_text, spec)
    if not host:
        raise ValueError(f"jump host {spec!r} has no host name: use [user@]host[:port]")
    return (user or None), host, port


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"jump host {spec!r} has a bad port: use [user@]host[:port]")
    return int(text)


def jump_chain(
    profile: Profile, lookup: ProfileLookup | None, jump: str | None = None
) -> list[Profile]:
    """The profiles to connect through, outermost first, for ``profile``'s jump setting.

    Each element is another profile's name or ``[user@]host[:port]`` (which then borrows
    the target's keys and known_hosts file). Raises ValueError for a loop or a bad spec.
    """
    chain: list[Profile] = []
    _collect_jumps(profile, lookup, jump or profile.jump, chain, on_path={profile.name})
    return chain


def _collect_jumps(
    profile: Profile,
    lookup: ProfileLookup | None,
    jump: str | None,
    chain: list[Profile],
    on_path: set[str],
) -> None:
    """Append the hops of ``jump`` (each preceded by its own jumps) to ``chain``."""
    for spec in (part.strip() for part in (jump or "").split(",")):
        if not spec:
            continue
        hop = _jump_profile(profile, spec, lookup)
        if hop.name in on_path or len(chain) >= MAX_JUMP_HOPS:
            raise ValueError(
                f"the jump hosts of {profile.name!r} loop or are more than {MAX_JUMP_HOPS}: "
                "fix the profile's jump setting"
            )
        _collect_jumps(hop, lookup, hop.jump, chain, on_path | {hop.name})
        chain.append(dataclasses.replace(hop, jump=None))


def _jump_profile(target: Profile, spec: str, lookup: ProfileLookup | None) -> Profile:
    saved = lookup(spec) if lookup is not None else None
    if saved is not None:
        return saved
    user, host, port = parse_jump_spec(spec)
    # The target's HostKeyAlias names the target's key, never the jump host's.
    return dataclasses.replace(
        target,
        name=f"{target.name} via {spec}",
        host=host,
        port=port,
        user=user,
        jump=None,
        host_key_alias=None,
    )


def _known_hosts_file(profile: Profile) -> Path | None:
    return Path(profile.known_hosts_file).expanduser() if profile.known_hosts_file else None


async def jump_hops(
    profile: Profile,
    target: Target,
    lookup: ProfileLookup | None,
    ssh_config: Sequence[Path] | None,
    *,
    depth: int = 0,
    root: str | None = None,
) -> list[tuple[Profile, Target]]:
    """The hosts to go through before ``target``, outermost first. As with ssh, the first
    of them is reached the way ssh_config says for it: its own ProxyCommand, or its own
    ProxyJump, followed in turn. ``root``: the name of the profile being connected (for the
    error), ``profile``'s own when not given."""
    root = root or profile.name
    hops = [
        (hop, await resolve_target(hop, ssh_config))
        for hop in jump_chain(profile, lookup, target.jump)
    ]
    if not hops or not hops[0][1].jump:
        return hops
    if depth >= MAX_JUMP_HOPS:
        raise ConnectFailedError(
            Cause.CONFIG,
            f"the ProxyJump hosts of {root!r} loop or are more than "
            f"{MAX_JUMP_HOPS} deep: fix ssh_config",
        )
    first, first_target = hops[0]
    deeper = await jump_hops(first, first_target, lookup, ssh_config, depth=depth + 1, root=root)
    return deeper + hops
