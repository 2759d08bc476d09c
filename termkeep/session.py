"""A Session: what one tab (or one `termkeep attach`) shows, surviving every reconnect.

It joins a Supervisor (keeps the SSH link attached) to the place the remote's bytes go: an
Emulator for the app's tabs, or the local terminal for the headless attach.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.supervisor.state import Policy
from termkeep.supervisor.supervisor import Supervisor
from termkeep.transport.connection import SshConnector
from termkeep.transport.link import DataSink
from termkeep.transport.prompts import Prompter


def profile_lookup(store: ProfileStore) -> Callable[[str], Profile | None]:
    """Find a jump host's profile by name; a name that is not a profile means ``host``."""

    def lookup(name: str) -> Profile | None:
        return store.load(name) if store.exists(name) else None

    return lookup


def build_supervisor(
    profile: Profile,
    prompter: Prompter,
    *,
    on_data: DataSink,
    size: tuple[int, int],
    store: ProfileStore | None = None,
) -> Supervisor:
    """A supervisor that keeps ``profile``'s tmux session attached, sending its bytes to
    ``on_data``. Jitter is seeded per session so many tabs never probe in lockstep."""
    connector = SshConnector(
        profile, prompter, lookup_profile=profile_lookup(store or ProfileStore())
    )
    policy = Policy.from_profile(profile, seed=secrets.randbits(32))
    return Supervisor(connector, on_data, policy, size=size)
