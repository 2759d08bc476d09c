"""Listing and killing termkeep's tmux sessions on a real OpenSSH sshd with a real, private tmux."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.config.store import ProfileStore
from termkeep.session.tab_session import Session
from termkeep.tmux.names import adoptable_legacy_base
from termkeep.tmux.sessions import (
    RemoteSessions,
    TmuxCommandError,
    kill_command,
    kill_session,
    list_sessions,
)
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.link import SshLink
from tests.fixtures import sshd as sshd_module
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import bounded
from tests.integration.test_reconnect import ATTACH_WAIT, Watch
from tests.integration.test_transport import connector_for

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
    link = await bounded(
        connector_for(tab_profile, NoPrompter())(lambda _: None, (80, 24)), timeout=WAIT, what="tab"
    )
    assert isinstance(link, SshLink)
    try:
        listing = await bounded(list_sessions(profile, NoPrompter()), timeout=WAIT, what="list")
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
    later = await bounded(claimed.list(), timeout=WAIT, what="list with a claimed name")
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
    listing = await bounded(list_sessions(profile, NoPrompter()), timeout=WAIT, what="list")
    assert [session.name for session in listing.sessions] == ["it_s_a_b_c", "it_s_a_b_c-3"]


async def test_no_tmux_server_is_an_empty_list(sshd: SshServer) -> None:
    assert sshd.tmux_server_pid() is None
    listing = await bounded(
        list_sessions(web_profile(sshd), NoPrompter()), timeout=WAIT, what="list"
    )
    assert listing.sessions == ()
    assert listing.tmux_installed


async def test_kill_kills_exactly_the_named_session(sshd: SshServer) -> None:
    make_sessions(sshd, *OURS, *NOT_OURS)
    profile = web_profile(sshd)
    await bounded(kill_session(profile, "termkeep-web", NoPrompter()), timeout=WAIT, what="kill")
    # '=' in the target: no prefix match reaches termkeep-web-2 or termkeep-webby.
    assert session_names(sshd) == (set(OURS) | set(NOT_OURS)) - {"termkeep-web"}
    remote = RemoteSessions(profile, NoPrompter())
    listing = await bounded(remote.list(), timeout=WAIT, what="list after kill")
    assert [session.name for session in listing.sessions] == ["termkeep-web-2", "termkeep-web-10"]
    with pytest.raises(TmuxCommandError, match="can't find session"):
        await bounded(remote.kill("termkeep-web"), timeout=WAIT, what="kill again")


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
    listing = await bounded(
        list_sessions(web_profile(server), NoPrompter()), timeout=WAIT, what="list"
    )
    assert listing.sessions == ()
    assert not listing.tmux_installed


async def test_connection_problems_are_connect_failures(sshd: SshServer, tmp_path: Path) -> None:
    empty_known_hosts = tmp_path / "known_hosts"
    empty_known_hosts.write_text("")
    stranger = web_profile(sshd, known_hosts_file=str(empty_known_hosts))
    with pytest.raises(ConnectFailedError) as unknown:
        await bounded(list_sessions(stranger, NoPrompter()), timeout=WAIT, what="list")
    assert unknown.value.cause is Cause.HOST_KEY_UNKNOWN

    keyless = web_profile(sshd, identity_files=(), use_ssh_config=False)
    with pytest.raises(ConnectFailedError) as refused:
        await bounded(
            kill_session(keyless, "termkeep-web", NoPrompter()), timeout=WAIT, what="kill"
        )
    assert refused.value.cause is Cause.AUTH_FAILED


# --- sessions named before names were made distinct ----------------------------------------
# Profiles a.b, a_b and a:b all attached termkeep-a_b before; now a.b attaches termkeep_a_b,
# a:b termkeep__a_3a_b, and a_b keeps termkeep-a_b.

OLD_NAME = "termkeep-a_b"


def session_id(server: SshServer, name: str) -> str | None:
    """tmux's id of the session ``name`` (``$3``), or None when there is none."""
    listing = server.tmux("list-sessions", "-F", "#{session_name}|#{session_id}").stdout
    ids = dict(line.rsplit("|", 1) for line in listing.splitlines())
    return ids.get(name)


def saved_store(tmp_path: Path, *profiles: Profile) -> ProfileStore:
    store = ProfileStore(tmp_path / "hosts")
    for profile in profiles:
        store.save(profile)
    return store


async def attach_tab(server: SshServer, profile: Profile, store: ProfileStore) -> None:
    """Open the profile as a tab does, wait until its tmux session runs, close the tab (the
    tmux session stays)."""
    session = Session(profile, NoPrompter(), store=store)
    watch = Watch(session)
    await session.start()
    try:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        # The attach is reported just before tmux starts: wait for the session itself.
        name = profile.tmux_session_name
        await watch.until(lambda: session_id(server, name), ATTACH_WAIT, f"session {name}")
    finally:
        await session.close()


async def test_an_old_named_session_is_found_again_and_takes_its_new_name(
    sshd: SshServer, tmp_path: Path
) -> None:
    make_sessions(sshd, OLD_NAME, f"{OLD_NAME}-2")
    old = session_id(sshd, OLD_NAME)
    dotted = web_profile(sshd, name="a.b")
    store = saved_store(tmp_path, dotted)
    assert dotted.tmux_session_name == "termkeep_a_b"

    await attach_tab(sshd, dotted, store)

    # The same tmux session (same id: the programs in it live on), under the new name.
    assert session_id(sshd, "termkeep_a_b") == old
    assert session_id(sshd, OLD_NAME) is None
    # The old second tab is still listed for the profile, and may be killed from there.
    remote = RemoteSessions(dotted, NoPrompter(), legacy=adoptable_legacy_base(dotted, [dotted]))
    listing = await bounded(remote.list(), timeout=WAIT, what="list")
    assert [session.name for session in listing.sessions] == ["termkeep_a_b", f"{OLD_NAME}-2"]
    await bounded(remote.kill(f"{OLD_NAME}-2"), timeout=WAIT, what="kill the old second tab")
    assert session_names(sshd) == {"termkeep_a_b"}


async def test_the_profile_whose_name_is_the_old_name_keeps_the_session(
    sshd: SshServer, tmp_path: Path
) -> None:
    make_sessions(sshd, OLD_NAME)
    old = session_id(sshd, OLD_NAME)
    dotted, plain, colon = (web_profile(sshd, name=name) for name in ("a.b", "a_b", "a:b"))
    store = saved_store(tmp_path, dotted, plain, colon)

    await attach_tab(sshd, dotted, store)
    await attach_tab(sshd, colon, store)
    assert session_id(sshd, OLD_NAME) == old  # neither a.b nor a:b took a_b's session
    assert session_names(sshd) == {OLD_NAME, "termkeep_a_b", "termkeep__a_3a_b"}

    await attach_tab(sshd, plain, store)
    assert session_id(sshd, OLD_NAME) == old  # a_b attached its own, as before
    assert session_names(sshd) == {OLD_NAME, "termkeep_a_b", "termkeep__a_3a_b"}
    listing = await bounded(
        RemoteSessions(dotted, NoPrompter(), legacy=adoptable_legacy_base(dotted, [plain])).list(),
        timeout=WAIT,
        what="list",
    )
    assert [session.name for session in listing.sessions] == ["termkeep_a_b"]


async def test_two_rewritten_profiles_leave_their_common_old_session_alone(
    sshd: SshServer, tmp_path: Path
) -> None:
    make_sessions(sshd, OLD_NAME)
    old = session_id(sshd, OLD_NAME)
    dotted, colon = (web_profile(sshd, name=name) for name in ("a.b", "a:b"))
    store = saved_store(tmp_path, dotted, colon)
    await attach_tab(sshd, dotted, store)
    # Which of the two it was cannot be told: neither takes it.
    assert session_id(sshd, OLD_NAME) == old
    assert session_names(sshd) == {OLD_NAME, "termkeep_a_b"}
