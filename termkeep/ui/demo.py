"""`termkeep demo`: the app on a throwaway local SSH server, with nothing to configure.

The demo server (transport.demo_server) serves the user's own shell through tmux on
127.0.0.1, for one generated key. A FaultRelay sits between termkeep and that server, so the
prefix key's "drop network" action can cut the connection silently, like a Wi-Fi drop, and the
user watches the tab stall, reconnect and reattach the same tmux session.

Everything the demo writes (profile, known_hosts, open-tab state) lives in one temporary
directory: the user's real termkeep config, state and ``~/.ssh`` are never written. Those a
killed demo left behind are removed when the next one starts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from termkeep import paths
from termkeep.config.profile import KeepaliveSettings, Profile, TmuxSettings
from termkeep.config.store import ProfileStore
from termkeep.transport.demo_server import (
    DemoServer,
    DemoServerInfo,
    make_demo_dir,
    remove_stale_demo_dirs,
)
from termkeep.transport.relay import FaultRelay
from termkeep.ui.app import TermkeepApp

DEMO_PROFILE = "demo"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
DROP_SECONDS = 10.0
"""How long a simulated drop lasts unless the user ends it sooner (the same key again)."""


@contextmanager
def _private_dirs() -> Iterator[Path]:
    """Point termkeep's config and state directories at a temporary directory."""
    saved = {name: os.environ.get(name) for name in (paths.CONFIG_DIR_ENV, paths.STATE_DIR_ENV)}
    root = make_demo_dir("config-")
    os.environ[paths.CONFIG_DIR_ENV] = str(root / "config")
    os.environ[paths.STATE_DIR_ENV] = str(root / "state")
    try:
        yield root
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)


def demo_profile(
    server: DemoServerInfo, relay_port: int, known_hosts: Path, predict: str | None = None
) -> Profile:
    """The demo's profile: through the relay, trusting only the demo server's host key."""
    return Profile(
        name=DEMO_PROFILE,
        host=server.host,
        port=relay_port,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(known_hosts),
        # A short keepalive so the stall shows within seconds of the simulated drop.
        keepalive=KeepaliveSettings(interval=2.0, count_max=3),
        tmux=TmuxSettings(session="termkeep-demo"),
        predict=predict,
    )


def _trust_relay_port(server: DemoServerInfo, relay_port: int, directory: Path) -> Path:
    """known_hosts names a host by port; the client reaches the server on the relay's."""
    key = server.known_hosts.read_text().split(" ", 1)[1]
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"[{server.host}]:{relay_port} {key}")
    known_hosts.chmod(0o600)
    return known_hosts


class NetworkSwitch:
    """The demo's simulated network: a silent drop that ends by itself or on request."""

    def __init__(self, relay: FaultRelay) -> None:
        self._relay = relay
        self._restore_later: asyncio.TimerHandle | None = None
        self.app: TermkeepApp | None = None

    def toggle(self) -> None:
        """Cut the network for DROP_SECONDS, or bring it back now if it is cut."""
        if self._relay.blackholed:
            self._restore("network restored")
            return
        self._relay.blackhole()
        loop = asyncio.get_running_loop()
        self._restore_later = loop.call_later(
            DROP_SECONDS, self._restore, f"network restored after {DROP_SECONDS:g} s"
        )
        self._tell(
            f"Network cut: every packet is now silently dropped, like a Wi-Fi drop. It comes "
            f"back in {DROP_SECONDS:g} s (or press the same keys again)."
        )

    def _restore(self, message: str) -> None:
        if self._restore_later is not None:
            self._restore_later.cancel()
            self._restore_later = None
        self._relay.restore()
        self._tell(message)

    def _tell(self, message: str) -> None:
        if self.app is not None:
            self.app.notify(message, title="demo")


async def run_demo(rtt: float = 0.0, predict: str | None = None) -> int:
    """Run the app on the demo server until the user quits.

    ``rtt`` seconds of round trip are added by the relay (a slow link, to feel predictive
    echo); ``predict`` overrides the demo profile's predictive echo mode.
    """
    remove_stale_demo_dirs()  # left by a demo that was killed (SIGKILL) and could not clean up
    with _private_dirs() as private:
        async with DemoServer() as server:
            relay = FaultRelay(server.host, server.port, one_way_delay=rtt / 2)
            await relay.start()
            try:
                known_hosts = _trust_relay_port(server, relay.port, private)
                store = ProfileStore()
                store.save(demo_profile(server, relay.port, known_hosts, predict))
                switch = NetworkSwitch(relay)
                app = TermkeepApp(
                    store=store,
                    demo_drop=switch.toggle,
                    startup_profiles=[DEMO_PROFILE],
                    restore=False,
                )
                switch.app = app
                with _exit_on_hangup(app):
                    await app.run_async()
            finally:
                # Also after the app stopped on an error: the relay, the server, its tmux and
                # the temporary directories all go.
                await relay.close()
    return app.return_code or 0


@contextmanager
def _exit_on_hangup(app: TermkeepApp) -> Iterator[None]:
    """Closing the terminal (SIGHUP) or a kill (SIGTERM) ends the app the normal way, so the
    demo's temporary directory, keys and tmux server are still removed."""
    loop = asyncio.get_running_loop()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, app.exit)
    try:
        yield
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
