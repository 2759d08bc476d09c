"""One SSH connection from a Profile, attached to the tab's tmux session: the real ``Link``.

Connecting is: resolve the target (and ``~/.ssh/config`` when the profile says so), open each
jump host hop by hop (hops.py), open the TCP socket ourselves with the profile's kernel
options, run the SSH handshake under the host key policy, authenticate through the
``Prompter`` (auth.py), then open the PTY channel and attach the way the caller's
``AttachStrategy`` says (``tmux.attach.PlainAttach``: one command that reports whether tmux
and the session exist, then attaches); link.py holds the result. The connect timeout bounds
the network part only: time spent in a prompt does not count (asyncssh's own timeout would).
Round trips asyncssh would wait for needlessly are skipped (pipelining.py): on a slow link
each one shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from termkeep.config.profile import Profile
from termkeep.platform.tcp import apply_tcp_options, open_tcp
from termkeep.transport import pipelining
from termkeep.transport.admission import holding, startup_gate
from termkeep.transport.classify import connect_failed, lookup_failed
from termkeep.transport.hostkeys import HostKeyCheck, HostKeyPolicy
from termkeep.transport.link import (
    AgentState,
    AttachStrategy,
    Cause,
    ConnectFailedError,
    DataSink,
    OpenTerminal,
    ReachedSink,
    SideChannels,
    TerminalChannel,
)
from termkeep.transport.prompts import Prompter
from termkeep.transport.ssh.agent import NO_AGENT, AgentChoice, agent_choice
from termkeep.transport.ssh.auth import (
    AttemptProgress,
    AuthClient,
    ConnectClock,
    RememberedSecrets,
    identity_files,
    local_port,
)
from termkeep.transport.ssh.hops import (
    Hop,
    ProfileLookup,
    Target,
    close_hops,
    config_arg,
    destination_args,
    jump_chain,
    jump_hops,
    resolve_target,
)
from termkeep.transport.ssh.link import ConnectionLink, PtyChannel, SshLink

_log = logging.getLogger(__name__)

LOCALE_VARIABLES = ("LANG", "LC_*")

FAST_CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com")
"""With AES-NI, AES-GCM costs less per packet than chacha20-poly1305 (asyncssh's first
choice), and a PTY stream is many small packets."""


def preferred_ciphers() -> list[str]:
    """asyncssh's default ciphers with AES-GCM moved to the front."""
    defaults = get_default_encryption_algs()
    first = [alg for alg in FAST_CIPHERS if alg in defaults]
    return [alg.decode() for alg in first + [alg for alg in defaults if alg not in first]]


class HostKeyUnresolvedError(Exception):
    """asyncssh refused the server's key; ``check`` holds what the policy needs to decide,
    ``reason`` asyncssh's words (for a certificate it refused itself)."""

    def __init__(self, check: HostKeyCheck, reason: str = "") -> None:
        super().__init__(f"host key of {check.name} not trusted")
        self.check = check
        self.reason = reason


def _peer_address(sock: socket.socket | None) -> str:
    if sock is None:
        return ""
    address: str = sock.getpeername()[0]
    return address


def _agent_state(choice: AgentChoice, conn: asyncssh.SSHClientConnection) -> AgentState:
    """What the attach must know of the agent: asyncssh forwards it only when it found a
    socket (``$SSH_AUTH_SOCK`` may be unset, a ``$VAR`` empty)."""
    if not choice.wanted:
        return AgentState.OFF
    return AgentState.FORWARDED if pipelining.forwards_agent(conn) else AgentState.MISSING


class SshConnector:
    """Makes fresh connections for one profile; the supervisor calls it for every attach.

    Host key decisions (a key accepted once, a key that changed) are kept across calls, so
    a reconnect never asks again and never goes to a host whose key changed.
    """

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        lookup_profile: ProfileLookup | None = None,
        policy: HostKeyPolicy | None = None,
        ssh_config: Sequence[Path] | None = None,
        session: bool = True,
        attach: AttachStrategy | None = None,
    ) -> None:
        self.profile = profile
        self._prompter = prompter
        self._lookup = lookup_profile
        self._ssh_config = ssh_config
        # One policy for every hop and every reconnect: a key accepted once stays accepted,
        # a name whose key changed is never contacted again.
        self.policy = policy or HostKeyPolicy(prompter)
        self._told_unavailable = False
        self._secrets = RememberedSecrets()
        self.session = session
        """Attach a PTY session (tmux or a shell); False makes bare ``ConnectionLink``s."""
        self.attach = attach
        """How a session attaches (the caller's choice: ``tmux.attach.PlainAttach`` for the
        profile's tmux session); None opens a plain login shell."""
        # Fail early on a bad jump setting: a clear error instead of a failed connect.
        jump_chain(profile, lookup_profile)

    async def __call__(
        self, on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None
    ) -> SshLink | ConnectionLink:
        """Connect, attach and return the link; raises ``ConnectFailedError``. ``reached``
        is called when the first hop's server answered the TCP handshake."""
        hops: list[Hop] = []
        progress = AttemptProgress()
        try:
            identity_files(self.profile)  # a missing key file fails before any network use
            hops, agent = await self._open_hops(reached, progress, agent=self.session)
            if not self.session:
                return ConnectionLink(hops, self._client_of(hops[-1].conn).lost)
            return await self._attach(hops, on_data, size, agent)
        except BaseException as exc:
            for hop in reversed(hops):
                hop.conn.abort()
            if isinstance(exc, Exception):
                raise connect_failed(exc, progress.stage) from exc
            raise

    @contextlib.asynccontextmanager
    async def command_link(self) -> AsyncIterator[SideChannels]:
        """A fresh connection to the target for running commands (no PTY, no tmux attach),
        opened exactly like an attach's: jump hosts, host key policy, auth and prompts.
        Closed, with its hops, on exit. Raises ``ConnectFailedError``."""
        try:
            identity_files(self.profile)
            hops, _ = await self._open_hops()  # aborts its own hops when it fails
        except Exception as exc:
            raise connect_failed(exc) from exc
        try:
            yield ConnectionLink(hops, self._client_of(hops[-1].conn).lost)
        finally:
            close_hops(hops)

    @staticmethod
    def _client_of(conn: asyncssh.SSHClientConnection) -> AuthClient:
        return cast(AuthClient, conn.get_owner())

    async def _open_hops(
        self,
        reached: ReachedSink | None = None,
        progress: AttemptProgress | None = None,
        *,
        agent: bool = False,
    ) -> tuple[list[Hop], AgentChoice]:
        """The chain of connections to the target; ``agent``: forward the agent to the
        target when the profile says so (only a tab's attach does; jump hosts never get it).
        Also returns what was decided about the agent."""
        progress = progress or AttemptProgress()
        target = await resolve_target(self.profile, self._ssh_config)
        chain = await jump_hops(self.profile, target, self._lookup, self._ssh_config)
        choice = agent_choice(self.profile, target) if agent else NO_AGENT
        hops: list[Hop] = []
        try:
            for jump_profile, jump_target in chain:
                hops.append(
                    await self._open_hop(jump_profile, jump_target, hops, progress, reached)
                )
            hops.append(
                await self._open_hop(
                    self.profile, target, hops, progress, reached, forward_agent=choice.forward
                )
            )
        except BaseException:
            for hop in reversed(hops):
                hop.conn.abort()
            raise
        return hops, choice

    async def _open_hop(
        self,
        profile: Profile,
        target: Target,
        before: list[Hop],
        progress: AttemptProgress,
        reached: ReachedSink | None = None,
        *,
        forward_agent: bool | str = False,
    ) -> Hop:
        """One SSH connection, retried once after the user accepts an unknown host key;
        ``forward_agent`` is asyncssh's ``agent_forwarding`` (``AgentChoice.forward``)."""
        clock = ConnectClock(profile.reconnect.connect_timeout)
        tunnel = before[-1].conn if before else None
        # Only the first hop's handshake says the network is back.
        reached = None if before else reached
        attempt = functools.partial(
            self._attempt,
            profile,
            target,
            clock,
            tunnel,
            progress=progress,
            reached=reached,
            forward_agent=forward_agent,
        )
        try:
            try:
                return await attempt()
            except HostKeyUnresolvedError as unresolved:
                async with clock.paused():
                    await self.policy.resolve(unresolved.check, unresolved.reason)
            return await attempt()
        except HostKeyUnresolvedError as still:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN, f"{target.host} presented a key that is not trusted"
            ) from still
        except TimeoutError:
            raise ConnectFailedError(
                Cause.TIMEOUT, f"no answer from {target.host} within {clock.budget:g} s"
            ) from None

    async def _attempt(
        self,
        profile: Profile,
        target: Target,
        clock: ConnectClock,
        tunnel: asyncssh.SSHClientConnection | None,
        *,
        progress: AttemptProgress,
        reached: ReachedSink | None = None,
        forward_agent: bool | str = False,
    ) -> Hop:
        self.policy.refuse_if_changed(target.host_keys.lookup_name(target.host, target.port))
        with holding(await startup_gate(target.host, target.port).enter()) as admission:
            progress.next_hop(admission)
            return await self._attempt_admitted(
                profile,
                target,
                clock,
                tunnel,
                progress=progress,
                reached=reached,
                forward_agent=forward_agent,
            )

    async def _attempt_admitted(
        self,
        profile: Profile,
        target: Target,
        clock: ConnectClock,
        tunnel: asyncssh.SSHClientConnection | None,
        *,
        progress: AttemptProgress,
        reached: ReachedSink | None = None,
        forward_agent: bool | str = False,
    ) -> Hop:
        policy = self.policy
        sock = None
        if tunnel is None and target.proxy_command is None:
            sock = await self._open_socket(profile, target, clock, progress)
        if reached is not None:
            # With a ProxyCommand there is no SYN of ours to wait on: reached at once.
            reached()
        try:
            check = policy.check(target.host_keys, target.host, target.port, _peer_address(sock))
            connecting = self._ssh_connect(
                profile=profile,
                target=target,
                check=check,
                clock=clock,
                sock=sock,
                tunnel=tunnel,
                progress=progress,
                forward_agent=forward_agent,
            )
            try:
                conn = await clock.run(connecting)
            except asyncssh.HostKeyNotVerifiable as refused:
                raise HostKeyUnresolvedError(check, refused.reason) from None
        except BaseException:
            if sock is not None:
                sock.close()  # asyncssh closes it too once it owns it; closing twice is fine
            raise
        if sock is not None:
            # asyncssh forces TCP_NODELAY on; the profile may say otherwise.
            apply_tcp_options(sock, profile.tcp)
        if check.warnings:
            async with clock.paused():
                await policy.report(check)
        return Hop(conn, sock)

    @staticmethod
    async def _open_socket(
        profile: Profile, target: Target, clock: ConnectClock, progress: AttemptProgress
    ) -> socket.socket:
        admission = progress.admission
        if admission is not None:
            admission.release_unless_connected()
        try:
            sock = await clock.run(open_tcp(target.host, target.port, profile.tcp))
        except socket.gaierror as exc:
            raise lookup_failed(target.host, exc) from exc
        if admission is not None:
            admission.connected()
        progress.tcp_connected = True
        return sock

    async def _ssh_connect(
        self,
        *,
        profile: Profile,
        target: Target,
        check: HostKeyCheck,
        clock: ConnectClock,
        sock: socket.socket | None,
        tunnel: asyncssh.SSHClientConnection | None,
        progress: AttemptProgress,
        forward_agent: bool | str,
    ) -> asyncssh.SSHClientConnection:
        key_files, encrypted = identity_files(profile)
        login = f"{target.user or ''}@{target.host}".lstrip("@")
        client = AuthClient(
            check=check,
            prompter=self._prompter,
            clock=clock,
            login=login,
            encrypted_keys=encrypted,
            secrets=self._secrets,
            progress=progress,
        )
        options: dict[str, object] = {
            "config": config_arg(profile, self._ssh_config),
            "sock": sock,
            "tunnel": tunnel,
            # None (not "unset") keeps asyncssh from running ssh_config's command its own way.
            "proxy_command": target.proxy_command if sock is None and tunnel is None else None,
            "client_factory": lambda: client,
            "known_hosts": check.known_hosts,
            "host_key_alias": target.host_keys.alias,
            "server_host_key_algs": () if target.host_key_algs_from_config else check.host_key_algs,
            "client_keys": key_files or (),
            "ignore_encrypted": True,
            # Decided from the profile and ssh_config before (agent.py): ssh_config's own
            # ForwardAgent must not apply again to a hop the agent is not meant for.
            "agent_forwarding": forward_agent,
            "keepalive_interval": profile.keepalive.interval,
            "keepalive_count_max": profile.keepalive.count_max,
            "tcp_keepalive": profile.tcp.keepalive,
            "connect_timeout": None,
            "encoding": None,
            "encryption_algs": preferred_ciphers(),
            # Like OpenSSH on Debian (SendEnv LANG LC_*): the remote programs get our locale.
            "send_env": list(LOCALE_VARIABLES),
        }
        # The socket (or tunnel) already reaches ``target``; the profile's own names go to
        # asyncssh so its ssh_config lookup matches the same Host block as ours did.
        return await asyncssh.connect(**destination_args(profile), **options)

    async def _attach(
        self, hops: list[Hop], on_data: DataSink, size: tuple[int, int], agent: AgentChoice
    ) -> SshLink:
        conn = hops[-1].conn
        timeout = self.profile.reconnect.connect_timeout
        open_terminal = self._terminal_opener(conn, size)
        strategy = self.attach
        if strategy is not None:
            agent_state = _agent_state(agent, conn)
            attachment = await asyncio.wait_for(
                strategy.attach(open_terminal, on_data, agent=agent_state), timeout
            )
            _log.debug("trace: attached port=%s report=%s", local_port(conn), attachment.report)
            if attachment.channel is not None:
                return SshLink(
                    hops,
                    attachment.channel,
                    attach=strategy,
                    reattached_existing=attachment.existed,
                )
            await self._tell_unavailable(strategy)
        channel = await asyncio.wait_for(open_terminal(None, on_data), timeout)
        return SshLink(hops, channel, attach=None, reattached_existing=False)

    def _terminal_opener(
        self, conn: asyncssh.SSHClientConnection, size: tuple[int, int]
    ) -> OpenTerminal:
        async def open_terminal(command: str | None, sink: DataSink) -> TerminalChannel:
            return await self._open_pty(conn, command, sink, size)

        return open_terminal

    async def _open_pty(
        self,
        conn: asyncssh.SSHClientConnection,
        command: str | None,
        sink: DataSink,
        size: tuple[int, int],
    ) -> PtyChannel:
        channel = PtyChannel(sink)
        _log.debug("trace: opening the session channel")
        chan, _ = await pipelining.open_pty_session(
            conn,
            lambda: channel,
            command,
            term_type=self.profile.term,
            term_size=size,
            send_env=list(LOCALE_VARIABLES),
            # A missing local DISPLAY or a server refusing X11 must not cost the session.
            x11_forwarding="ignore_failure" if self.profile.x11_forwarding else False,
        )
        channel.bind(chan)
        _log.debug("trace: session channel open, command running")
        return channel

    async def _tell_unavailable(self, strategy: AttachStrategy) -> None:
        if not self._told_unavailable:
            self._told_unavailable = True
            await self._prompter.notice(strategy.unavailable_notice(self.profile.host))
