"""A forwarded agent that survives reconnects, on the real OpenSSH sshd with a real ssh-agent
and real keys: the shells in tmux keep reaching the agent of whichever connection is live."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.config.store import ProfileStore
from termkeep.tmux.agent import AGENT_DIR_IN_RUNTIME, agent_link_name
from termkeep.transport.link import Ending
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.link import SshLink
from termkeep.ui.live_session import with_free_tmux_session
from tests.fixtures import keys, leaks
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer, render_config
from tests.fixtures.tmux_pane import TmuxPane, termkeep_command, tmux_pane
from tests.fixtures.waiting import bounded, wait_until, wait_until_async
from tests.integration.test_transport import WAIT, Screen, connector_for, ssh_config_entry

SIZE = (100, 30)
AGENT_EXIT_TIMEOUT = 10.0
RECOVER = 60.0


@dataclass
class Agent:
    """A real ssh-agent started by the test, on a socket of its own, holding one key."""

    socket: Path
    key_comment: str
    process: subprocess.Popen[bytes]


def start_agent(directory: Path, name: str) -> Agent:
    socket_path = directory / f"{name}.sock"
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    leaks.registry.add_pid(process.pid)
    agent = Agent(socket_path, f"termkeep-{name}-key", process)
    wait_until(socket_path.exists, timeout=WAIT, what=f"ssh-agent's socket {socket_path}")
    key = keys.generate_key(directory / f"{name}_ed25519", comment=agent.key_comment)
    subprocess.run(
        ["ssh-add", str(key)],
        env={**os.environ, "SSH_AUTH_SOCK": str(socket_path)},
        capture_output=True,
        timeout=WAIT,
        check=True,
    )
    return agent


def stop_agent(agent: Agent) -> None:
    agent.process.send_signal(signal.SIGTERM)
    try:
        agent.process.wait(timeout=AGENT_EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        agent.process.kill()
        agent.process.wait(timeout=AGENT_EXIT_TIMEOUT)


@pytest.fixture
def agent_dir(sshd: SshServer) -> Path:
    """The server's ``$XDG_RUNTIME_DIR`` (0700, as pam_systemd makes it)."""
    runtime = sshd.workdir / "run"
    runtime.mkdir(mode=0o700)
    return runtime / AGENT_DIR_IN_RUNTIME


@pytest.fixture
def server(sshd: SshServer, agent_dir: Path) -> SshServer:
    """The test sshd with agent forwarding allowed and a runtime directory in the sessions."""
    set_env = next(line for line in render_config(sshd).splitlines() if line.startswith("SetEnv "))
    sshd.extra_config = (
        "AllowAgentForwarding yes",
        f"{set_env} XDG_RUNTIME_DIR={agent_dir.parent}",
    )
    sshd.restart()
    return sshd


@pytest.fixture
def agents(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Agent]]:
    """Two real ssh-agents, each with its own key; the first is the user's
    ``$SSH_AUTH_SOCK``. Stopped by PID at teardown."""
    started: list[Agent] = []
    try:
        for name in ("agent1", "agent2"):
            started.append(start_agent(sshd.workdir, name))
        monkeypatch.setenv("SSH_AUTH_SOCK", str(started[0].socket))
        yield started
    finally:
        for agent in started:
            stop_agent(agent)


def forwarding(server: SshServer, session: str = "tk-test", **changes: Any) -> Profile:
    return profile_for(server, tmux_session=session, agent_forwarding=True, **changes)


async def connect(profile: Profile, screen: Screen | None = None) -> tuple[SshLink, Screen]:
    screen = screen or Screen()
    link = await bounded(
        connector_for(profile, NoPrompter())(screen, SIZE), timeout=WAIT, what="connect"
    )
    assert isinstance(link, SshLink)
    return link, screen


_AGENT_CHECK = "ssh-add -l; echo agent-rc-$?-{tag}"


async def agent_check(link: SshLink, screen: Screen, tag: str) -> tuple[int, str]:
    """Run ``ssh-add -l`` in the pane's shell: its exit status and what it printed."""
    link.write(_AGENT_CHECK.format(tag=tag).encode() + b"\r")
    pattern = re.compile(rf"agent-rc-(\d+)-{tag}\b")
    await wait_until_async(
        lambda: pattern.search(screen.text()), timeout=WAIT, what=f"ssh-add's status ({tag})"
    )
    found = pattern.search(screen.text())
    assert found is not None
    return int(found.group(1)), screen.text()


def session_auth_sock(server: SshServer, session: str) -> str:
    shown = server.tmux("show-environment", "-t", f"={session}", "SSH_AUTH_SOCK", check=True)
    return shown.stdout.strip().removeprefix("SSH_AUTH_SOCK=")


async def test_the_shell_from_before_an_abort_reaches_the_agent_after_the_reattach(
    server: SshServer, agents: list[Agent], agent_dir: Path
) -> None:
    stable = agent_dir / agent_link_name("tk-test")
    link, screen = await connect(forwarding(server))
    try:
        status, text = await agent_check(link, screen, "before")
        assert status == 0
        assert agents[0].key_comment in text
        assert session_auth_sock(server, "tk-test") == str(stable)
    finally:
        link.close()
    # The server aborts every connection (sshd and everything under it: SIGKILL); sshd's
    # socket of the old connection is gone with it.
    await bounded(link.wait_closed(), timeout=WAIT, what="the first link to close")
    link, screen = await connect(forwarding(server), screen)
    server.kill_connections()
    await bounded(link.wait_closed(), timeout=WAIT, what="the aborted link to close")
    screen.data.clear()
    link, screen = await connect(forwarding(server), screen)
    reattached = time.monotonic()
    try:
        assert link.reattached_existing
        # The same shell, started two connections ago, lists the key again: the path was
        # re-pointed before tmux started, so the first try succeeds (no retry in agent_check).
        status, text = await agent_check(link, screen, "after")
        print(
            f"\nagent back in the old shell {1000 * (time.monotonic() - reattached):.0f} ms "
            "after the reattach (ssh-add -l typed and its listing seen)"
        )
        assert status == 0
        assert agents[0].key_comment in text
        # A new window gets the stable path from tmux, and reaches the agent too.
        server.tmux("new-window", "-t", "=tk-test:", check=True)
        status, text = await agent_check(link, screen, "window")
        assert status == 0
        assert agents[0].key_comment in text
        assert stable.resolve().parent != agent_dir  # sshd's socket of this connection
    finally:
        link.close()
    await bounded(link.wait_closed(), timeout=WAIT, what="the last link to close")
    # The connection ended: the path went with it (no other connection is attached).
    await wait_until_async(
        lambda: not stable.is_symlink(), timeout=WAIT, what="the stable path to go"
    )


async def test_a_second_tab_keeps_its_own_path(
    server: SshServer, agents: list[Agent], agent_dir: Path
) -> None:
    """Two tabs of one profile: the app gives the second its own tmux session (``NAME-2``),
    whose path must not be taken for one of the first's per-connection links."""
    profile = forwarding(server)
    one = profile.tmux_session_name
    two = with_free_tmux_session(profile, {one}).tmux_session_name
    assert two.startswith(one)  # the case that matters: one name is a prefix of the other
    first, first_screen = await connect(profile)
    second, second_screen = await connect(forwarding(server, two))
    try:
        paths = {session_auth_sock(server, name) for name in (one, two)}
        assert paths == {str(agent_dir / one), str(agent_dir / two)}
        first.close()
        await bounded(first.wait_closed(), timeout=WAIT, what="the first tab's link to close")
        await wait_until_async(
            lambda: not (agent_dir / one).is_symlink(), timeout=WAIT, what=f"{one}'s path to go"
        )
        # The other tab's path and agent are untouched.
        assert (agent_dir / two).resolve().is_socket()
        status, text = await agent_check(second, second_screen, "two")
        assert status == 0
        assert agents[0].key_comment in text
        first, first_screen = await connect(profile, first_screen)
        status, _ = await agent_check(first, first_screen, "one")
        assert status == 0
        assert (agent_dir / two).resolve() != (agent_dir / one).resolve()
    finally:
        first.close()
        second.close()


async def test_two_clients_on_one_session_keep_a_live_agent_while_either_is_attached(
    server: SshServer, agents: list[Agent], agent_dir: Path
) -> None:
    """A tab and a ``termkeep attach`` on one session, each forwarding its own agent."""
    stable = agent_dir / agent_link_name("tk-test")

    def profile_of(agent: Agent) -> Profile:
        return forwarding(server, agent_forwarding_socket=str(agent.socket))

    tab, tab_screen = await connect(profile_of(agents[0]))
    attach, _ = await connect(profile_of(agents[1]))
    try:
        # The newest attach's agent is the one in use...
        status, text = await agent_check(tab, tab_screen, "both")
        assert (status, agents[1].key_comment in text) == (0, True)
        attach.close()
        closed = await bounded(attach.wait_closed(), timeout=WAIT, what="the attach to close")
        assert closed.ending is Ending.LOST
        # ...and when it goes, the tab's, still attached, takes over.
        await wait_until_async(
            lambda: (
                stable.is_symlink()
                and stable.resolve().is_socket()
                and len(list(agent_dir.glob("tk-test.*"))) == 1
            ),
            timeout=WAIT,
            what="the path to move to the tab's connection",
        )
        status, text = await agent_check(tab, tab_screen, "tab")
        assert (status, agents[0].key_comment in text) == (0, True)
        assert agents[1].key_comment not in text.split("agent-rc-0-both")[-1]
    finally:
        tab.close()
        attach.close()
    await bounded(tab.wait_closed(), timeout=WAIT, what="the tab to close")
    await wait_until_async(
        lambda: not stable.is_symlink(), timeout=WAIT, what="the path to go with the last client"
    )


async def test_without_an_agent_the_stable_path_is_absent(
    server: SshServer, agents: list[Agent], agent_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stable = agent_dir / agent_link_name("tk-test")
    link, screen = await connect(forwarding(server))
    assert stable.is_symlink()
    server.kill_connections()  # the shell that would have removed the path dies too
    await bounded(link.wait_closed(), timeout=WAIT, what="the aborted link to close")
    assert stable.is_symlink()  # left behind, pointing at a socket that is gone
    monkeypatch.delenv("SSH_AUTH_SOCK")  # the user's agent is gone too
    link, screen = await connect(forwarding(server), screen)
    try:
        assert link.reattached_existing
        assert not stable.is_symlink()
        assert list(agent_dir.iterdir()) == []
        status, _ = await agent_check(link, screen, "none")
        assert status == 2  # "cannot connect to the agent": nothing stale answers
    finally:
        link.close()


async def test_a_profile_without_agent_forwarding_leaves_the_server_alone(
    server: SshServer, agents: list[Agent], agent_dir: Path
) -> None:
    link, screen = await connect(profile_for(server))
    try:
        status, _ = await agent_check(link, screen, "off")
        assert status == 2
        assert not agent_dir.exists()
        assert session_auth_sock(server, "tk-test") in {"", "-SSH_AUTH_SOCK"}
    finally:
        link.close()


def tmux_clients(server: SshServer, session: str) -> set[str]:
    """The PIDs of the tmux clients attached to ``session`` on the server."""
    listed = server.tmux("list-clients", "-t", f"={session}", "-F", "#{client_pid}")
    return set(listed.stdout.split())


def pane_agent_check(pane: TmuxPane, tag: str) -> tuple[int, str]:
    """``agent_check`` typed into the real ``termkeep attach`` in a pane, read off its screen."""
    pane.type(_AGENT_CHECK.format(tag=tag))
    pattern = re.compile(rf"agent-rc-(\d+)-{tag}\b")
    found = wait_until(
        lambda: pattern.search(pane.screen()), timeout=WAIT, what=f"ssh-add's status ({tag})"
    )
    return int(found.group(1)), pane.screen()


def test_termkeep_attach_keeps_the_agent_of_the_shell_across_a_server_abort(
    server: SshServer, agents: list[Agent], config_dir: Path
) -> None:
    """As a user would: a profile saying ``agent_forwarding = true``, the real
    ``termkeep attach`` in a terminal, the server aborts, termkeep reattaches by itself, and
    ``ssh-add -l`` in the same shell lists the key again."""
    ProfileStore(config_dir / "hosts").save(forwarding(server, name="agent-e2e"))
    with tmux_pane(termkeep_command("attach", "agent-e2e")) as pane:
        status, screen = pane_agent_check(pane, "before")
        assert (status, agents[0].key_comment in screen) == (0, True)
        pane.type("clear; echo cleared-$((1+1))")
        pane.wait_for("cleared-2", timeout=WAIT, what="the screen to be cleared")
        before = tmux_clients(server, "tk-test")
        server.kill_connections()
        # The reattach, as the server sees it: a new tmux client on the session (termkeep's
        # own "[termkeep] reattached" line may be drawn over by tmux at once).
        wait_until(
            lambda: tmux_clients(server, "tk-test") - before,
            timeout=RECOVER,
            what=lambda: f"termkeep's reattach; the pane shows:\n{pane.screen()}",
        )
        reattached = time.monotonic()
        status, screen = pane_agent_check(pane, "after")
        elapsed_ms = 1000 * (time.monotonic() - reattached)
        print(
            f"\ntermkeep attach: agent back in the old shell {elapsed_ms:.0f} ms after"
            " its tmux client appeared (typed, run, listing read off the pane)"
        )
        assert status == 0
        assert agents[0].key_comment in screen  # the screen was cleared before the abort
        pane.keys("Enter", "~", ".")
        pane.wait_for("TERMKEEP-EXIT=", timeout=WAIT, what="termkeep to exit on ~.")


async def test_ssh_config_forward_agent_and_its_socket_form_for_aliases(
    server: SshServer, agents: list[Agent], tmp_path: Path
) -> None:
    """An alias whose ssh_config block says ``ForwardAgent yes`` forwards the user's agent;
    one that names a socket (OpenSSH 8.2+) forwards that agent; ``no`` forwards none."""
    config = tmp_path / "ssh_config"
    config.write_text(
        ssh_config_entry("yes-box", server, "ForwardAgent yes")
        + ssh_config_entry("socket-box", server, f"ForwardAgent {agents[1].socket}")
        + ssh_config_entry("no-box", server, "ForwardAgent no")
    )
    expected = {"yes-box": agents[0].key_comment, "socket-box": agents[1].key_comment}
    for alias in ("yes-box", "socket-box", "no-box"):
        profile = Profile(
            name=alias,
            host=alias,
            use_ssh_config=True,
            known_hosts_file=str(server.known_hosts),
            tmux=TmuxSettings(session=f"tk-{alias}"),
        )
        connector = connector_for(profile, NoPrompter(), ssh_config=[config])
        screen = Screen()
        link = await bounded(connector(screen, SIZE), timeout=WAIT, what=f"connect to {alias}")
        assert isinstance(link, SshLink)
        try:
            status, text = await agent_check(link, screen, alias.replace("-", ""))
        finally:
            link.close()
        if alias in expected:
            assert status == 0
            assert expected[alias] in text
            assert session_auth_sock(server, f"tk-{alias}") == str(
                server.workdir / "run" / AGENT_DIR_IN_RUNTIME / f"tk-{alias}"
            )
        else:
            assert status == 2
