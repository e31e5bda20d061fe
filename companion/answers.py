"""What "my answers and notes" imports (`from companion.answers import show`).

Generated notebooks, and every copy a learner saved, import this name, so it stays here; the
code lives in `companion.kernel.answers`."""

from companion.kernel.answers import show

__all__ = ["show"]
