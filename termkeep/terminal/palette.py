"""Colours a terminal draws with when the remote program does not choose them itself."""

from __future__ import annotations

from dataclasses import dataclass, field

type RGB = tuple[int, int, int]

# xterm's defaults: the colours most programs were tested against.
XTERM_ANSI: tuple[RGB, ...] = (
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
)

ANSI_COLOUR_COUNT = 16
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


def _check_rgb(name: str, colour: RGB) -> None:
    if len(colour) != 3 or any(not 0 <= channel <= 255 for channel in colour):
        raise ValueError(f"{name} must be three channels from 0 to 255, got {colour!r}")


@dataclass(frozen=True, slots=True)
class Palette:
    """The 16 ANSI colours plus default foreground, background and cursor of a theme.

    Colours 16-255 are not themed: they are xterm's fixed cube and grey ramp, which
    programs address by number expecting exactly those shades.
    """

    ansi: tuple[RGB, ...] = XTERM_ANSI
    foreground: RGB = (229, 229, 229)
    background: RGB = (0, 0, 0)
    cursor: RGB = (229, 229, 229)
    _table: tuple[RGB, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.ansi) != ANSI_COLOUR_COUNT:
            raise ValueError(f"a palette needs 16 ANSI colours, got {len(self.ansi)}")
        for index, colour in enumerate(self.ansi):
            _check_rgb(f"ANSI colour {index}", colour)
        _check_rgb("foreground", self.foreground)
        _check_rgb("background", self.background)
        _check_rgb("cursor", self.cursor)
        object.__setattr__(self, "_table", self.ansi + _fixed_colours())

    def colour(self, index: int) -> RGB:
        """The RGB this palette gives colour number `index` (0-255)."""
        return self._table[index]

    def as_256_bytes(self) -> bytes:
        """All 256 colours as 768 bytes of RGB, the layout terminal engines take."""
        return bytes(channel for colour in self._table for channel in colour)


def _fixed_colours() -> tuple[RGB, ...]:
    """Colours 16-255: the 6x6x6 cube, then 24 greys, as xterm defines them."""
    cube = tuple(
        (_CUBE_LEVELS[r], _CUBE_LEVELS[g], _CUBE_LEVELS[b])
        for r in range(6)
        for g in range(6)
        for b in range(6)
    )
    greys = tuple((level, level, level) for level in range(8, 239, 10))
    return cube + greys


DEFAULT_PALETTE = Palette()
