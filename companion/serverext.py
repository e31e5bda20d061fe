"""The server extension's first name: environments set up by earlier versions name
`companion.serverext.CourseContentsManager` in their server config, so the name still answers;
the code is `companion.server.extension`."""

from companion.server.extension import __getattr__

__all__ = ["__getattr__"]
