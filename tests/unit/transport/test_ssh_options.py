"""The ssh_config options termkeep applies itself, read with asyncssh's parser: which of
ProxyCommand and ProxyJump wins, how the command is run, host key options, and the settings
that are refused rather than dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.transport.hostkeys import StrictHostKeyChecking
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.ssh_options import SshOptions, read_ssh_options


def options_for(tmp_path: Path, text: str, host: str = "box") -> SshOptions:
    config = tmp_path / "config"
    config.write_text(text)
    return read_ssh_options([config], host, None, None)


def test_the_first_of_proxycommand_and_proxyjump_wins(tmp_path: Path) -> None:
    command_first = options_for(tmp_path, "Host box\n  ProxyCommand nc %h %p\n  ProxyJump j\n")
    assert (command_first.proxy_command, command_first.proxy_jump) == ("nc box 22", None)
    jump_first = options_for(tmp_path, "Host box\n  ProxyJump a,b\nHost *\n  ProxyCommand nc\n")
    assert (jump_first.proxy_command, jump_first.proxy_jump) == (None, "a,b")


def test_none_turns_a_later_proxy_off(tmp_path: Path) -> None:
    turned_off = options_for(tmp_path, "Host box\n  ProxyCommand none\nHost *\n  ProxyJump j\n")
    assert (turned_off.proxy_command, turned_off.proxy_jump) == (None, None)


def test_the_command_runs_through_the_user_s_shell_like_ssh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    found = options_for(
        tmp_path, "Host box\n  HostName b.example\n  Port 2022\n  ProxyCommand x %h:%p\n"
    )
    assert found.proxy_argv() == ["/bin/bash", "-c", "exec x b.example:2022"]
    monkeypatch.delenv("SHELL")
    assert found.proxy_argv() == ["/bin/sh", "-c", "exec x b.example:2022"]
    assert options_for(tmp_path, "Host other\n  ProxyCommand x\n").proxy_argv() is None


def test_host_key_options(tmp_path: Path) -> None:
    found = options_for(
        tmp_path,
        "Host box\n  StrictHostKeyChecking off\n  CheckHostIP yes\n  HostKeyAlias castle\n"
        "  UserKnownHostsFile ~/a %d/b\n  GlobalKnownHostsFile none\n"
        "  HostKeyAlgorithms ssh-ed25519\n",
    )
    assert found.strict_host_key_checking is StrictHostKeyChecking.NO
    assert found.check_host_ip is True
    assert found.host_key_alias == "castle"
    assert found.user_known_hosts is not None
    assert found.user_known_hosts[0] == "~/a"
    assert found.user_known_hosts[1] == f"{Path.home()}/b"
    assert found.global_known_hosts == ()
    assert found.host_key_algorithms
    unset = options_for(tmp_path, "Host other\n  StrictHostKeyChecking yes\n")
    assert (unset.strict_host_key_checking, unset.user_known_hosts) == (None, None)


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("ProxyUseFdpass yes", "ProxyUseFdpass yes"),
        ("ProxyCommand -", "ProxyCommand -"),
        ("StrictHostKeyChecking maybe", "StrictHostKeyChecking 'maybe'"),
    ],
)
def test_what_cannot_be_honoured_is_refused_in_one_line(
    tmp_path: Path, line: str, named: str
) -> None:
    with pytest.raises(ConnectFailedError) as refused:
        options_for(tmp_path, f"Host box\n  {line}\n")
    assert refused.value.cause is Cause.CONFIG
    assert named in refused.value.detail
    assert "\n" not in refused.value.detail


def test_a_config_that_does_not_parse_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConnectFailedError) as refused:
        options_for(tmp_path, "Host box\n  Port notaport\n")
    assert refused.value.cause is Cause.CONFIG
    assert "\n" not in refused.value.detail


def test_known_hosts_command_is_refused(tmp_path: Path) -> None:
    # Its keys would make a changed key look changed; without them it looks unknown.
    with pytest.raises(ConnectFailedError, match="KnownHostsCommand") as refused:
        options_for(tmp_path, "Host box\n  KnownHostsCommand /usr/bin/keys %H %K\n")
    assert refused.value.cause is Cause.CONFIG
    assert options_for(tmp_path, "Host box\n  KnownHostsCommand none\n").proxy_command is None


def test_revoked_host_keys_are_read(tmp_path: Path) -> None:
    found = options_for(tmp_path, "Host box\n  RevokedHostKeys %d/revoked\n")
    assert found.revoked_host_keys == (f"{Path.home()}/revoked",)
