"""What a lesson, a course index and start-here import (`from companion.lesson import open_lesson`).

Generated notebooks, and every copy a learner saved, import this name, so it stays here; the
code lives in `companion.kernel.lesson`."""

from companion.kernel.lesson import open_course, open_lesson, overview

__all__ = ["open_course", "open_lesson", "overview"]
