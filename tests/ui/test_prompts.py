"""The transport's questions answered through modal screens (AppPrompter)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from termkeep.transport.prompts import HostKeyDecision, Prompter
from termkeep.ui.app import TermkeepApp
from termkeep.ui.screens.prompts import (
    AppPrompter,
    ChangedHostKeyScreen,
    KeyboardInteractiveScreen,
    SecretScreen,
    UnknownHostKeyScreen,
)
from tests.ui.pilot import wait_for

FINGERPRINT = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


class PromptApp(App[None]):
    """A bare app with termkeep's stylesheet to show prompts in."""

    CSS_PATH = TermkeepApp.CSS_PATH


async def ask[T](
    question: Callable[[Prompter], Awaitable[T]],
    screen_type: type[ModalScreen[Any]],
    answer: Callable[[Pilot[None], ModalScreen[Any]], Awaitable[None]],
) -> T:
    """Ask through AppPrompter, wait for the screen, answer it, return what the caller got."""
    app = PromptApp()
    async with app.run_test(size=(100, 30)) as pilot:
        prompter: Prompter = AppPrompter(app)
        task: asyncio.Future[T] = asyncio.ensure_future(question(prompter))
        await wait_for(pilot, lambda: isinstance(app.screen, screen_type), "the prompt screen")
        await pilot.pause()  # let the new screen lay out before clicking on it
        screen = app.screen
        assert isinstance(screen, ModalScreen)
        await answer(pilot, screen)
        await wait_for(pilot, task.done, "the prompt's answer")
        assert not isinstance(app.screen, screen_type)
        return task.result()


async def test_password_is_masked_and_returned() -> None:
    async def type_it(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
        field = screen.query_one(Input)
        assert field.password
        await pilot.press(*"s3cret", "enter")

    result = await ask(lambda p: p.password("alice@web-1's password:"), SecretScreen, type_it)
    assert result == "s3cret"


async def test_passphrase_escape_means_no_answer() -> None:
    async def cancel(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
        assert screen.query_one(Input).password
        await pilot.press("x", "escape")

    assert await ask(lambda p: p.passphrase("~/.ssh/id_ed25519"), SecretScreen, cancel) is None


async def test_keyboard_interactive_masks_only_secret_prompts() -> None:
    async def answer(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
        first, second = screen.query(Input)
        assert not first.password
        assert second.password
        await pilot.press("a", "l", "i", "enter", "1", "2", "3", "enter")

    prompts = [("Username: ", True), ("Verification code: ", False)]
    result = await ask(
        lambda p: p.keyboard_interactive("OTP", "Enter your code", prompts),
        KeyboardInteractiveScreen,
        answer,
    )
    assert result == ["ali", "123"]


async def test_unknown_host_key_shows_the_fingerprint_and_each_answer() -> None:
    async def choose(button: str) -> HostKeyDecision:
        async def press(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
            text = " ".join(str(widget.render()) for widget in screen.query("Static"))
            assert FINGERPRINT in text
            assert "[web-1]:2222" in text
            await pilot.click(f"#{button}")

        return await ask(
            lambda p: p.unknown_host_key("web-1", 2222, "ssh-ed25519", FINGERPRINT),
            UnknownHostKeyScreen,
            press,
        )

    assert await choose("save") is HostKeyDecision.ACCEPT_AND_SAVE
    assert await choose("once") is HostKeyDecision.ACCEPT_ONCE
    assert await choose("reject") is HostKeyDecision.REJECT


async def test_unknown_host_key_escape_rejects() -> None:
    async def escape(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
        await pilot.press("escape")

    decision = await ask(
        lambda p: p.unknown_host_key("web-1", 22, "ssh-ed25519", FINGERPRINT),
        UnknownHostKeyScreen,
        escape,
    )
    assert decision is HostKeyDecision.REJECT


async def test_changed_host_key_has_no_accept_button() -> None:
    warning = "The ssh-ed25519 key of web-1 has changed since it was saved."

    async def inspect(pilot: Pilot[None], screen: ModalScreen[Any]) -> None:
        assert [button.id for button in screen.query(Button)] == ["close"]
        text = " ".join(str(widget.render()) for widget in screen.query("Static"))
        assert warning in text
        assert "ssh-keygen -R" in text
        await pilot.press("enter")

    await ask(lambda p: p.changed_host_key(warning), ChangedHostKeyScreen, inspect)
