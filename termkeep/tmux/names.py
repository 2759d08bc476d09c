"""The names of the tmux sessions termkeep makes on a host.

A profile's tabs hold ``BASE`` (the profile's sanitised tmux session name), and a second,
third, … tab on the same profile holds ``BASE-2``, ``BASE-3``, … (see the ui's
``with_free_tmux_session``). Those names, and only those, count as the profile's.

Before default names were made distinct (``config.profile.default_tmux_session``, which stays
with the profile: it is what a profile's unset ``session`` means), profiles ``a.b``, ``a_b``
and ``a:b`` all got ``termkeep-a_b``. Such an old name still counts as a profile's, and its
first tab's attach renames it to the new name (``adopt`` of
``attach.reporting_attach_command``), unless another saved profile for the same login claims
it: the one whose name is exactly the old name (``a_b``) keeps it, and when only profiles
that were rewritten claim it (``a.b`` and ``a:b``), none takes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from termkeep.config.profile import TMUX_SESSION_DEFAULT_PREFIX, Profile

SESSION_NAME_MAX = 640
"""Long enough that a profile's default name (at most 522 characters, see
``config.profile.default_tmux_session``) with a tab's ``-<N>`` is never cut, so a second
tab's session name never collapses onto the first's."""
FALLBACK_SESSION_NAME = "termkeep"

_UNSAFE_SESSION_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize_session_name(name: str) -> str:
    """A tmux session name that tmux keeps as is and every shell passes through unchanged.

    tmux itself rewrites ``.`` and ``:`` to ``_`` (they separate window and pane in a
    target); everything else outside ``[A-Za-z0-9_-]`` is replaced too, and a leading ``-``
    is dropped so the name can never look like an option.
    """
    cleaned = _UNSAFE_SESSION_CHARS.sub("_", name).lstrip("-")[:SESSION_NAME_MAX]
    return cleaned or FALLBACK_SESSION_NAME


def profile_session_base(profile: Profile) -> str:
    """The tmux session name a profile's first tab attaches, as it is on the host."""
    return sanitize_session_name(profile.tmux_session_name)


def legacy_session_base(profile: Profile) -> str | None:
    """The first-tab session name an older termkeep gave ``profile``, when it differs from
    today's (a profile name with characters outside ``[A-Za-z0-9_-]``, no ``session`` set)."""
    if profile.tmux.session is not None:
        return None
    legacy = sanitize_session_name(f"{TMUX_SESSION_DEFAULT_PREFIX}-{profile.name}")
    return None if legacy == profile_session_base(profile) else legacy


def adoptable_legacy_base(profile: Profile, saved: Iterable[Profile]) -> str | None:
    """``profile``'s old session name if it may take that session: no other saved profile
    for the same login (user, host, port) has it as its name today, or had it too."""
    legacy = legacy_session_base(profile)
    if legacy is None:
        return None
    login = (profile.user, profile.host, profile.port)
    for other in saved:
        if other.name == profile.name or (other.user, other.host, other.port) != login:
            continue
        if legacy in (profile_session_base(other), legacy_session_base(other)):
            return None
    return legacy


def tab_number(profile: Profile, name: str, legacy: str | None = None) -> int | None:
    """1 for the profile's own tmux session, N for ``BASE-N`` (N >= 2, exactly as the ui
    numbers extra tabs), None for a session termkeep did not make for ``profile``. With
    ``legacy`` (``adoptable_legacy_base``), the old names count too."""
    for base in (profile_session_base(profile), legacy):
        if base is None:
            continue
        if name == base:
            return 1
        number = name.removeprefix(f"{base}-")
        if number != name and re.fullmatch(r"[2-9]|[1-9][0-9]+", number):
            return int(number)
    return None


def tab_label(profile: Profile, name: str, legacy: str | None = None) -> str:
    """What a tab on ``profile`` attached to tmux session ``name`` is called: the profile's
    name, with the tab's number from the second on ("labhost", "labhost 2", …). The number
    follows the session, so a tab keeps its label across restarts."""
    number = tab_number(profile, sanitize_session_name(name), legacy)
    return profile.name if number is None or number == 1 else f"{profile.name} {number}"


def is_profile_session(profile: Profile, name: str, legacy: str | None = None) -> bool:
    """Whether termkeep made the tmux session ``name`` for ``profile``."""
    return tab_number(profile, name, legacy) is not None


def claimed_by_others(profile: Profile, saved: Iterable[Profile]) -> frozenset[str]:
    """The first-tab session names of the other saved profiles for the same login
    (user, host, port): profile ``web``'s ``termkeep-web-2`` could just as well be profile
    ``web-2``'s ``termkeep-web-2``, and is then left to ``web-2``."""
    login = (profile.user, profile.host, profile.port)
    return frozenset(
        profile_session_base(other)
        for other in saved
        if other.name != profile.name and (other.user, other.host, other.port) == login
    )
