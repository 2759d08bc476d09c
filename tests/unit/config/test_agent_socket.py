"""The profile's agent forwarding keys: strict reading, and OpenSSH's socket-path forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.agent import AgentSocketError, agent_socket_problem, resolve_agent_socket
from termkeep.config.errors import ProfileLoadError
from termkeep.config.schema import KEYS, profile_from_mapping


def load(**values: object) -> object:
    return profile_from_mapping("web", {"host": "web.example.org", **values}, "web.toml")


def test_agent_forwarding_is_unset_by_default_so_ssh_config_can_decide() -> None:
    assert KEYS["agent_forwarding"].default is None
    profile = profile_from_mapping("web", {"host": "h"}, "web.toml")
    assert profile.agent_forwarding is None
    assert profile.agent_forwarding_socket is None


@pytest.mark.parametrize("spec", ["$SSH_AUTH_SOCK", "~/.gnupg/S.gpg-agent.ssh", "/run/a b.sock"])
def test_socket_forms_ssh_accepts_load(spec: str) -> None:
    profile = profile_from_mapping(
        "web",
        {"host": "h", "agent_forwarding": True, "agent_forwarding_socket": spec},
        "web.toml",
    )
    assert profile.agent_forwarding_socket == spec


def test_a_socket_without_forwarding_is_refused_in_one_line() -> None:
    for switch in ({}, {"agent_forwarding": False}):
        with pytest.raises(ProfileLoadError) as caught:
            load(agent_forwarding_socket="/tmp/a.sock", **switch)
        assert str(caught.value) == (
            "web.toml: 'agent_forwarding_socket' is set but 'agent_forwarding' is not true: "
            "add agent_forwarding = true, or remove the socket"
        )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("$1X", "must be a path or $NAME"),
        ("$A-B", "must be a path or $NAME"),
        ("${}/x", "which is not ${NAME}"),
        ("/run/$X/agent", "has a '$' that is not $NAME alone"),
        ("%d/.agent", "percent tokens are ssh_config's"),
    ],
)
def test_socket_forms_ssh_refuses_are_refused(spec: str, problem: str) -> None:
    assert problem in (agent_socket_problem(spec) or "")
    with pytest.raises(ProfileLoadError, match="agent_forwarding_socket"):
        load(agent_forwarding=True, agent_forwarding_socket=spec)


def test_a_dollar_name_is_read_from_the_environment_at_connect_time() -> None:
    env = {"MY_AGENT": "/run/user/1/agent.sock", "EMPTY": ""}
    assert resolve_agent_socket("$MY_AGENT", env) == "/run/user/1/agent.sock"
    # Unset or empty: as in ssh, there is no agent to forward, and no error.
    assert resolve_agent_socket("$NOT_SET", env) is None
    assert resolve_agent_socket("$EMPTY", env) is None


def test_braces_and_tilde_are_expanded_in_a_path() -> None:
    env = {"HOME": "/home/ann", "XDG_RUNTIME_DIR": "/run/user/7"}
    assert resolve_agent_socket("${XDG_RUNTIME_DIR}/gnupg/S.ssh", env) == "/run/user/7/gnupg/S.ssh"
    assert resolve_agent_socket("~/.agent.sock", env) == "/home/ann/.agent.sock"
    assert resolve_agent_socket("/plain/path", env) == "/plain/path"
    assert resolve_agent_socket("~root/x", env) == str(Path("~root/x").expanduser())


def test_an_unset_braced_variable_is_an_error_naming_it() -> None:
    with pytest.raises(AgentSocketError, match=r"names \$\{NOPE\}, which is unset"):
        resolve_agent_socket("${NOPE}/agent", {})
