"""Quick connect against the real sshd: a literal ``user@host:port``, an ssh_config alias,
and a saved profile of the same name winning over the alias. The ssh_config is the user's
own (``~/.ssh/config`` under a throwaway HOME); its ``Host *`` block supplies the key and the
known_hosts file, as it would for ``ssh``."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.profile import TmuxSettings, default_tmux_session
from termkeep.config.store import ProfileStore
from termkeep.transport import tmux
from termkeep.transport.quick_connect import resolve_target
from tests.fixtures.home import use_private_home
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.integration.test_reconnect import ATTACH_WAIT, opened


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd: SshServer) -> Path:
    """A HOME whose ~/.ssh/config names the test server as ``box`` and gives every host the
    server's client key and known_hosts (no real ~/.ssh is read, no agent is asked)."""
    return use_private_home(
        tmp_path,
        monkeypatch,
        f"Host box\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n\n"
        f"Host *\n  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n",
    )


async def attached_tmux_session(store: ProfileStore, target: str) -> str:
    """Connect to ``target`` as ``termkeep TARGET`` would; the tmux session it attached."""
    profile = resolve_target(store, target)
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, f"{target} to attach")
        await watch.run("echo quick-$((6*7))", "quick-42")
        return tmux.sanitize_session_name(profile.tmux_session_name)


async def test_a_literal_host_an_alias_and_a_saved_profile_first(
    sshd: SshServer, home: Path, tmp_path: Path
) -> None:
    store = ProfileStore(tmp_path / "hosts")
    literal = f"{sshd.user}@{sshd.host}:{sshd.port}"
    made = await attached_tmux_session(store, literal)
    assert made == default_tmux_session(literal)  # '@', '.' and ':' written out: termkeep__
    assert sshd.tmux("has-session", "-t", f"={made}").returncode == 0

    assert await attached_tmux_session(store, "box") == "termkeep-box"
    assert sshd.tmux("has-session", "-t", "=termkeep-box").returncode == 0

    store.save(profile_for(sshd, name="box", tmux=TmuxSettings(session="saved-wins")))
    assert await attached_tmux_session(store, "box") == "saved-wins"
    assert sshd.tmux("has-session", "-t", "=saved-wins").returncode == 0
