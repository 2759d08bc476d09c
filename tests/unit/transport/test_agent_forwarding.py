"""Whether a connection forwards the agent: ``hosts add -A``, the profile, and ssh_config's
ForwardAgent for aliases, quick-connect targets and imports (yes/no and a socket path)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from termkeep.cli import main
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.transport import quick_connect, ssh_options
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.ssh.agent import NO_AGENT, AgentChoice, agent_choice
from termkeep.transport.ssh.hops import Target, host_key_settings
from termkeep.transport.ssh_config_import import read_ssh_config
from termkeep.transport.ssh_options import read_ssh_options

PROFILE = Profile(name="web", host="web.example.org")


def target(forward_agent: bool | str | None = None) -> Target:
    return Target(
        "web.example.org", 22, None, None, host_key_settings(PROFILE), None, False, forward_agent
    )


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config"
    config.write_text(text)
    return config


# --- the decision -----------------------------------------------------------------------


def test_off_by_default_whatever_ssh_config_says_unless_the_profile_uses_it() -> None:
    assert agent_choice(PROFILE, target()) == NO_AGENT
    assert agent_choice(PROFILE, target(forward_agent=True)) == NO_AGENT


def test_ssh_config_decides_while_the_profile_leaves_it_unset() -> None:
    uses = replace(PROFILE, use_ssh_config=True)
    assert agent_choice(uses, target(forward_agent=True)) == AgentChoice(True, True)
    assert agent_choice(uses, target(forward_agent=False)) == NO_AGENT
    assert agent_choice(uses, target()) == NO_AGENT
    # What the profile sets wins, both ways.
    assert agent_choice(replace(uses, agent_forwarding=False), target(True)) == NO_AGENT
    assert agent_choice(replace(uses, agent_forwarding=True), target(False)) == AgentChoice(
        True, True
    )


def test_a_socket_path_from_ssh_config_or_the_profile_is_forwarded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    monkeypatch.setenv("OTHER_AGENT", "/run/other.sock")
    uses = replace(PROFILE, use_ssh_config=True)
    assert agent_choice(uses, target("~/agent.sock")) == AgentChoice(True, "/home/ann/agent.sock")
    assert agent_choice(uses, target("$OTHER_AGENT")) == AgentChoice(True, "/run/other.sock")
    own = replace(PROFILE, agent_forwarding=True, agent_forwarding_socket="$OTHER_AGENT")
    assert agent_choice(own, target("/ignored.sock")) == AgentChoice(True, "/run/other.sock")


def test_a_variable_that_is_unset_means_no_agent_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_AGENT", raising=False)
    own = replace(PROFILE, agent_forwarding=True, agent_forwarding_socket="$NO_SUCH_AGENT")
    # Wanted, but nothing to forward: the attach removes the server's stale path.
    assert agent_choice(own, target()) == AgentChoice(True, False)


def test_an_unset_braced_variable_fails_the_connection_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_DIR", raising=False)
    own = replace(PROFILE, agent_forwarding=True, agent_forwarding_socket="${NO_SUCH_DIR}/a")
    with pytest.raises(ConnectFailedError) as caught:
        agent_choice(own, target())
    assert caught.value.cause is Cause.CONFIG
    assert "${NO_SUCH_DIR}" in caught.value.detail
    assert "agent_forwarding_socket" in caught.value.detail


# --- ssh_config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ForwardAgent yes", True),
        ("ForwardAgent no", False),
        ("ForwardAgent $SSH_AUTH_SOCK", "$SSH_AUTH_SOCK"),
        ("ForwardAgent /run/agent.sock", "/run/agent.sock"),
        ("ForwardAgent ${HOME}/agent.sock", "/home/ann/agent.sock"),
        ("ForwardAgent %d/agent.sock", "/home/ann/agent.sock"),
        ("User ann", None),
    ],
)
def test_forward_agent_is_read_for_a_host_at_connect_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, expected: bool | str | None
) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    config = write(tmp_path, f"Host box\n  {line}\nHost *\n  ForwardAgent no\n")
    assert read_ssh_options([config], "box", None, None).forward_agent == (
        False if expected is None else expected
    )
    assert read_ssh_options([config], "elsewhere", None, None).forward_agent is False


def test_an_import_keeps_forward_agent_and_says_what_it_means(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = write(
        tmp_path,
        "Host yes\n  ForwardAgent yes\n"
        "Host no\n  ForwardAgent no\n"
        "Host env\n  ForwardAgent $SSH_AUTH_SOCK\n"
        "Host path\n  ForwardAgent ~/.gnupg/S.gpg-agent.ssh\n"
        "Host bad\n  ForwardAgent $not-a-name\n"
        "Host unset\n  User ann\n",
    )
    plan = read_ssh_config(config)
    found = {item.source: item for item in plan.entries}
    profiles = {alias: item.profile for alias, item in found.items()}
    assert {
        alias: (p.agent_forwarding, p.agent_forwarding_socket) for alias, p in profiles.items()
    } == {
        "yes": (True, None),
        "no": (False, None),
        "env": (True, "$SSH_AUTH_SOCK"),
        "path": (True, "~/.gnupg/S.gpg-agent.ssh"),
        "bad": (None, None),
        "unset": (None, None),
    }
    assert any("server's root can use the keys in your agent" in n for n in found["yes"].notes)
    assert any("ForwardAgent $SSH_AUTH_SOCK" in note for note in found["env"].notes)
    assert found["bad"].notes == (
        "ForwardAgent $not-a-name left out: it must be a path or $NAME, an environment "
        "variable's name; the agent is not forwarded",
    )
    assert found["no"].notes == found["unset"].notes == ()
    # What is imported is saved and loads again.
    store = ProfileStore(tmp_path / "hosts")
    for profile in profiles.values():
        store.save(profile)
        assert store.load(profile.name) == profile


def test_a_quick_connect_alias_reads_forward_agent_again_at_connect_time(tmp_path: Path) -> None:
    config = write(tmp_path, "Host work\n  HostName work.example.org\n  ForwardAgent yes\n")
    profile = quick_connect.resolve_target(ProfileStore(tmp_path / "hosts"), "work", config)
    assert profile.use_ssh_config
    assert profile.agent_forwarding is None  # unset: ssh_config decides when it connects
    options = read_ssh_options([config], profile.host, None, None)
    chosen = agent_choice(profile, target(options.forward_agent))
    assert chosen == AgentChoice(True, True)


def test_agent_forwarding_in_the_system_config_carries_a_literal_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = write(tmp_path, "Host *.corp\n  ForwardAgent yes\n")
    monkeypatch.setattr(ssh_options, "SYSTEM_SSH_CONFIG", system)
    monkeypatch.setattr(quick_connect, "SYSTEM_SSH_CONFIG", system)
    store = ProfileStore(tmp_path / "hosts")
    assert quick_connect.resolve_target(store, "db.corp", tmp_path / "none").use_ssh_config
    assert not quick_connect.resolve_target(store, "db.org", tmp_path / "none").use_ssh_config


# --- hosts add ----------------------------------------------------------------------------


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("TERMKEEP_CONFIG_DIR", str(directory))
    monkeypatch.setenv("TERMKEEP_STATE_DIR", str(tmp_path / "state"))
    return directory


@pytest.mark.parametrize(
    ("flags", "forwarding", "socket"),
    [
        ([], None, None),
        (["-A"], True, None),
        (["--forward-agent"], True, None),
        (["-a"], False, None),
        (["--forward-agent-socket", "$MY_AGENT"], True, "$MY_AGENT"),
    ],
)
def test_hosts_add_forward_agent_flags(
    config_dir: Path, flags: list[str], forwarding: bool | None, socket: str | None
) -> None:
    assert main(["hosts", "add", "web", "--host", "web.example.org", *flags]) == 0
    profile = ProfileStore().load("web")
    assert (profile.agent_forwarding, profile.agent_forwarding_socket) == (forwarding, socket)
    text = (config_dir / "hosts" / "web.toml").read_text()
    assert ("agent_forwarding = true" in text) is (forwarding is True)


def test_hosts_add_refuses_contradicting_agent_flags(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hosts", "add", "web", "--host", "h", "-A", "-a"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "-a/--no-forward-agent: not allowed with argument -A/--forward-agent" in err
    assert not (config_dir / "hosts" / "web.toml").exists()


def test_hosts_add_refuses_a_bad_socket_in_one_line(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["hosts", "add", "web", "--host", "h", "--forward-agent-socket", "%d/a"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1
    assert "percent tokens" in err
    assert not (config_dir / "hosts" / "web.toml").exists()
