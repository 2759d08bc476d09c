"""What a tab runs, written into the profile store: its host as a new profile (prefix ``w``),
its running forwards into its saved profile (``s`` in the tunnels view).

The app asks the questions (the new profile's name); this module does the store's part and
says, in one line, what happened.
"""

from __future__ import annotations

import dataclasses

from termkeep.config.errors import ConfigError
from termkeep.config.profile import InvalidProfileNameError, Profile
from termkeep.config.store import ProfileStore
from termkeep.ui.session_api import SessionLike


def profile_of_tab(session: SessionLike) -> Profile | None:
    """The profile the tab runs on, with the forwards it runs now (those added in the
    tunnels view included); None when the session has none to offer."""
    profile, tunnels = session.profile, session.tunnels
    if profile is not None and tunnels is not None:
        profile = dataclasses.replace(profile, forwards=tunnels.forwards)
    return profile


def save_tab_profile(
    store: ProfileStore, profile: Profile, name: str, tmux_session: str | None
) -> str | None:
    """Save ``profile`` as the new profile ``name``, keeping the tab's tmux session so that
    opening it reattaches the tab's work; why not, in one line, or None once saved."""
    try:
        # save() validates the name and refuses to overwrite an existing profile.
        tmux = dataclasses.replace(profile.tmux, session=tmux_session or profile.tmux.session)
        store.save(dataclasses.replace(profile, name=name, tmux=tmux))
    except (ConfigError, InvalidProfileNameError, OSError) as error:
        return str(error)
    return None


def save_forwards(store: ProfileStore, session: SessionLike, save_key: str) -> str:
    """Write the tab's running forwards into its saved profile; what to tell the user
    (``save_key``: the prefix key that saves a tab's host first)."""
    profile, tunnels = session.profile, session.tunnels
    if profile is None or tunnels is None or not store.exists(profile.name):
        return f"This tab has no saved profile: save it first (prefix {save_key})"
    try:
        saved = store.load(profile.name)
        store.save(dataclasses.replace(saved, forwards=tunnels.forwards), replace=True)
    except (ConfigError, OSError) as error:
        return f"Not saved: {error}"
    count = len(tunnels.forwards)
    return f"Saved {count} forward{'s' if count != 1 else ''} to {profile.name}"
