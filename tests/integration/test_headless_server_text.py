"""No byte a server chose reaches the user's terminal raw, except the session's own stream.

Real ``termkeep attach`` and ``termkeep tunnel`` processes on a pty of their own talk to
hostile servers (``tests/fixtures/hostile_servers.py``) that put terminal controls (clear
screen, window title, clipboard write, BEL, C1 controls) in a DISCONNECT reason, the
keyboard-interactive name, instructions and prompt, the login banner and channel-open
failure reasons. Everything on the pty must be valid UTF-8 with no ESC, no BEL and no C1
control, and the server's words must still read, with the controls shown as ssh shows them.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import pytest

from termkeep.config.forwards import parse_flag
from termkeep.config.profile import Profile, ReconnectSettings, TmuxSettings
from termkeep.config.store import ProfileStore
from tests.fixtures.hostile_servers import (
    HOSTILE_SHOWN,
    disconnecting_server,
    hostile_ssh_server,
)
from tests.fixtures.pty_process import PtyProcess, pty_termkeep, termkeep_env
from tests.fixtures.sshd import free_loopback_port
from tests.fixtures.tcp_services import wait_listening

WAIT = 30.0
EXIT_SIGNALLED = 255
_C1 = range(0x80, 0xA0)


@pytest.fixture
def env() -> dict[str, str]:
    return termkeep_env()


def save(env: dict[str, str], port: int, known_hosts: Path, *forwards: str) -> None:
    profile = Profile(
        name="evil",
        host="127.0.0.1",
        port=port,
        user="victim",
        known_hosts_file=str(known_hosts),
        tmux=TmuxSettings(session="tk-evil"),
        reconnect=ReconnectSettings(connect_timeout=2.0, max_delay=2.0),
        forwards=tuple(parse_flag(*flag.split(" ", 1)) for flag in forwards),
    )
    ProfileStore(Path(env["TERMKEEP_CONFIG_DIR"]) / "hosts").save(profile)


def assert_terminal_safe(output: bytes) -> str:
    """The pty output holds no ESC, BEL or C1 control, raw or encoded; returns it as text."""
    text = output.decode("utf-8")  # strict: a lone C1 byte (0x9b...) is not valid UTF-8
    assert "\x1b" not in text
    assert "\x07" not in text
    assert not [character for character in text if ord(character) in _C1]
    return text


async def stop(process: PtyProcess) -> None:
    process.signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait_exit, WAIT) == EXIT_SIGNALLED


@pytest.mark.parametrize("command", ["attach", "tunnel"])
async def test_a_disconnect_reason_is_shown_with_its_controls_made_visible(
    env: dict[str, str], tmp_path: Path, command: str
) -> None:
    async with disconnecting_server() as port:
        save(env, port, tmp_path / "known_hosts", f"-L {free_loopback_port()}:h:1")
        with pty_termkeep(env, command, "evil") as process:
            await asyncio.to_thread(process.wait_for, HOSTILE_SHOWN, timeout=WAIT)
            await stop(process)
    text = assert_terminal_safe(process.output)
    assert "could not connect: " in text


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")
async def test_ssh_shows_the_same_disconnect_reason_the_same_way(tmp_path: Path) -> None:
    """The differential check: the real ssh client, given the same DISCONNECT, escapes the
    same controls the same way. Two differences, both on purpose: ssh's log lines let BEL
    through raw (termkeep shows ``\\007``), and they double a backslash (termkeep keeps it, as
    ssh does for banners and prompts, ``utf8.c``)."""
    async with disconnecting_server() as port:
        ssh = PtyProcess(
            [
                shutil.which("ssh") or "ssh",
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
                "-p",
                str(port),
                "victim@127.0.0.1",
            ],
            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"},
        )
        try:
            await asyncio.to_thread(ssh.wait_exit, WAIT)
        finally:
            ssh.close()
    shown = ssh.text()
    assert "Received disconnect from 127.0.0.1" in shown
    for piece in (
        "maintenance\\033[2J now",
        "\\033]52;c;cm0gLXJmIH4K\\033",
        "\\302\\23331m c1 \\302\\2350;x\\302\\234 osc",
        "del\\177 end",
    ):
        assert piece in shown
        assert piece in HOSTILE_SHOWN


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")
async def test_ssh_shows_a_hostile_prompt_exactly_as_termkeep_does(tmp_path: Path) -> None:
    """ssh prints banners and prompts through utf8.c, the rules ``ssh_visible`` follows: the
    same hostile text comes out byte for byte the same."""
    async with hostile_ssh_server(tmp_path) as server:
        ssh = PtyProcess(
            [
                shutil.which("ssh") or "ssh",
                "-F",
                "/dev/null",
                "-o",
                f"UserKnownHostsFile={server.known_hosts}",
                "-o",
                "PreferredAuthentications=keyboard-interactive",
                "-p",
                str(server.port),
                "victim@127.0.0.1",
                "true",
            ],
            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"},
        )
        try:
            await asyncio.to_thread(ssh.wait_for, "Code ", timeout=WAIT)
            ssh.type("42\r")
            await asyncio.to_thread(ssh.wait_exit, WAIT)
        finally:
            ssh.close()
    shown = ssh.text()
    assert f"Banner: {HOSTILE_SHOWN}\r" in shown
    assert f"Code {HOSTILE_SHOWN}: " in shown


async def test_attach_shows_login_questions_and_channel_errors_made_visible(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with hostile_ssh_server(tmp_path) as server:
        save(env, server.port, server.known_hosts)
        with pty_termkeep(env, "attach", "evil") as process:
            await asyncio.to_thread(process.wait_for, f"Code {HOSTILE_SHOWN}: ", timeout=WAIT)
            process.type("42\r")
            await asyncio.to_thread(process.wait_for, f"Session: {HOSTILE_SHOWN}", timeout=WAIT)
            await stop(process)
    text = assert_terminal_safe(process.output)
    assert f"Name: {HOSTILE_SHOWN}" in text
    assert f"Instructions: {HOSTILE_SHOWN}" in text


async def test_tunnel_shows_login_questions_and_forward_errors_made_visible(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_loopback_port()
    async with hostile_ssh_server(tmp_path) as server:
        save(env, server.port, server.known_hosts, f"-L {port}:db.internal:5432")
        with pty_termkeep(env, "tunnel", "evil") as process:
            await asyncio.to_thread(process.wait_for, f"Code {HOSTILE_SHOWN}: ", timeout=WAIT)
            process.type("42\r")
            await asyncio.to_thread(process.wait_for, f"up on localhost:{port}", timeout=WAIT)
            await asyncio.to_thread(wait_listening, port, "the forward's listener")
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await asyncio.to_thread(
                process.wait_for, f"from the server: forward: {HOSTILE_SHOWN}", timeout=WAIT
            )
            await stop(process)
    text = assert_terminal_safe(process.output)
    assert f"Name: {HOSTILE_SHOWN}" in text
