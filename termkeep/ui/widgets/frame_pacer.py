"""When the terminal view draws its next frame: pure timing, no Textual, no clock of its own.

Three rules, in this order of precedence:

- *Leading edge*: output after a quiet spell is drawn at once, so an echoed key costs no
  frame delay.
- *Steady flood*: while output keeps streaming, frames come at most every ``interval``
  (60 a second): the screen keeps moving at a bounded cost.
- *Trailing edge*: when the stream pauses for ``quiet`` seconds, the burst is over and its
  end is drawn then, without waiting out the rest of the interval. The end of a burst is
  what a person waits for (the prompt after ``seq``); a pause is the only sign of it.
  Quiet frames are still at least ``min_spacing`` apart, so a stream of small bursts cannot
  drive the frame rate past 1 / min_spacing.

The view tells the pacer when output arrives and when it drew; the pacer answers when the
next frame is due. Times are ``time.monotonic()`` seconds, passed in, so tests drive it with
plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FRAME_INTERVAL = 1 / 60
QUIET = 0.002
MIN_SPACING = 1 / 120


@dataclass
class FramePacer:
    """Decides when output that arrived is drawn."""

    interval: float = FRAME_INTERVAL
    quiet: float = QUIET
    min_spacing: float = MIN_SPACING
    last_frame: float = -math.inf
    last_output: float | None = None
    """When the newest output not yet drawn arrived; None when everything is drawn."""

    def output(self, now: float) -> None:
        """Output arrived at ``now``."""
        self.last_output = now

    def drawn(self, now: float) -> None:
        """A frame showing all output so far was drawn at ``now``."""
        self.last_frame = now
        self.last_output = None

    def due(self) -> float | None:
        """When the next frame is due (it may be in the past: draw now), or None when
        there is nothing to draw. Output arriving later can only move this later, never
        earlier, so a timer set for it never fires too late."""
        if self.last_output is None:
            return None
        steady = self.last_frame + self.interval
        trailing = max(self.last_output + self.quiet, self.last_frame + self.min_spacing)
        return min(steady, trailing)
