"""A lint: no widget in termkeep/ui is handed outside text that Textual would parse as markup.

Textual parses markup in Label, Static, Button and OptionList prompts unless told not to. A
call is accepted when what it shows is a string literal (the app's own words), goes through
``plain()`` / ``Content(...)``, or the widget is made with ``markup=False``. Notifications
are plain by construction (``TermkeepApp.notify``), so only ``markup=True`` is refused there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import termkeep.ui

UI_ROOT = Path(termkeep.ui.__file__).parent
SHOWS_TEXT = frozenset({"Label", "Static", "Button", "Option", "TabPane"})
"""Widgets whose first argument is parsed as markup unless ``markup=False``."""
PLAIN_PATHS = frozenset({"plain", "Content", "assemble", "label_for", "Text"})
"""Calls whose result is already plain content (``SessionTabs.label_for`` assembles one; a
Rich ``Text(...)`` is shown as it is, only ``Text.from_markup`` would parse)."""


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _is_constant(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _plain(node: ast.expr) -> bool:
    """A string literal, or the result of a plain-text call."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.IfExp):
        return _plain(node.body) and _plain(node.orelse)
    return isinstance(node, ast.Call) and _name(node.func) in PLAIN_PATHS


def _static_update(call: ast.Call) -> bool:
    """``self.query_one(..., Static).update(x)``."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "update"):
        return False
    receiver = call.func.value
    return (
        isinstance(receiver, ast.Call)
        and _name(receiver.func) == "query_one"
        and any(_name(arg) == "Static" for arg in receiver.args)
    )


def problems_in(source: str, filename: str) -> list[str]:
    """Every call in ``source`` that could show outside text as markup."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        where = f"{filename}:{node.lineno}"
        if name in SHOWS_TEXT and node.args and not _is_constant(_keyword(node, "markup"), False):
            if not _plain(node.args[0]):
                found.append(f"{where}: {name}() of text that is not plain()")
        elif name == "OptionList" and not _is_constant(_keyword(node, "markup"), False):
            found.append(f"{where}: OptionList without markup=False")
        elif name == "notify" and _is_constant(_keyword(node, "markup"), True):
            found.append(f"{where}: notify(markup=True)")
        elif name == "from_markup" and node.args and not _plain(node.args[0]):
            found.append(f"{where}: Content.from_markup of text that is not a literal")
        elif _static_update(node) and node.args and not _plain(node.args[0]):
            found.append(f"{where}: Static.update() of text that is not plain()")
    return found


def test_every_widget_in_the_ui_shows_outside_text_as_plain_text() -> None:
    problems = [
        problem
        for path in sorted(UI_ROOT.rglob("*.py"))
        for problem in problems_in(path.read_text(), str(path.relative_to(UI_ROOT.parent)))
    ]
    assert problems == []


@pytest.mark.parametrize(
    "call",
    [
        'Label(f"Close {name}?")',
        "Label(title)",
        "Static(text)",
        'Static(f"{error}", classes="x")',
        "Button(label)",
        "Option(name, id=name)",
        'OptionList(id="choices")',
        "self.notify(text, markup=True)",
        "Content.from_markup(title)",
        'self.query_one("#x", Static).update(text)',
        "Label(name if name else fallback)",
    ],
)
def test_the_lint_catches(call: str) -> None:
    assert problems_in(call, "example.py")


@pytest.mark.parametrize(
    "call",
    [
        'Label("Saved hosts")',
        "Label(plain(title))",
        "Static(text, markup=False)",
        "Option(plain(name), id=name)",
        'OptionList(id="choices", markup=False)',
        "self.notify(f'{pane.label}: {text}')",
        'Content.from_markup("[b]fixed[/b]")',
        'self.query_one("#x", Static).update(plain(text))',
        'Label(plain(name) if name else "The server asks")',
    ],
)
def test_the_lint_lets_plain_text_through(call: str) -> None:
    assert problems_in(call, "example.py") == []
