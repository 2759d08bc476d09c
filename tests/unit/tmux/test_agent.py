"""The stable agent path: the attach command's shell pieces, run for real (sh, dash, bash, real
Unix sockets, a private tmux server), without sshd (tests/integration/test_agent.py has it)."""

from __future__ import annotations

import os
import pty
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.tmux import agent, attach
from termkeep.tmux.names import sanitize_session_name
from termkeep.transport.link import AgentState
from tests.fixtures.waiting import wait_until

NONCE = "0123abcd"
SESSION = "tk-agent"
SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]
FORWARDING = [AgentState.FORWARDED, AgentState.MISSING]


@pytest.fixture
def place() -> Iterator[Path]:
    """A short private directory (socket paths must stay short) for the sockets, the runtime
    directory and the home of one test."""
    path = Path(tempfile.mkdtemp(prefix="tk-ag-", dir="/tmp"))
    (path / "run").mkdir(mode=0o700)
    (path / "home").mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def agent_socket(place: Path) -> Iterator[Path]:
    """A listening Unix socket standing in for the one sshd makes for a connection."""
    yield from _listening(place / "agent1.sock")


def _listening(path: Path) -> Iterator[Path]:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        yield path


def env_for(
    place: Path, *, sock: Path | None, runtime: bool = True, tty: str = "/dev/pts/900"
) -> dict[str, str]:
    """A connection's environment as sshd makes it: its terminal, maybe an agent socket, and
    a private tmux (no tmux server runs there unless a test starts one)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(place / "home"),
        "TMUX_TMPDIR": str(place),
        "SSH_TTY": tty,
    }
    if runtime:
        env["XDG_RUNTIME_DIR"] = str(place / "run")
    if sock is not None:
        env["SSH_AUTH_SOCK"] = str(sock)
    return env


def run_pieces(
    env: dict[str, str], *pieces: str, shell: str = "sh"
) -> subprocess.CompletedProcess[str]:
    """Run script pieces in one shell, as the attach command does; the last line printed is
    the SSH_AUTH_SOCK tmux would be started with."""
    script = "; ".join((*pieces, 'echo "$SSH_AUTH_SOCK"'))
    return subprocess.run(
        [shell, "-c", script], env=env, capture_output=True, text=True, timeout=10, check=True
    )


def stable_path(place: Path, session: str = SESSION) -> Path:
    return place / "run" / agent.AGENT_DIR_IN_RUNTIME / agent.agent_link_name(session)


def connects(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(str(path))
        except OSError:
            return False
        return True


# --- the command ------------------------------------------------------------------------


def test_without_agent_forwarding_the_attach_command_is_unchanged() -> None:
    plain = attach.reporting_attach_command(SESSION, NONCE)
    assert attach.reporting_attach_command(SESSION, NONCE, agent=AgentState.OFF) == plain
    assert "SSH_AUTH_SOCK" not in plain
    assert "trap" not in plain
    assert "; exec tmux" in plain  # the shell becomes tmux, as before


@pytest.mark.parametrize("state", FORWARDING)
def test_the_agent_attach_command_is_one_single_quoted_word(state: AgentState) -> None:
    command = attach.reporting_attach_command(SESSION, NONCE, agent=state)
    words = shlex.split(command)
    assert words[:2] == ["sh", "-c"]
    assert len(words) == 3
    # One pair of single quotes around the whole script: nothing for fish or csh to reread.
    assert command == f"sh -c '{words[2]}'"
    assert not set("\\!\n\r'") & set(words[2])
    assert "export SSH_AUTH_SOCK" in words[2]
    assert ('ln -sfn "$SSH_AUTH_SOCK"' in words[2]) is (state is AgentState.FORWARDED)


@pytest.mark.parametrize("state", FORWARDING)
@pytest.mark.parametrize("shell", SHELLS)
def test_the_agent_attach_script_parses_in_every_sh(shell: str, state: AgentState) -> None:
    script = shlex.split(attach.reporting_attach_command(SESSION, NONCE, agent=state))[2]
    subprocess.run([shell, "-n", "-c", script], timeout=10, check=True)


def test_link_names_are_short_distinct_and_dotless() -> None:
    assert agent.agent_link_name("termkeep-web") == "termkeep-web"
    long_one = "termkeep__" + "a" * 200
    other = "termkeep__" + "a" * 199 + "b"
    names = {agent.agent_link_name(long_one), agent.agent_link_name(other)}
    assert len(names) == 2
    for name in names:
        assert len(name) <= agent.LINK_NAME_MAX
        assert "." not in name
    longest = sanitize_session_name("x" * 1000)
    assert len(agent.agent_link_name(longest)) <= agent.LINK_NAME_MAX


def test_an_unsanitised_name_is_refused() -> None:
    with pytest.raises(ValueError, match="sanitised"):
        agent.agent_link_name("a.b")


# --- the pieces, run ------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_a_forwarded_agent_gets_a_stable_path_in_a_private_directory(
    place: Path, agent_socket: Path, shell: str
) -> None:
    setup = agent.agent_setup_script(SESSION, AgentState.FORWARDED)
    result = run_pieces(env_for(place, sock=agent_socket), setup, shell=shell)
    path = stable_path(place)
    assert result.stdout.splitlines()[-1] == str(path)
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert path.is_symlink()
    # The stable path leads to this connection's own link, which leads to its socket.
    own = path.parent / path.readlink()
    assert own.name == f"{path.name}.900"  # named by the connection's terminal
    assert own.readlink() == agent_socket
    assert connects(path)


def test_without_a_runtime_directory_the_path_is_under_the_home_by_host_name(
    place: Path, agent_socket: Path
) -> None:
    setup = agent.agent_setup_script(SESSION, AgentState.FORWARDED)
    result = run_pieces(env_for(place, sock=agent_socket, runtime=False), setup)
    host = os.uname().nodename
    expected = place / "home" / agent.AGENT_DIR_IN_HOME / host / SESSION
    assert result.stdout.splitlines()[-1] == str(expected)
    assert (expected.parent.stat().st_mode & 0o777) == 0o700
    assert connects(expected)


def test_a_connection_without_an_agent_removes_the_stale_path(
    place: Path, agent_socket: Path
) -> None:
    env = env_for(place, sock=agent_socket)
    run_pieces(env, agent.agent_setup_script(SESSION, AgentState.FORWARDED))
    path = stable_path(place)
    assert path.is_symlink()
    # The first connection's shell has exited: its link is a dead one. The next connection
    # has no agent (none forwarded, or none asked for): nothing may point at the old socket.
    for state, sock in ((AgentState.MISSING, agent_socket), (AgentState.FORWARDED, None)):
        run_pieces(env_for(place, sock=sock), agent.agent_setup_script(SESSION, state))
        assert not path.is_symlink()
        assert list(path.parent.iterdir()) == []
        run_pieces(env, agent.agent_setup_script(SESSION, AgentState.FORWARDED))


def test_a_missing_agent_leaves_a_live_path_of_another_connection(
    tmux_env: dict[str, str], place: Path
) -> None:
    """A tab with an agent and an ``attach`` without one on the same session: the tab's
    agent stays reachable while the tab is connected, and goes with it."""
    path = stable_path(place)
    tab, master = _start_attach(tmux_env)
    try:
        tab_link = path.parent / path.readlink()
        result = run_pieces(
            env_for(place, sock=None, tty="/dev/pts/901"),
            agent.agent_setup_script(SESSION, AgentState.MISSING),
            agent.agent_release_script(),
        )
        assert result.stdout.splitlines()[-1] == str(path)
        assert path.parent / path.readlink() == tab_link
        assert connects(path)
        _tmux(tmux_env, "detach-client", "-s", f"={SESSION}")
        os.waitpid(tab, 0)
    finally:
        os.close(master)
    assert not path.is_symlink()


def test_when_a_connection_ends_the_path_moves_to_one_still_attached(
    tmux_env: dict[str, str], place: Path, agent_socket: Path
) -> None:
    path = stable_path(place)
    tab, master = _start_attach(tmux_env)  # attached, with agent_socket
    try:
        for second in _listening(place / "agent2.sock"):
            env = env_for(place, sock=second, tty="/dev/pts/901")
            setup = agent.agent_setup_script(SESSION, AgentState.FORWARDED)
            # This connection attaches last: the path is its own while its tmux runs...
            during = run_pieces(env, setup, "readlink -f $SSH_AUTH_SOCK")
            assert during.stdout.splitlines()[0] == str(second)
            # ...and the other connection's once it has ended (detach or hang-up).
            run_pieces(env, setup, agent.agent_release_script())
            assert path.resolve() == agent_socket
            assert [p.name for p in path.parent.glob(f"{path.name}.*")] == [path.readlink().name]
    finally:
        os.close(master)
        os.waitpid(tab, 0)


def test_links_of_connections_no_longer_attached_are_removed(
    tmux_env: dict[str, str], place: Path, agent_socket: Path
) -> None:
    """A connection killed with its sshd could not clean up: its link and a stable path to it
    are left, its socket file too. The next attach finds its terminal gone from tmux's list
    of clients and removes them."""
    path = stable_path(place)
    tab, master = _start_attach(tmux_env)
    os.close(master)
    os.waitpid(tab, 0)
    assert not path.is_symlink()  # that one cleaned up after itself: the session is empty
    (path.parent / f"{path.name}.77").symlink_to(agent_socket)  # the killed connection's
    path.symlink_to(f"{path.name}.77")
    run_pieces(
        env_for(place, sock=None, tty="/dev/pts/901"),
        agent.agent_setup_script(SESSION, AgentState.MISSING),
    )
    assert list(path.parent.iterdir()) == []


def test_a_startup_file_pointing_at_the_stable_path_makes_no_loop(place: Path) -> None:
    path = stable_path(place)
    result = run_pieces(
        env_for(place, sock=path), agent.agent_setup_script(SESSION, AgentState.FORWARDED)
    )
    assert result.stdout.splitlines()[-1] == str(path)
    assert not path.is_symlink()


def test_a_path_too_long_for_a_socket_is_not_made(agent_socket: Path, place: Path) -> None:
    deep = place / "run" / ("d" * 90)
    deep.mkdir(mode=0o700)
    env = env_for(place, sock=agent_socket) | {"XDG_RUNTIME_DIR": str(deep)}
    setup = agent.agent_setup_script(SESSION, AgentState.FORWARDED)
    result = run_pieces(env, setup, 'echo "dir=$agent_dir"')
    # The connection's own socket stays in use; nothing is written.
    assert result.stdout.splitlines()[-2:] == ["dir=", str(agent_socket)]
    assert list(deep.iterdir()) == []


def test_the_path_never_goes_missing_while_it_is_re_pointed(
    place: Path, agent_socket: Path
) -> None:
    env = env_for(place, sock=agent_socket)
    setup = agent.agent_setup_script(SESSION, AgentState.FORWARDED)
    run_pieces(env, setup)
    path = stable_path(place)
    missing: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            if not path.is_symlink():
                missing.append(count)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            run_pieces(env, setup)  # each run is a new connection: the link is replaced
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert missing == []


# --- with a real tmux -------------------------------------------------------------------


@pytest.fixture
def tmux_env(place: Path, agent_socket: Path) -> Iterator[dict[str, str]]:
    """A private tmux server (short TMUX_TMPDIR), a runtime directory and an agent socket."""
    env = {k: v for k, v in os.environ.items() if k not in {"TMUX", "SSH_AUTH_SOCK"}}
    env |= env_for(place, sock=agent_socket)
    env["TMUX_TMPDIR"] = str(place)
    env["TERM"] = "xterm-256color"
    yield env
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, timeout=10, check=False)


def _tmux(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tmux", *args], env=env, capture_output=True, text=True, timeout=10, check=False
    )


def _start_attach(env: dict[str, str]) -> tuple[int, int]:
    """Run the attach command in a new terminal, as sshd would (``SSH_TTY`` is the terminal),
    and wait until its tmux client is attached."""
    command = attach.reporting_attach_command(SESSION, NONCE, agent=AgentState.FORWARDED)
    child, master = pty.fork()
    if child == 0:  # pragma: no cover - the child execs the login shell at once
        env = {**env, "SSH_TTY": os.ttyname(0)}
        os.execvpe("bash", ["bash", "-c", command], env)  # noqa: S606
    wait_until(
        lambda: _tmux(env, "list-clients", "-t", f"={SESSION}").stdout.strip() != "",
        timeout=10,
        what="the tmux client of the attach command",
    )
    return child, master


@pytest.mark.parametrize("ending", ["detach", "hang-up"])
def test_tmux_gets_the_stable_path_and_it_goes_when_the_client_ends(
    tmux_env: dict[str, str], place: Path, ending: str
) -> None:
    child, master = _start_attach(tmux_env)
    path = stable_path(place)
    try:
        shown = _tmux(tmux_env, "show-environment", "-t", f"={SESSION}", "SSH_AUTH_SOCK")
        assert shown.stdout.strip() == f"SSH_AUTH_SOCK={path}"
        assert connects(path)
        if ending == "detach":
            _tmux(tmux_env, "detach-client", "-s", f"={SESSION}")
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 0  # tmux's own status, passed on
    finally:
        os.close(master)  # for "hang-up", this is the connection dropping
    if ending == "hang-up":
        os.waitpid(child, 0)
    # The shell outlived its tmux client and took the path away: no other client is attached.
    assert not path.is_symlink()
    assert list(path.parent.iterdir()) == []
