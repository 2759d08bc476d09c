"""Text from outside the app, shown as plain text: never markup, never a control sequence.

Textual parses markup in ``notify()``, ``Label``, ``Static``, ``OptionList`` prompts and
``Button`` labels by default. A remote window title ``[@click=app.quit]ok[/]`` would become a
clickable app action, ``[link=...]`` a link, and ``[/nope]`` a MarkupError that ends the app.
Everything a server, a file or an exception wrote reaches the screen through ``plain()``
(``Content`` built from a sanitised string, see ``termkeep.terminal.display_text``), through a
widget made with ``markup=False``, or through ``TermkeepApp.notify``, which never parses
markup. ``tests/unit/ui/test_plain_text_lint.py`` fails when a new call passes a variable or
an f-string to one of those widgets another way.

Inventory: where outside text is shown, and the plain-text path it takes.

- Remote window title (OSC 0/2): tab label (``Content.assemble`` of the sanitised title,
  ``emulator.sanitize_title``), the close-tab and rename questions (``plain()``), notices.
- Drop, reattach and ending notices with their causes and the server's disconnect reason,
  auth banners and other session notices: ``SessionPane.announce`` -> ``TermkeepApp.notify``.
- Status line cause, destination and tmux session: ``Content`` pieces in status_line.py.
- Keyboard-interactive name, instructions and prompts; password and passphrase prompts:
  ``plain()`` in screens/prompts.py.
- Host names, key fingerprints, known_hosts paths (unknown and changed host key):
  ``plain()`` in screens/prompts.py.
- Remote tmux session names and listing errors: ``OptionList(markup=False)`` with
  ``plain()`` options, ``plain()`` state and error lines, kill notice through ``notify``.
- Profile names, values, load problems and import reports (files, ssh_config, PuTTY): profile
  manager and picker, ``OptionList(markup=False)`` and ``plain()``; configuration problems
  and "Cannot open ..." through ``notify``.
- Exception messages: only ever through ``notify`` or ``plain()``.
- Scrollback lines and searches: ``Content`` built cell by cell in screens/scrollback.py,
  position line ``Static(markup=False)`` updated with ``Content``.
- Tab names typed by the user: tab label (``Content``), questions (``plain()``).
"""

from __future__ import annotations

from textual.content import Content

from termkeep.terminal.display_text import DEFAULT_LIMIT, safe_text


def plain(text: str, *, limit: int = DEFAULT_LIMIT, multiline: bool = False) -> Content:
    """``text`` as plain, sanitised content for any Textual widget."""
    return Content(safe_text(text, limit=limit, multiline=multiline))


def plain_str(text: str, *, limit: int = DEFAULT_LIMIT, multiline: bool = False) -> str:
    """``text`` sanitised, for a widget that was made with ``markup=False``."""
    return safe_text(text, limit=limit, multiline=multiline)
