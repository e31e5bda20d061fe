"""What the review notebook imports (`from companion.review import open_review`).

Generated notebooks, and every copy a learner saved, import this name, so it stays here; the
code lives in `companion.kernel.review`."""

from companion.kernel.review import open_review

__all__ = ["open_review"]
