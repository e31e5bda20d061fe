"""The checklist's guard: a learner's click on a box reaches the kernel, which saves the tick first
and then shows it; a checklist whose kernel is gone (restarted, stopped) says so and refuses clicks.

Without it, the boxes of a checklist whose kernel restarted stay clickable and show ☑ that nothing
saves (ipywidgets keeps the views of models the new kernel never had). The guard sits in the
checklist's box (`tickguard.js` takes the clicks of the checkboxes beside it) and answers each click;
a click the kernel does not answer, or a kernel that restarts or stops, shows `GONE`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

GONE = ("This checklist stopped when the lesson was restarted or closed. Run the lesson again to tick "
        "(Run ▸ Run All Cells): your ticks so far are kept.")


class TickGuard(anywidget.AnyWidget):
    """Takes the clicks of the checkboxes beside it; `click(index, value)` saves and shows each."""

    _esm = Path(__file__).with_name("tickguard.js")
    refused = t.Unicode(GONE).tag(sync=True)

    def __init__(self, click: Callable[[int, bool], None], boxes: int, **kwargs: Any):
        super().__init__(**kwargs)
        self._click, self._boxes = click, boxes
        self.on_msg(self._received)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A click from the page: carried out if it names a box, then answered either way."""
        if not isinstance(content, dict) or content.get("kind") != "click":
            return
        index, value = content.get("index"), content.get("value")
        if type(index) is int and 0 <= index < self._boxes and isinstance(value, bool):
            self._click(index, value)
        self.send({"kind": "answered", "click": content.get("click")})
