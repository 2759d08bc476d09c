"""Quick connect against the real sshd: a literal ``user@host:port``, an ssh_config alias,
and a saved profile of the same name winning over the alias. The ssh_config is the user's
own (``~/.ssh/config`` under a throwaway HOME); its ``Host *`` block supplies the key and the
known_hosts file, as it would for ``ssh``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from termkeep.config.profile import TmuxSettings, default_tmux_session
from termkeep.config.store import ProfileStore
from termkeep.tmux.names import sanitize_session_name
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.quick_connect import resolve_target
from termkeep.transport.ssh.connector import SshConnector
from tests.fixtures.isolation import Isolation
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.integration.test_reconnect import ATTACH_WAIT, opened


@pytest.fixture
def ssh_config(isolation: Isolation, sshd: SshServer) -> Path:
    """The test HOME's ~/.ssh/config: names the test server as ``box`` and gives every host
    the server's client key and known_hosts."""
    return isolation.write_ssh_config(
        f"Host box\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n\n"
        f"Host *\n  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n",
    )


async def attached_tmux_session(store: ProfileStore, target: str) -> str:
    """Connect to ``target`` as ``termkeep TARGET`` would; the tmux session it attached."""
    profile = resolve_target(store, target)
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, f"{target} to attach")
        await watch.run("echo quick-$((6*7))", "quick-42")
        return sanitize_session_name(profile.tmux_session_name)


async def test_a_literal_host_an_alias_and_a_saved_profile_first(
    sshd: SshServer, ssh_config: Path, tmp_path: Path
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


RELAY = """\
import os, socket, sys, threading
host, port, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port), timeout=10)
sock.settimeout(None)
with open(where, "w") as out:
    out.write(str(sock.getsockname()[1]))
def upstream():
    while data := os.read(0, 65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while data := sock.recv(65536):
    os.write(1, data)
"""


def proxy_command(tmp_path: Path, marker: Path, relay_port: Path) -> str:
    """A ProxyCommand that needs a shell, as ssh runs it (``$SHELL -c "exec COMMAND"``): a
    marker command, then a relay to %h:%p that writes down the local port it connects
    from."""
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    return f"sh -c 'touch {marker} && exec {sys.executable} {relay} %h %p {relay_port}'"


def run_ssh(ssh_config: Path, *target: str) -> subprocess.CompletedProcess[str]:
    """The real ssh with the same ssh_config, so the config is known to be one ssh accepts."""
    return subprocess.run(
        ["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", *target, "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def came_through_relay(sshd: SshServer, relay_port: Path) -> bool:
    """sshd logged a connection from the relay's own socket: the proxy's peer, not ours."""
    port = relay_port.read_text().strip()
    return f"Connection from {sshd.host} port {port} " in sshd.log_text()


@pytest.mark.parametrize("typed", ["viaproxy", "literal"])
async def test_ssh_config_s_proxycommand_carries_a_quick_connect(
    sshd: SshServer, tmp_path: Path, isolation: Isolation, typed: str
) -> None:
    marker, relay_port = tmp_path / "proxy-ran", tmp_path / "relay-port"
    command = proxy_command(tmp_path, marker, relay_port)
    ssh_config = isolation.write_ssh_config(
        f"Host viaproxy\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  ProxyCommand {command}\n\n"
        # A literal user@host:port gets the Host block of its host, as with ssh.
        f"Host {sshd.host}\n  ProxyCommand {command}\n\n"
        f"Host *\n  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n",
    )
    target = "viaproxy" if typed == "viaproxy" else f"{sshd.user}@{sshd.host}:{sshd.port}"
    ssh_target = ["viaproxy"] if typed == "viaproxy" else [f"-p{sshd.port}", sshd.host]
    by_ssh = run_ssh(ssh_config, *ssh_target)
    assert by_ssh.returncode == 0, by_ssh.stderr
    assert came_through_relay(sshd, relay_port)
    marker.unlink()
    relay_port.unlink()

    await attached_tmux_session(ProfileStore(tmp_path / "hosts"), target)
    assert marker.exists()
    assert came_through_relay(sshd, relay_port)
    assert sshd.connection_count() == 2  # ssh's and termkeep's: no direct one besides


async def test_ssh_config_s_proxyjump_carries_a_quick_connect(
    sshd_factory: Callable[..., SshServer], tmp_path: Path, isolation: Isolation
) -> None:
    bastion, target = sshd_factory(), sshd_factory()
    isolation.write_ssh_config(
        f"Host inside\n  HostName {target.host}\n  Port {target.port}\n  User {target.user}\n"
        f"  ProxyJump {bastion.user}@{bastion.host}:{bastion.port}\n\n"
        f"Host *\n  IdentityFile {bastion.client_key}\n  IdentityFile {target.client_key}\n"
        f"  UserKnownHostsFile {bastion.known_hosts} {target.known_hosts}\n",
    )
    await attached_tmux_session(ProfileStore(tmp_path / "hosts"), "inside")
    assert bastion.connection_count() == 1
    assert target.connection_count() == 1
    # The bastion opened the target connection for us: it logged the forwarding request.
    assert "Accepted publickey" in bastion.log_text()


@pytest.mark.parametrize(
    ("setting", "named"),
    [("ProxyUseFdpass yes", "ProxyUseFdpass yes"), ("ProxyCommand -", "ProxyCommand -")],
)
async def test_a_proxy_setting_that_cannot_be_honoured_is_refused_never_bypassed(
    sshd: SshServer, tmp_path: Path, isolation: Isolation, setting: str, named: str
) -> None:
    isolation.write_ssh_config(
        f"Host odd\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  {setting}\n  ProxyCommand true\n"
        f"  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n",
    )
    profile = resolve_target(ProfileStore(tmp_path / "hosts"), "odd")
    connector = SshConnector(profile, NoPrompter(), session=False)
    with pytest.raises(ConnectFailedError) as refused:
        await asyncio.wait_for(connector(lambda _data: None, (80, 24)), 30)
    assert refused.value.cause is Cause.CONFIG
    assert named in refused.value.detail
    assert "\n" not in refused.value.detail
    assert sshd.connection_count() == 0


async def test_a_jump_host_s_own_proxy_settings_are_followed(
    sshd_factory: Callable[..., SshServer], tmp_path: Path, isolation: Isolation
) -> None:
    """As with ssh: the target's ProxyJump names b2, whose own ProxyJump names b1, whose
    ProxyCommand is the relay. Every hop is used, none is reached directly."""
    b1, b2, target = sshd_factory(), sshd_factory(), sshd_factory()
    marker, relay_port = tmp_path / "proxy-ran", tmp_path / "relay-port"
    servers = {"b1": b1, "b2": b2, "inside": target}
    blocks = {
        "b1": f"ProxyCommand {proxy_command(tmp_path, marker, relay_port)}",
        "b2": "ProxyJump b1",
        "inside": "ProxyJump b2",
    }
    config = "".join(
        f"Host {alias}\n  HostName {server.host}\n  Port {server.port}\n  User {server.user}\n"
        f"  {blocks[alias]}\n\n"
        for alias, server in servers.items()
    )
    keys_and_hosts = " ".join(str(server.known_hosts) for server in servers.values())
    identities = "".join(f"  IdentityFile {server.client_key}\n" for server in servers.values())
    ssh_config = isolation.write_ssh_config(
        config + f"Host *\n{identities}  UserKnownHostsFile {keys_and_hosts}\n",
    )
    by_ssh = run_ssh(ssh_config, "inside")  # the same config works for ssh
    assert by_ssh.returncode == 0, by_ssh.stderr
    assert came_through_relay(b1, relay_port)
    marker.unlink()

    await attached_tmux_session(ProfileStore(tmp_path / "hosts"), "inside")
    assert marker.exists()
    assert came_through_relay(b1, relay_port)
    assert [server.connection_count() for server in servers.values()] == [2, 2, 2]
