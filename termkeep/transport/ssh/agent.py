"""Whether a connection forwards the local SSH agent, and which one.

The profile decides (``agent_forwarding``, ``agent_forwarding_socket``); while it leaves the
switch unset, ssh_config's ForwardAgent does, for a profile that uses ssh_config: ``yes``,
``no``, or the socket to forward (OpenSSH 8.2+). Only the target gets the agent, never a jump
host: a jump host could otherwise open agent channels it was never offered (asyncssh accepts
them whenever a socket is set).
"""

from __future__ import annotations

from dataclasses import dataclass

from termkeep.config.agent import AgentSocketError, resolve_agent_socket
from termkeep.config.profile import Profile
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.ssh.hops import Target


@dataclass(frozen=True, slots=True)
class AgentChoice:
    """What one connection does with the agent."""

    wanted: bool
    """The profile (or ssh_config) forwards the agent."""

    forward: bool | str
    """asyncssh's ``agent_forwarding``: False, True (the agent termkeep logs in with:
    ssh_config's IdentityAgent, else ``$SSH_AUTH_SOCK``) or a socket path."""


NO_AGENT = AgentChoice(wanted=False, forward=False)


def agent_choice(profile: Profile, target: Target) -> AgentChoice:
    """Whether and what ``profile`` forwards to ``target`` now. A ``$VAR`` naming an unset
    variable forwards nothing (as in ssh); an unset ``${VAR}`` in a path is a
    ``ConnectFailedError`` naming it (ssh refuses to connect too)."""
    setting: bool | str | None = profile.agent_forwarding
    if setting is None and profile.use_ssh_config:
        setting = target.forward_agent
    if not setting:
        return NO_AGENT
    if profile.agent_forwarding is True and profile.agent_forwarding_socket is not None:
        spec: str | None = profile.agent_forwarding_socket
    else:
        spec = setting if isinstance(setting, str) else None
    if spec is None:
        return AgentChoice(wanted=True, forward=True)
    try:
        path = resolve_agent_socket(spec)
    except AgentSocketError as error:
        raise ConnectFailedError(
            Cause.CONFIG, f"{error}: set it, or change the profile's agent_forwarding_socket"
        ) from None
    return AgentChoice(wanted=True, forward=path or False)
