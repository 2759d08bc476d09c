"""The real transport against a real OpenSSH sshd on loopback and a real, private tmux."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, override

import pytest

from termkeep.config.profile import Profile, ReconnectSettings, TcpSettings, TmuxSettings
from termkeep.platform.tcp import RTO_MAX_MS, TCP_RTO_MAX_MS, TCP_THIN_LINEAR_TIMEOUTS
from termkeep.tmux.attach import PlainAttach
from termkeep.transport.link import Cause, ConnectFailedError, Ending, Link, SideChannelError
from termkeep.transport.prompts import HostKeyDecision, KbdIntPrompts, NoPrompter, Prompter
from termkeep.transport.ssh.connector import SshConnector
from termkeep.transport.ssh.link import SshLink
from tests.fixtures import sshd as sshd_module
from tests.fixtures.isolation import Isolation
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import bounded, wait_until, wait_until_async

WAIT = 15.0
SIZE = (80, 24)


class ScriptedPrompter(Prompter):
    """A user who answers every question the same way, and a record of what was asked."""

    def __init__(
        self,
        *,
        password: str | None = None,
        passphrase: str | None = None,
        host_key: HostKeyDecision = HostKeyDecision.REJECT,
    ) -> None:
        self.answer_password = password
        self.answer_passphrase = passphrase
        self.answer_host_key = host_key
        self.asked: list[str] = []
        self.messages: list[str] = []

    @override
    async def password(self, prompt: str) -> str | None:
        self.asked.append(f"password {prompt}")
        return self.answer_password

    @override
    async def passphrase(self, key_path: str) -> str | None:
        self.asked.append(f"passphrase {key_path}")
        return self.answer_passphrase

    @override
    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        self.asked.append(f"kbdint {[text for text, _ in prompts]}")
        if self.answer_password is None:
            return None
        return [self.answer_password for _ in prompts]

    @override
    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        self.asked.append(f"host key {host}:{port} {key_type} {fingerprint}")
        return self.answer_host_key

    @override
    async def changed_host_key(self, warning: str) -> None:
        self.messages.append(warning)

    @override
    async def notice(self, text: str) -> None:
        self.messages.append(text)


class Screen:
    """Collects the bytes a link delivers."""

    def __init__(self) -> None:
        self.data = bytearray()

    def __call__(self, chunk: bytes) -> None:
        self.data.extend(chunk)

    def text(self) -> str:
        return self.data.decode(errors="replace")


def with_session_env(config: str, **env: str) -> str:
    """sshd honours only the first SetEnv line, so extra variables join the fixture's line."""
    extra = " ".join(f"{name}={value}" for name, value in env.items())
    lines = [
        f"{line} {extra}" if line.startswith("SetEnv ") else line for line in config.splitlines()
    ]
    return "\n".join(lines) + "\n"


def connector_for(profile: Profile, prompter: Prompter, **options: Any) -> SshConnector:
    """The connector a tab uses: it attaches the profile's tmux session (a login shell when
    the profile turns tmux off)."""
    return SshConnector(profile, prompter, attach=PlainAttach.for_profile(profile), **options)


async def attach(
    profile: Profile, prompter: Prompter | None = None, screen: Screen | None = None
) -> tuple[SshLink, Screen]:
    screen = screen or Screen()
    connector = connector_for(profile, prompter or NoPrompter())
    link = await bounded(connector(screen, SIZE), timeout=WAIT, what="connect")
    assert isinstance(link, SshLink)
    return link, screen


async def type_and_see(link: Link, screen: Screen, command: str, expected: str) -> None:
    """Type a command whose output differs from its own text (the PTY echoes what is typed
    before the shell even runs), then wait for that output."""
    assert expected not in command
    link.write(command.encode() + b"\r")
    await wait_until_async(
        lambda: expected in screen.text(), timeout=WAIT, what=f"{expected!r} on the screen"
    )


async def test_key_login_output_and_resize(sshd: SshServer) -> None:
    link, screen = await attach(profile_for(sshd))
    try:
        assert link.tmux
        assert not link.reattached_existing
        await type_and_see(link, screen, "echo MARK$((6*7))", "MARK42")
        # UTF-8 passes through tmux intact (typed as octal escapes, seen as characters).
        await type_and_see(link, screen, r"printf '[\303\274\342\230\203]\n'", "[ü☃]")
        link.resize(100, 30)

        def client_size() -> str:
            listing = sshd.tmux(
                "list-clients", "-t", "=tk-test", "-F", "#{client_width}x#{client_height}"
            )
            return listing.stdout.strip()

        await wait_until_async(
            lambda: client_size() == "100x30", timeout=WAIT, what="tmux client size 100x30"
        )
        termname = sshd.tmux("list-clients", "-t", "=tk-test", "-F", "#{client_termname}")
        assert termname.stdout.strip() == "xterm-256color"
        rtt = await bounded(link.ping(), timeout=WAIT, what="ping")
        assert rtt > 0
    finally:
        link.close()
    closed = await bounded(link.wait_closed(), timeout=WAIT, what="close")
    assert (closed.ending, closed.cause) == (Ending.LOST, Cause.LOCAL)


async def test_second_attach_reattaches_the_same_session(sshd: SshServer) -> None:
    first, screen = await attach(profile_for(sshd))
    await type_and_see(first, screen, "KEPT=still-here; echo set-${KEPT%-here}", "set-still")
    first.close()
    await bounded(first.wait_closed(), timeout=WAIT, what="first close")

    second, screen = await attach(profile_for(sshd))
    try:
        assert second.reattached_existing
        await type_and_see(second, screen, "echo value-$KEPT", "value-still-here")
    finally:
        second.close()


async def test_exit_ends_and_detach_detaches(sshd: SshServer) -> None:
    link, screen = await attach(profile_for(sshd))
    await type_and_see(link, screen, "echo ready-$((1+1))", "ready-2")
    sshd.tmux("detach-client", "-s", "=tk-test", check=True)
    detached = await bounded(link.wait_closed(), timeout=WAIT, what="detach")
    assert detached.ending is Ending.DETACHED

    link, screen = await attach(profile_for(sshd))
    assert link.reattached_existing
    await type_and_see(link, screen, "echo again-$((2+2))", "again-4")
    link.write(b"exit\r")
    ended = await bounded(link.wait_closed(), timeout=WAIT, what="exit")
    assert ended.ending is Ending.ENDED
    assert sshd.tmux("has-session", "-t", "=tk-test").returncode != 0


async def test_killed_connection_is_lost(sshd: SshServer) -> None:
    link, screen = await attach(profile_for(sshd))
    await type_and_see(link, screen, "echo alive-$((5+5))", "alive-10")
    assert sshd.kill_connections()
    closed = await bounded(link.wait_closed(), timeout=WAIT, what="loss")
    assert closed.ending is Ending.LOST
    assert closed.cause is not None
    assert closed.cause.retryable
    with pytest.raises(ConnectFailedError):
        await bounded(link.ping(), timeout=WAIT, what="ping on a dead link")
    # The tmux session survives the connection; a new attach finds it.
    again, _ = await attach(profile_for(sshd))
    assert again.reattached_existing
    again.close()


async def test_killed_tmux_server_is_lost_not_ended(sshd: SshServer) -> None:
    link, screen = await attach(profile_for(sshd))
    await type_and_see(link, screen, "echo alive-$((5+5))", "alive-10")
    sshd.kill_tmux()
    closed = await bounded(link.wait_closed(), timeout=WAIT, what="tmux loss")
    assert (closed.ending, closed.cause) == (Ending.LOST, Cause.SERVER_CLOSED)
    again, _ = await attach(profile_for(sshd))
    assert not again.reattached_existing
    again.close()


async def test_side_commands_run_on_the_links_own_connection(sshd: SshServer) -> None:
    link, _ = await attach(profile_for(sshd))
    try:
        ran = await bounded(
            link.run("cat; echo said >&2; exit 3", timeout=WAIT, stdin=b"fed \xff\n"),
            timeout=WAIT,
            what="run",
        )
        assert (ran.exit_status, ran.stdout, ran.stderr) == (3, b"fed \xff\n", b"said\n")
        with pytest.raises(SideChannelError) as late:
            await bounded(
                link.run("sleep 60", timeout=0.5), timeout=WAIT, what="a run past its timeout"
            )
        assert late.value.cause is Cause.TIMEOUT
    finally:
        link.close()
    await bounded(link.wait_closed(), timeout=WAIT, what="close")
    with pytest.raises(SideChannelError):
        await bounded(link.run("true", timeout=WAIT), timeout=WAIT, what="a run on a closed link")


async def test_unknown_host_key_without_prompter_is_refused(
    sshd: SshServer, isolation: Isolation
) -> None:
    profile = profile_for(sshd, known_hosts_file=None)
    with pytest.raises(ConnectFailedError) as failure:
        await attach(profile, NoPrompter())
    assert failure.value.cause is Cause.HOST_KEY_UNKNOWN
    assert sshd.connection_count() == 1
    assert not (isolation.ssh_dir / "known_hosts").exists()
    assert "Accepted publickey" not in sshd.log_text()


async def test_accept_and_save_appends_a_known_hosts_line(sshd: SshServer, tmp_path: Path) -> None:
    saved = tmp_path / "trust" / "known_hosts"
    prompter = ScriptedPrompter(host_key=HostKeyDecision.ACCEPT_AND_SAVE)
    link, _ = await attach(profile_for(sshd, known_hosts_file=str(saved)), prompter)
    link.close()
    assert len([q for q in prompter.asked if q.startswith("host key")]) == 1
    assert "SHA256:" in prompter.asked[0]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    # OpenSSH's own tool finds the (hashed) entry under [host]:port.
    keygen = await asyncio.create_subprocess_exec(
        *("ssh-keygen", "-F", sshd.known_hosts_name, "-f", str(saved)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    found, errors = await bounded(keygen.communicate(), timeout=WAIT, what="ssh-keygen -F")
    assert keygen.returncode == 0, errors
    assert b"found: line 1" in found
    # The next connection trusts it without asking anyone.
    again, _ = await attach(profile_for(sshd, known_hosts_file=str(saved)), NoPrompter())
    again.close()


async def test_changed_host_key_is_refused_and_never_retried(sshd: SshServer) -> None:
    sshd.swap_host_key()
    prompter = ScriptedPrompter(host_key=HostKeyDecision.ACCEPT_AND_SAVE)
    connector = connector_for(profile_for(sshd), prompter)
    with pytest.raises(ConnectFailedError) as failure:
        await bounded(connector(Screen(), SIZE), timeout=WAIT, what="connect")
    assert failure.value.cause is Cause.HOST_KEY_CHANGED
    assert not prompter.asked  # never offered to accept the new key
    (warning,) = prompter.messages
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in warning
    assert f"{sshd.known_hosts}:1" in warning
    assert "ssh-keygen -R" in warning
    attempts = sshd.connection_count()
    with pytest.raises(ConnectFailedError) as again:
        await bounded(connector(Screen(), SIZE), timeout=WAIT, what="second connect")
    assert again.value.cause is Cause.HOST_KEY_CHANGED
    assert sshd.connection_count() == attempts


async def test_wrong_key_fails_auth_after_one_attempt(sshd: SshServer) -> None:
    stranger = sshd.add_client_key("stranger", authorize=False)
    profile = profile_for(sshd, identity_files=(str(stranger),))
    with pytest.raises(ConnectFailedError) as failure:
        await attach(profile, NoPrompter())
    assert failure.value.cause is Cause.AUTH_FAILED
    assert not failure.value.cause.retryable
    assert sshd.connection_count() == 1


async def test_encrypted_key_asks_for_its_passphrase(sshd: SshServer) -> None:
    locked = sshd.add_client_key("locked", passphrase="open sesame")
    prompter = ScriptedPrompter(passphrase="open sesame")
    connector = connector_for(profile_for(sshd, identity_files=(str(locked),)), prompter)
    for attempt in ("first login", "reconnect"):
        link = await bounded(connector(Screen(), SIZE), timeout=WAIT, what=attempt)
        link.close()
    assert prompter.asked == [f"passphrase {locked}"]  # the decrypted key is kept in memory

    wrong = ScriptedPrompter(passphrase="open sesam")
    with pytest.raises(ConnectFailedError) as failure:
        await attach(profile_for(sshd, identity_files=(str(locked),)), wrong)
    assert failure.value.cause is Cause.AUTH_FAILED
    assert wrong.asked == [f"passphrase {locked}"] * 3


@pytest.fixture
def agent_with_client_key(sshd: SshServer, tmp_path: Path) -> Iterator[Path]:
    """A real ssh-agent of our own (ended by PID) holding the server's client key."""
    agent_socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(agent_socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(agent_socket.exists, timeout=10, what="the ssh-agent socket")
        env = {**os.environ, "SSH_AUTH_SOCK": str(agent_socket)}
        added = subprocess.run(
            ["ssh-add", str(sshd.client_key)], env=env, capture_output=True, timeout=10, check=False
        )
        assert added.returncode == 0, added.stderr
        yield agent_socket
    finally:
        agent.terminate()
        agent.wait(timeout=10)


async def test_agent_keys_are_offered(
    sshd: SshServer, agent_with_client_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key files at all (the private HOME has no ~/.ssh): only the agent can log in.
    with pytest.raises(ConnectFailedError) as without_agent:
        await attach(profile_for(sshd, identity_files=()))
    assert without_agent.value.cause is Cause.AUTH_FAILED
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent_with_client_key))
    link, _ = await attach(profile_for(sshd, identity_files=()))
    link.close()
    assert "Accepted publickey" in sshd.log_text()


@pytest.mark.parametrize(
    ("server_offers", "asked_as"),
    [("PasswordAuthentication", "kbdint"), ("KbdInteractiveAuthentication", "password")],
    ids=["keyboard-interactive", "password"],
)
async def test_password_login_through_the_prompter(
    sshd_factory: Callable[..., SshServer],
    monkeypatch: pytest.MonkeyPatch,
    server_offers: str,
    asked_as: str,
) -> None:
    # Turn one of the two password-like methods off, so each is exercised on its own.
    original_config = sshd_module.render_config

    def one_method(server: SshServer) -> str:
        return original_config(server).replace(f"{server_offers} yes", f"{server_offers} no")

    monkeypatch.setattr(sshd_module, "render_config", one_method)
    server = sshd_factory(password="correct horse")
    # PAM and the first tmux server of a fresh sshd are slow on a busy machine: a generous
    # attach budget, so the test is about the prompts, not about the machine's load.
    profile = profile_for(
        server, identity_files=(), reconnect=ReconnectSettings(connect_timeout=20.0)
    )
    prompter = ScriptedPrompter(password="correct horse")
    connector = connector_for(profile, prompter)
    screen = Screen()
    link = await bounded(connector(screen, SIZE), timeout=WAIT, what="password login")
    try:
        await type_and_see(link, screen, "echo in-$((1+1))", "in-2")
    finally:
        link.close()
    assert len(prompter.asked) == 1
    assert prompter.asked[0].startswith(asked_as)
    # A reconnect of the same profile logs in with the remembered password, asking no one.
    again = await bounded(connector(Screen(), SIZE), timeout=WAIT, what="reconnect")
    again.close()
    assert len(prompter.asked) == 1

    wrong = ScriptedPrompter(password="wrong")
    with pytest.raises(ConnectFailedError) as failure:
        await attach(profile, wrong)
    assert failure.value.cause is Cause.AUTH_FAILED
    assert 1 <= len(wrong.asked) <= 3  # like OpenSSH's NumberOfPasswordPrompts
    with pytest.raises(ConnectFailedError) as nobody:
        await attach(profile, NoPrompter())
    assert nobody.value.cause is Cause.AUTH_FAILED
    assert server.connection_count() == 4  # login, reconnect, wrong password, no prompter


async def test_no_tmux_on_the_server_falls_back_to_a_shell(
    sshd_factory: Callable[..., SshServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sessions of this server get a PATH with a shell and coreutils but no tmux.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash", "echo", "env", "cat"):
        source = Path("/usr/bin", tool) if Path("/usr/bin", tool).exists() else Path("/bin", tool)
        (bin_dir / tool).symlink_to(source)
    original_config = sshd_module.render_config

    def without_tmux(server: SshServer) -> str:
        return with_session_env(original_config(server), PATH=str(bin_dir))

    monkeypatch.setattr(sshd_module, "render_config", without_tmux)
    server = sshd_factory()
    prompter = ScriptedPrompter()
    link, screen = await attach(profile_for(server), prompter)
    assert not link.tmux
    assert not link.reattached_existing
    assert any("tmux is not installed" in message for message in prompter.messages)
    await type_and_see(link, screen, "echo plain-$((2+3))", "plain-5")
    link.write(b"exit\r")
    closed = await bounded(link.wait_closed(), timeout=WAIT, what="shell exit")
    assert closed.ending is Ending.ENDED


async def test_tcp_options_are_set_on_the_socket(sshd: SshServer) -> None:
    tcp = TcpSettings(keepalive=True, idle=7, interval=3, count=4, user_timeout=9, nodelay=False)
    link, _ = await attach(profile_for(sshd, tcp=tcp))
    try:
        sock = link.socket
        assert sock is not None
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 9000
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        # The retransmission options set before the SYN survive asyncssh's handling.
        assert sock.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS) == RTO_MAX_MS
        assert sock.getsockopt(socket.IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS) == 1
    finally:
        link.close()


async def test_jump_host_is_connected_hop_by_hop(
    sshd_factory: Callable[..., SshServer],
) -> None:
    jump_server = sshd_factory()
    target = sshd_factory()
    # Each profile trusts only its own server: the jump host is checked against its file.
    jump_profile = profile_for(jump_server, name="jumpbox")
    profile = profile_for(target, jump="jumpbox")
    assert jump_profile.known_hosts_file != profile.known_hosts_file
    connector = connector_for(
        profile,
        NoPrompter(),
        lookup_profile=lambda name: jump_profile if name == "jumpbox" else None,
    )
    screen = Screen()
    link = await bounded(
        connector(screen, SIZE), timeout=WAIT, what="connect through the jump host"
    )
    try:
        await type_and_see(link, screen, "echo hop-$((3*3))", "hop-9")
        assert jump_server.connection_count() == 1
        assert target.connection_count() == 1
        assert "Accepted publickey" in jump_server.log_text()
    finally:
        link.close()


def ssh_config_entry(alias: str, server: SshServer, *extra: str) -> str:
    lines = [
        f"Host {alias}",
        f"    HostName {server.host}",
        f"    Port {server.port}",
        f"    User {server.user}",
        f"    IdentityFile {server.client_key}",
        *(f"    {line}" for line in extra),
    ]
    return "\n".join(lines) + "\n"


async def test_ssh_config_supplies_host_port_user_key_and_proxyjump(
    sshd_factory: Callable[..., SshServer], tmp_path: Path
) -> None:
    bastion, target = sshd_factory(), sshd_factory()
    config = tmp_path / "ssh_config"
    config.write_text(
        ssh_config_entry("bastion", bastion)
        + ssh_config_entry("direct", target)
        + ssh_config_entry("inside", target, "ProxyJump bastion")
    )
    both = tmp_path / "known_hosts"
    both.write_text("\n".join(bastion.known_hosts_lines() + target.known_hosts_lines()) + "\n")
    for alias, bastion_connections in (("direct", 0), ("inside", 1)):
        profile = Profile(
            name=alias,
            host=alias,
            use_ssh_config=True,
            known_hosts_file=str(both),
            tmux=TmuxSettings(session="tk-test"),
        )
        screen = Screen()
        connector = connector_for(profile, NoPrompter(), ssh_config=[config])
        link = await bounded(connector(screen, SIZE), timeout=WAIT, what=f"connect to {alias}")
        try:
            await type_and_see(link, screen, "echo cfg-$((7+7))", "cfg-14")
        finally:
            link.close()
        assert bastion.connection_count() == bastion_connections
    assert target.connection_count() == 2


async def test_ssh_config_proxycommand_is_run(
    sshd_factory: Callable[..., SshServer], tmp_path: Path
) -> None:
    bastion, target = sshd_factory(), sshd_factory()
    # OpenSSH's own client as the proxy, the classic `ProxyCommand ssh -W %h:%p bastion`.
    proxy = " ".join(bastion.ssh_command(options=("-W", "%h:%p")))
    config = tmp_path / "ssh_config"
    config.write_text(ssh_config_entry("viaproxy", target, f"ProxyCommand {proxy}"))
    profile = Profile(
        name="viaproxy",
        host="viaproxy",
        use_ssh_config=True,
        known_hosts_file=str(target.known_hosts),
        tmux=TmuxSettings(session="tk-test"),
    )
    screen = Screen()
    connector = connector_for(profile, NoPrompter(), ssh_config=[config])
    link = await bounded(
        connector(screen, SIZE), timeout=WAIT, what="connect through the ProxyCommand"
    )
    try:
        await type_and_see(link, screen, "echo proxied-$((8*8))", "proxied-64")
        assert isinstance(link, SshLink)
        assert link.socket is None  # no TCP socket of ours: the proxy carries the bytes
    finally:
        link.close()
    assert bastion.connection_count() == 1


async def test_refused_port_is_classified(sshd: SshServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(ConnectFailedError) as failure:
        await attach(profile_for(sshd, port=closed_port))
    assert failure.value.cause is Cause.REFUSED


async def test_silent_server_times_out(sshd: SshServer) -> None:
    # A listener that accepts (the kernel completes the handshake) but never speaks SSH.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        profile = profile_for(sshd, port=silent.getsockname()[1])
        profile = replace(profile, reconnect=replace(profile.reconnect, connect_timeout=0.5))
        with pytest.raises(ConnectFailedError) as failure:
            await attach(profile)
    assert failure.value.cause is Cause.TIMEOUT
    assert os.environ["HOME"].endswith("home")


# --- real network faults: sshd in its own network namespace (root only) ---------------------

FAST_KEEPALIVE = {"interval": 1.0, "count_max": 2}


def netns_profile(server: NetnsSshServer, connect_timeout: float = 1.0) -> Profile:
    """Fast keepalive, and a short connect timeout for the attempts made during a fault."""
    profile = profile_for(server)
    return replace(
        profile,
        keepalive=replace(profile.keepalive, **FAST_KEEPALIVE),  # type: ignore[arg-type]
        reconnect=replace(profile.reconnect, connect_timeout=connect_timeout),
    )


async def test_keepalive_notices_a_silent_drop(netns_sshd: NetnsSshServer) -> None:
    link, screen = await attach(netns_profile(netns_sshd))
    await type_and_see(link, screen, "echo up-$((4+4))", "up-8")
    with netns_sshd.blackhole():
        closed = await bounded(link.wait_closed(), timeout=WAIT, what="keepalive to give up")
        assert (closed.ending, closed.cause) == (Ending.LOST, Cause.TIMEOUT)
        # While the drop lasts, a fresh attempt times out after the short connect timeout.
        with pytest.raises(ConnectFailedError) as probe:
            await attach(netns_profile(netns_sshd))
        assert probe.value.cause is Cause.TIMEOUT
    # Back on the network the attach gets the usual budget: 1 s for key exchange, auth and
    # the attach together is only for the probe above, and a busy machine can exceed it.
    again, _ = await attach(netns_profile(netns_sshd, connect_timeout=5.0))
    assert again.reattached_existing
    again.close()


async def test_reset_and_link_down_are_classified(netns_sshd: NetnsSshServer) -> None:
    link, screen = await attach(netns_profile(netns_sshd))
    await type_and_see(link, screen, "echo up-$((4+5))", "up-9")
    with netns_sshd.reset():
        link.write(b"echo poke\r")  # the next segment is answered with a RST
        closed = await bounded(link.wait_closed(), timeout=WAIT, what="the reset")
        assert (closed.ending, closed.cause) == (Ending.LOST, Cause.RESET)
        with pytest.raises(ConnectFailedError) as refused:
            await attach(netns_profile(netns_sshd))
        assert refused.value.cause in {Cause.REFUSED, Cause.RESET}
    with netns_sshd.link_down():
        with pytest.raises(ConnectFailedError) as unreachable:
            await attach(netns_profile(netns_sshd))
        assert unreachable.value.cause is Cause.UNREACHABLE
