"""A notification's widgets are freed once it has gone: a day of drops and recoveries shows
hundreds of them (one per tab per drop and per recovery), and the app's memory must not keep
them (Textual's StylesCache.get_inner_outer cache held every one, termkeep/ui/textual_fixes.py).
"""

from __future__ import annotations

import gc
import weakref

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets._toast import Toast, ToastHolder

from termkeep.config.store import ProfileStore
from termkeep.ui import textual_fixes
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import wait_for

SIZE = (100, 30)
NOTIFICATIONS = 12
SHOWN_SECONDS = 0.3


async def show_and_expire(app: RecordingApp, pilot: Pilot[None], count: int) -> list[Toast]:
    """Show ``count`` notifications, let them render and expire; return their toasts."""
    for number in range(count):
        app.notify(f"t{number}: connection lost", timeout=SHOWN_SECONDS)
    await wait_for(pilot, lambda: len(app.query(Toast)) == count, "every toast")
    await pilot.pause()  # rendered: their StylesCaches were asked for colours
    toasts = list(app.query(Toast))
    await wait_for(pilot, lambda: not app.query(ToastHolder), "the toasts to expire")
    return toasts


async def test_expired_notifications_leave_no_styles_cache(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        caches = [
            weakref.ref(toast._styles_cache)
            for toast in await show_and_expire(app, pilot, NOTIFICATIONS)
        ]
        # The toast rack keeps its last layout (the expired toasts) until it lays out again.
        await show_and_expire(app, pilot, 1)
        gc.collect()
        kept = [ref for ref in caches if ref() is not None]
        assert not kept, f"{len(kept)} of {NOTIFICATIONS} expired toasts' StylesCaches kept"


def test_the_fix_keeps_textual_s_answer() -> None:
    textual_fixes.apply()
    textual_fixes.apply()  # twice is once
    assert isinstance(StylesCache.__dict__["get_inner_outer"], staticmethod)
    base, background = Color(10, 20, 30), Color(200, 100, 50, 0.5)
    inner, outer = StylesCache.get_inner_outer(base, background)
    assert inner.background == base + background
    assert outer.background == base
