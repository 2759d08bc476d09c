"""Every headless command stops when told, whatever state its terminal is in.

Real ``termkeep attach`` and ``termkeep tunnel`` processes (the installed console script),
each on a pty of its own, against the real sshd: a closed terminal window, a closed pipe
(``termkeep tunnel ... 2>&1 | head -1``), a pending password prompt and the middle of a
reconnect. The checks are at the process level (it exits, with ssh's code; its ports are
free), so they hold however the code inside is arranged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import termios
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from termkeep.config.forwards import parse_flag
from termkeep.config.profile import KeepaliveSettings, Profile, ReconnectSettings
from termkeep.config.store import ProfileStore
from tests.fixtures import leaks
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.pty_process import TERMKEEP, pty_termkeep, termkeep_env
from tests.fixtures.sshd import SshServer, free_loopback_port
from tests.fixtures.tcp_services import port_is_listening, wait_listening
from tests.fixtures.waiting import wait_until

GONE_WITHIN = 2.0
"""A stopped command is gone this soon (a bound on the wait, not a timing measurement)."""
ATTACH = 30.0
EXIT_SIGNALLED = 255
"""ssh's exit code when a signal ends it."""


@pytest.fixture
def env() -> dict[str, str]:
    return termkeep_env()


def save(env: dict[str, str], profile: Profile) -> None:
    ProfileStore(Path(env["TERMKEEP_CONFIG_DIR"]) / "hosts").save(profile)


def tunnel_profile(server: SshServer, port: int, *, name: str = "db", **changes: Any) -> Profile:
    """A profile forwarding local ``port`` to the server's own sshd port."""
    return profile_for(
        server,
        name=name,
        keepalive=KeepaliveSettings(interval=1.0, count_max=2),
        reconnect=ReconnectSettings(connect_timeout=2.0, max_delay=2.0),
        forwards=(parse_flag("-L", f"{port}:127.0.0.1:22"),),
        **changes,
    )


def connecting_to(host: str) -> bool:
    """Whether a TCP connect to ``host`` is in flight (SYN sent, no answer yet): a reconnect
    probe in the middle of its attempt."""
    listing = subprocess.run(
        ["ss", "-Htn", "state", "syn-sent", "dst", host],
        capture_output=True,
        text=True,
        check=True,
        timeout=ATTACH,
    )
    return bool(listing.stdout.strip())


def echo_is_on(master: int) -> bool:
    """Whether the terminal echoes again (a prompt that was cut short restored it)."""
    return bool(termios.tcgetattr(master)[3] & termios.ECHO)


def test_closing_the_terminal_stops_tunnel_and_frees_its_port(
    sshd: SshServer, env: dict[str, str]
) -> None:
    port = free_loopback_port()
    save(env, tunnel_profile(sshd, port))
    with pty_termkeep(env, "tunnel", "db") as tunnel:
        tunnel.wait_for(f"up on localhost:{port}", timeout=ATTACH)
        tunnel.close_master()
        tunnel.wait_exit(GONE_WITHIN)
    assert not port_is_listening(port)


def test_closing_the_terminal_stops_attach(sshd: SshServer, env: dict[str, str]) -> None:
    save(env, profile_for(sshd, name="box"))
    with pty_termkeep(env, "attach", "box") as attach:
        attach.type("echo up$((1+1))\r")
        attach.wait_for("up2", timeout=ATTACH)
        attach.close_master()
        attach.wait_exit(GONE_WITHIN)


@pytest.mark.parametrize("how", ["SIGTERM", "ctrl-c"])
@pytest.mark.parametrize("command", ["attach", "tunnel"])
def test_a_stop_at_a_password_prompt_exits_255(
    sshd_factory: Callable[..., SshServer], env: dict[str, str], command: str, how: str
) -> None:
    server = sshd_factory(password="open sesame")
    port = free_loopback_port()
    save(env, tunnel_profile(server, port, name="box", identity_files=()))
    with pty_termkeep(env, command, "box") as process:
        process.wait_for("assword: ", timeout=ATTACH)  # PAM asks "Password: "
        if how == "ctrl-c":
            process.type("\x03")  # the terminal turns it into SIGINT, as for any program
        else:
            process.signal(signal.SIGTERM)
        assert process.wait_exit(GONE_WITHIN) == EXIT_SIGNALLED
        assert echo_is_on(process.master)
    signame = "SIGINT" if how == "ctrl-c" else "SIGTERM"
    assert f"stopped by {signame}" in process.text()
    assert not port_is_listening(port)


@pytest.fixture
def pipeline() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=ATTACH)


def test_tunnel_into_a_closed_pipe_still_stops(
    sshd: SshServer, env: dict[str, str], pipeline: list[subprocess.Popen[bytes]]
) -> None:
    """``termkeep tunnel db 2>&1 | head -1``: head reads one line and exits, so every later
    line termkeep writes fails with EPIPE. SIGTERM must still end it."""
    port = free_loopback_port()
    save(env, tunnel_profile(sshd, port))
    read_end, write_end = os.pipe()
    try:
        tunnel = subprocess.Popen(
            [str(TERMKEEP), "tunnel", "db"],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=write_end,
            env=env,
            start_new_session=True,
        )
        pipeline.append(tunnel)
        leaks.registry.add_pid(tunnel.pid)
        head = subprocess.Popen(["head", "-1"], stdin=read_end, stdout=subprocess.PIPE)
        pipeline.append(head)
    finally:
        os.close(read_end)
        os.close(write_end)
    first_line, _ = head.communicate(timeout=ATTACH)
    assert first_line.startswith(b"[termkeep] db: ")
    wait_listening(port, "the tunnel's listener")
    tunnel.send_signal(signal.SIGTERM)
    assert tunnel.wait(timeout=GONE_WITHIN) == EXIT_SIGNALLED
    assert not port_is_listening(port)


@pytest.mark.parametrize("command", ["attach", "tunnel"])
def test_sighup_in_the_middle_of_a_reconnect_exits_and_frees_the_port(
    netns_sshd: NetnsSshServer, env: dict[str, str], command: str
) -> None:
    port = free_loopback_port()
    save(env, tunnel_profile(netns_sshd, port, name="box"))
    with pty_termkeep(env, command, "box") as process:
        if command == "tunnel":
            process.wait_for(f"up on localhost:{port}", timeout=ATTACH)
        else:
            process.type("echo up$((1+1))\r")
            process.wait_for("up2", timeout=ATTACH)
        with netns_sshd.blackhole():
            process.wait_for("connection lost", timeout=ATTACH)
            wait_until(
                lambda: connecting_to(netns_sshd.host),
                timeout=ATTACH,
                what="a reconnect probe's SYN in flight",
            )
            process.signal(signal.SIGHUP)
            assert process.wait_exit(GONE_WITHIN) == EXIT_SIGNALLED
    assert not port_is_listening(port)
