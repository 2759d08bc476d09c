"""The pieces of connecting that need no SSH server: TCP options on a real socket, jump host
parsing, the connect clock that stops while the user types, remembered passwords."""

from __future__ import annotations

import asyncio
import gc
import socket
from dataclasses import replace
from pathlib import Path
from typing import override

import pytest
from asyncssh.encryption import get_default_encryption_algs

from termkeep.config.profile import Profile, TcpSettings
from termkeep.platform.tcp import open_tcp, tcp_options
from termkeep.tmux.attach import REPORT_LIMIT, AttachReportScanner, _ReportScan
from termkeep.transport.hostkeys import HostKeyPolicy, HostKeySettings
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.pipelining import _PipelinedChannel
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.auth import AuthClient, ConnectClock, RememberedSecrets
from termkeep.transport.ssh.connector import SshConnector, preferred_ciphers
from termkeep.transport.ssh.hops import jump_chain, parse_jump_spec


async def test_open_tcp_sets_every_option_before_connecting() -> None:
    settings = TcpSettings(
        keepalive=True, idle=11, interval=4, count=6, user_timeout=20, nodelay=True
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        sock = await asyncio.wait_for(
            open_tcp("127.0.0.1", listener.getsockname()[1], settings), 10
        )
        with sock:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 11
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 4
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 6
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 20_000
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_tcp_keepalive_off_and_kernel_default_timeout() -> None:
    options = tcp_options(TcpSettings(keepalive=False, user_timeout=0, nodelay=False))
    assert options == [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0),
        (socket.IPPROTO_TCP, socket.TCP_NODELAY, 0),
    ]


async def test_open_tcp_reports_refusal() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(open_tcp("127.0.0.1", port, TcpSettings()), 10)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("bastion", (None, "bastion", 22)),
        ("ops@bastion", ("ops", "bastion", 22)),
        ("ops@bastion:2222", ("ops", "bastion", 2222)),
        ("[::1]:2200", (None, "::1", 2200)),
        ("ops@[fe80::1]", ("ops", "fe80::1", 22)),
        ("::1", (None, "::1", 22)),
        ("me@corp@bastion", ("me@corp", "bastion", 22)),
    ],
)
def test_parse_jump_spec(spec: str, parsed: tuple[str | None, str, int]) -> None:
    assert parse_jump_spec(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("bastion:ssh", "bad port"),
        ("bastion:70000", "bad port"),
        ("ops@", "no host name"),
        ("[::1]:", "bad port"),
    ],
)
def test_bad_jump_spec_names_the_fix(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as error:
        parse_jump_spec(spec)
    assert "[user@]host[:port]" in str(error.value)


def test_jump_chain_follows_profiles_outermost_first() -> None:
    saved = {
        "edge": Profile(name="edge", host="edge.example.com"),
        "inner": Profile(name="inner", host="inner.internal", jump="edge"),
    }
    target = Profile(name="db", host="db.internal", jump="inner", identity_files=("~/.ssh/db",))
    chain = jump_chain(target, saved.get)
    assert [hop.host for hop in chain] == ["edge.example.com", "inner.internal"]
    assert all(hop.jump is None for hop in chain)
    # A literal spec borrows the target's keys (and known_hosts file).
    literal = jump_chain(replace(target, jump="ops@gw:2022,inner"), saved.get)
    assert [(hop.user, hop.host, hop.port) for hop in literal] == [
        ("ops", "gw", 2022),
        (None, "edge.example.com", 22),
        (None, "inner.internal", 22),
    ]
    assert literal[0].identity_files == ("~/.ssh/db",)


def test_jump_loop_is_refused_before_connecting() -> None:
    saved = {
        "a": Profile(name="a", host="a", jump="b"),
        "b": Profile(name="b", host="b", jump="a"),
    }
    with pytest.raises(ValueError, match="loop"):
        SshConnector(Profile(name="t", host="t", jump="a"), NoPrompter(), lookup_profile=saved.get)


async def test_connect_clock_runs_out_while_running() -> None:
    clock = ConnectClock(0.05)
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(clock.run(never), 10)
    assert never.cancelled()


async def test_connect_clock_does_not_count_prompt_time() -> None:
    """A prompt outlasting the whole budget does not time the attempt out."""
    clock = ConnectClock(0.05)
    answered = asyncio.Event()

    async def attempt() -> str:
        async with clock.paused():
            assert clock.remaining() is None
            # The user answers long after the budget would have run out.
            asyncio.get_running_loop().call_later(0.3, answered.set)
            await answered.wait()
        return "connected"

    assert await asyncio.wait_for(clock.run(attempt()), 10) == "connected"
    remaining = clock.remaining()
    assert remaining is not None
    assert remaining > 0


def test_aes_gcm_is_preferred_and_nothing_is_dropped() -> None:
    ciphers = preferred_ciphers()
    assert ciphers[0] == "aes128-gcm@openssh.com"
    assert sorted(ciphers) == sorted(alg.decode() for alg in get_default_encryption_algs())


async def test_missing_identity_file_fails_before_connecting(tmp_path: Path) -> None:
    missing = tmp_path / "id_gone"
    # Port 9 on loopback: nothing is contacted, the profile is refused first.
    profile = Profile(name="t", host="127.0.0.1", port=9, identity_files=(str(missing),))
    connector = SshConnector(profile, NoPrompter())
    with pytest.raises(ConnectFailedError) as failure:
        await asyncio.wait_for(connector(lambda _data: None, (80, 24)), 10)
    assert failure.value.cause is Cause.AUTH_FAILED
    assert str(missing) in failure.value.detail
    assert "fix the profile's identity_files" in failure.value.detail


async def test_unreadable_known_hosts_is_refused_not_ignored(tmp_path: Path) -> None:
    directory_not_file = tmp_path / "known_hosts"
    directory_not_file.mkdir()
    policy = HostKeyPolicy(NoPrompter())
    settings = HostKeySettings(user_files=(directory_not_file, tmp_path / "x"), global_files=())
    with pytest.raises(ConnectFailedError) as failure:
        policy.check(settings, "web", 22)
    assert failure.value.cause is Cause.HOST_KEY_UNKNOWN
    assert str(directory_not_file) in failure.value.detail


class CountingPrompter(NoPrompter):
    """Answers every password question with the next of ``answers``."""

    def __init__(self, *answers: str) -> None:
        super().__init__()
        self.answers = list(answers)
        self.asked = 0

    @override
    async def password(self, prompt: str) -> str | None:
        self.asked += 1
        return self.answers.pop(0) if self.answers else None


def auth_client(prompter: NoPrompter, secrets: RememberedSecrets) -> AuthClient:
    policy = HostKeyPolicy(prompter)
    settings = HostKeySettings(user_files=(Path("/nonexistent/known_hosts"),), global_files=())
    return AuthClient(
        check=policy.check(settings, "web", 22),
        prompter=prompter,
        clock=ConnectClock(5.0),
        login="me@web",
        encrypted_keys=(),
        secrets=secrets,
    )


async def test_a_password_that_worked_is_replayed_once_then_asked_again() -> None:
    secrets = RememberedSecrets()
    first = auth_client(CountingPrompter("typed"), secrets)
    assert await first.password_auth_requested() == "typed"
    assert secrets.passwords == {}  # nothing is kept until the server accepts it
    first.auth_completed()
    assert secrets.passwords == {"me@web": "typed"}

    prompter = CountingPrompter("new password")
    reconnect = auth_client(prompter, secrets)
    assert await reconnect.password_auth_requested() == "typed"
    assert prompter.asked == 0
    # The server refused it (it asks again): forget it and ask the user.
    assert await reconnect.password_auth_requested() == "new password"
    assert prompter.asked == 1
    assert secrets.passwords == {}


async def test_password_prompts_stop_after_three() -> None:
    prompter = CountingPrompter("a", "b", "c", "d")
    client = auth_client(prompter, RememberedSecrets())
    answers = [await client.password_auth_requested() for _ in range(4)]
    assert answers == ["a", "b", "c", None]
    assert prompter.asked == 3


async def test_a_proxyjump_loop_in_ssh_config_is_refused_before_connecting(
    tmp_path: Path,
) -> None:
    config = tmp_path / "ssh_config"
    # Port 9 on loopback: nothing is contacted, the loop is found while resolving.
    config.write_text(
        "Host a\n  HostName 127.0.0.1\n  Port 9\n  ProxyJump b\n"
        "Host b\n  HostName 127.0.0.1\n  Port 9\n  ProxyJump a\n"
    )
    profile = Profile(name="a", host="a", use_ssh_config=True)
    connector = SshConnector(profile, NoPrompter(), ssh_config=[config])
    with pytest.raises(ConnectFailedError) as failure:
        await asyncio.wait_for(connector(lambda _data: None, (80, 24)), 10)
    assert failure.value.cause is Cause.CONFIG
    assert "loop" in failure.value.detail


async def test_an_attach_report_nobody_awaits_is_not_logged_as_an_error() -> None:
    """A probe cancelled before it read its attach report: a broken report found later sets
    the report's failure, which must not land in the error log as an unretrieved exception."""
    loop = asyncio.get_running_loop()
    unexpected: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unexpected.append(context))
    try:
        scan = _ReportScan(AttachReportScanner("ab12"), lambda _data: None)
        scan.feed(b"x" * (REPORT_LIMIT + 1))
        assert isinstance(scan.report.exception(), ConnectFailedError)
        unread = _ReportScan(AttachReportScanner("cd34"), lambda _data: None)
        unread.feed(b"x" * (REPORT_LIMIT + 1))
        del scan, unread
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert unexpected == []


async def test_a_pty_reply_nobody_reads_after_the_connection_died_is_not_logged() -> None:
    """pty-req and exec go out together; when the connection dies before the replies, exec's
    failure is the one the attach reports, and pty-req's failed waiter has no reader."""
    loop = asyncio.get_running_loop()
    unexpected: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unexpected.append(context))
    try:
        chan = _PipelinedChannel.__new__(_PipelinedChannel)
        chan._send_chan = 1
        chan._loop = loop
        chan._request_waiters = []
        chan._send_request = lambda *_args, **_kwargs: None  # type: ignore[method-assign]
        assert await chan._make_request(b"pty-req", b"") is True
        # What asyncssh does to every pending request when the connection is lost.
        for waiter in chan._request_waiters:
            waiter.set_exception(BrokenPipeError(32, "Broken pipe"))
        del chan, waiter
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert unexpected == []
