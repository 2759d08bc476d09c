"""The hostile corpus through every surface that takes outside text: notifications (server
messages, disconnect reasons, exception text), the password, keyboard-interactive and host
key dialogs, the yes/no and rename questions and the picker. The app keeps running, shows
the text literally (sanitised as ``safe_text`` documents), and makes no link or action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, OptionList, Static
from textual.widgets._toast import Toast

from termkeep.config.store import ProfileStore
from termkeep.terminal.display_text import safe_text
from termkeep.ui.screens.dialogs import ConfirmScreen, PickerScreen, TextInputScreen
from termkeep.ui.screens.prompts import (
    ChangedHostKeyScreen,
    KeyboardInteractiveScreen,
    SecretScreen,
    UnknownHostKeyScreen,
)
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import wait_for
from tests.ui.test_hostile_text import CORPUS, actionable_spans

type ScreenMaker = Callable[[str], ModalScreen[Any]]

SCREENS: dict[str, ScreenMaker] = {
    "password": lambda text: SecretScreen(f"Password for {text}", text),
    "keyboard-interactive": lambda text: KeyboardInteractiveScreen(text, text, [(text, False)]),
    "unknown host key": lambda text: UnknownHostKeyScreen(text, 2222, text, text),
    "changed host key": ChangedHostKeyScreen,
    "close question": lambda text: ConfirmScreen(f"Close {text}?", text),
    "rename": lambda text: TextInputScreen(f"Rename {text}", text),
    "picker": lambda text: PickerScreen(text, [text, "plain"], text),
}


def shown_contents(screen: ModalScreen[Any]) -> list[Content]:
    """What the screen's labels, statics and options show."""
    contents: list[Content] = []
    for widget in screen.query(Widget):
        if isinstance(widget, Label | Static):
            rendered = widget.render()
            if isinstance(rendered, Content):
                contents.append(rendered)
        elif isinstance(widget, OptionList):
            contents.extend(
                option.prompt for option in widget.options if isinstance(option.prompt, Content)
            )
    return contents


@pytest.mark.parametrize("surface", sorted(SCREENS))
async def test_every_dialog_shows_the_corpus_literally(store: ProfileStore, surface: str) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        for text in CORPUS:
            screen = SCREENS[surface](text)
            app.push_screen(screen)
            await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted, surface)  # noqa: B023
            await pilot.pause()
            contents = shown_contents(screen)
            assert all(actionable_spans(content) == [] for content in contents)
            shown = "\n".join(content.plain for content in contents)
            expected = safe_text(text, multiline=True)
            assert expected[:40] in shown or safe_text(text)[:40] in shown
            assert not any(ord(c) < 0x20 and c != "\n" for c in shown)
            screen.dismiss(None)
            await wait_for(pilot, lambda: app.screen is not screen, "the dialog to close")  # noqa: B023
        assert app.is_running


async def test_notifications_show_the_corpus_literally(store: ProfileStore) -> None:
    app = RecordingApp(store)
    quits: list[str] = []

    async def record_quit() -> None:
        quits.append("quit")

    app.action_quit = record_quit  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        for text in CORPUS:
            app.notify(f"web: connection lost: {text}", title=text, severity="warning")
        await pilot.pause()
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == len(CORPUS)
        for toast in toasts:
            content = toast.render()
            assert actionable_spans(content) == []
            assert not any(ord(c) < 0x20 and c != "\n" for c in content.plain)
        for notification in app._notifications:
            assert notification.markup is False
        assert toasts[0].render().plain.startswith("[/nope]\nweb: connection lost: [/nope]")
        assert app.is_running
        assert quits == []
