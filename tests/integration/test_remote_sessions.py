"""Listing and killing termkeep's tmux sessions on a real OpenSSH sshd with a real, private tmux."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.transport.connection import SshLink, make_connector
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.remote_sessions import RemoteSessions, kill_session, list_sessions
from termkeep.transport.tmux_sessions import TmuxCommandError, kill_command
from tests.fixtures import sshd as sshd_module
from tests.fixtures.sshd import SshServer

WAIT = 15.0

# The profile "web" on the fixture: its tabs hold termkeep-web, termkeep-web-2, ...
OURS = ("termkeep-web", "termkeep-web-2", "termkeep-web-10")
NOT_OURS = (
    "termkeep-webby",  # another profile's name that merely starts the same
    "termkeep-web-x",
    "termkeep-web-1",  # termkeep numbers extra tabs from 2
    "termkeep-web-02",
    "termkeep-db",
    "work",
)


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway HOME and no agent: only the keys a test names are offered."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def web_profile(server: SshServer, **changes: object) -> Profile:
    profile = Profile(
        name="web",
        host=server.host,
        port=server.port,
        user=server.user,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(server.known_hosts),
    )
    return replace(profile, **changes)  # type: ignore[arg-type]


async def bounded[T](work: Awaitable[T], what: str) -> T:
    try:
        return await asyncio.wait_for(work, WAIT)
    except TimeoutError:
        raise AssertionError(f"timed out after {WAIT:g} s waiting for {what}") from None


def make_sessions(server: SshServer, *names: str) -> None:
    for name in names:
        server.tmux("new-session", "-d", "-s", name, check=True)


def session_names(server: SshServer) -> set[str]:
    listing = server.tmux("list-sessions", "-F", "#{session_name}")
    return set(listing.stdout.splitlines()) if listing.returncode == 0 else set()


async def test_lists_only_the_profiles_own_sessions_with_their_details(
    sshd: SshServer,
) -> None:
    make_sessions(sshd, *OURS, *NOT_OURS)
    sshd.tmux("new-window", "-d", "-t", "=termkeep-web-10", check=True)
    profile = web_profile(sshd)
    # A real tab elsewhere holds termkeep-web-2: its client shows as attached.
    tab_profile = replace(profile, tmux=TmuxSettings(session="termkeep-web-2"))
    link = await bounded(make_connector(tab_profile, NoPrompter())(lambda _: None, (80, 24)), "tab")
    assert isinstance(link, SshLink)
    try:
        listing = await bounded(list_sessions(profile, NoPrompter()), "list")
    finally:
        link.close()
    assert listing.tmux_installed
    by_name = {session.name: session for session in listing.sessions}
    assert sorted(by_name) == sorted(OURS)
    assert by_name["termkeep-web-2"].attached == 1
    assert by_name["termkeep-web"].attached == 0
    assert by_name["termkeep-web-10"].windows == 2
    assert by_name["termkeep-web"].windows == 1
    claimed = RemoteSessions(profile, NoPrompter(), claimed={"termkeep-web-10"})
    later = await bounded(claimed.list(), "list with a claimed name")
    assert [session.name for session in later.sessions] == ["termkeep-web", "termkeep-web-2"]
    created = sshd.tmux("list-sessions", "-F", "#{session_name} #{session_created}").stdout
    assert f"termkeep-web {by_name['termkeep-web'].created.timestamp():.0f}" in created


async def test_a_named_tmux_session_and_an_odd_one_are_sanitised_like_an_attach(
    sshd: SshServer,
) -> None:
    # The profile names its tmux session; an attach runs it as tmux.sanitize_session_name
    # makes it, and the listing matches that form (and its numbered siblings).
    profile = web_profile(sshd, tmux=TmuxSettings(session="it's a.b:c"))
    make_sessions(sshd, "it_s_a_b_c", "it_s_a_b_c-3", "it_s_a_b_c-three")
    listing = await bounded(list_sessions(profile, NoPrompter()), "list")
    assert [session.name for session in listing.sessions] == ["it_s_a_b_c", "it_s_a_b_c-3"]


async def test_no_tmux_server_is_an_empty_list(sshd: SshServer) -> None:
    assert sshd.tmux_server_pid() is None
    listing = await bounded(list_sessions(web_profile(sshd), NoPrompter()), "list")
    assert listing.sessions == ()
    assert listing.tmux_installed


async def test_kill_kills_exactly_the_named_session(sshd: SshServer) -> None:
    make_sessions(sshd, *OURS, *NOT_OURS)
    profile = web_profile(sshd)
    await bounded(kill_session(profile, "termkeep-web", NoPrompter()), "kill")
    # '=' in the target: no prefix match reaches termkeep-web-2 or termkeep-webby.
    assert session_names(sshd) == (set(OURS) | set(NOT_OURS)) - {"termkeep-web"}
    remote = RemoteSessions(profile, NoPrompter())
    listing = await bounded(remote.list(), "list after kill")
    assert [session.name for session in listing.sessions] == ["termkeep-web-2", "termkeep-web-10"]
    with pytest.raises(TmuxCommandError, match="can't find session"):
        await bounded(remote.kill("termkeep-web"), "kill again")


async def test_kill_refuses_a_session_that_is_not_the_profiles(sshd: SshServer) -> None:
    make_sessions(sshd, "termkeep-webby", "work")
    remote = RemoteSessions(web_profile(sshd), NoPrompter())
    for name in ("termkeep-webby", "work", "termkeep-web-1"):
        with pytest.raises(ValueError, match="not a tmux session termkeep made for web"):
            await remote.kill(name)
    assert session_names(sshd) == {"termkeep-webby", "work"}


def test_the_kill_command_quotes_an_odd_name_through_a_real_login_shell(
    sshd: SshServer, tmp_path: Path
) -> None:
    witness = tmp_path / "pwned"
    odd = f"it's; touch {witness} #\"`x`"
    make_sessions(sshd, odd, f"{odd}-2", "it")
    result = sshd.run_ssh(kill_command(odd))
    assert result.returncode == 0, result.stderr
    assert session_names(sshd) == {f"{odd}-2", "it"}
    assert not witness.exists()


async def test_a_host_without_tmux_says_so(
    sshd_factory: Callable[..., SshServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sessions of this server get a PATH with a shell but no tmux.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash", "env"):
        source = Path("/usr/bin", tool) if Path("/usr/bin", tool).exists() else Path("/bin", tool)
        (bin_dir / tool).symlink_to(source)
    original_config = sshd_module.render_config

    def without_tmux(server: SshServer) -> str:
        lines = [
            f"{line} PATH={bin_dir}" if line.startswith("SetEnv ") else line
            for line in original_config(server).splitlines()
        ]
        return "\n".join(lines) + "\n"

    monkeypatch.setattr(sshd_module, "render_config", without_tmux)
    server = sshd_factory()
    listing = await bounded(list_sessions(web_profile(server), NoPrompter()), "list")
    assert listing.sessions == ()
    assert not listing.tmux_installed


async def test_connection_problems_are_connect_failures(sshd: SshServer, tmp_path: Path) -> None:
    empty_known_hosts = tmp_path / "known_hosts"
    empty_known_hosts.write_text("")
    stranger = web_profile(sshd, known_hosts_file=str(empty_known_hosts))
    with pytest.raises(ConnectFailedError) as unknown:
        await bounded(list_sessions(stranger, NoPrompter()), "list")
    assert unknown.value.cause is Cause.HOST_KEY_UNKNOWN

    keyless = web_profile(sshd, identity_files=(), use_ssh_config=False)
    with pytest.raises(ConnectFailedError) as refused:
        await bounded(kill_session(keyless, "termkeep-web", NoPrompter()), "kill")
    assert refused.value.cause is Cause.AUTH_FAILED
