"""Jinja filters that splice a value into each kind of generated text safely.

Column names, the notebook's file name, parameter values, versions and the like
come from data and from other people: none of them may end a string, a comment or
a shell word early. Templates name the escaping where they splice a value, so it
shows: ``{{ column | py }}`` is a Python literal (quotes included), ``| toml`` a
TOML basic string (quotes included), ``| shquote`` one shell word, ``| comment``
text that stays inside a ``#`` comment, ``| docstring`` text that stays inside a
``\"\"\"`` docstring, ``| md`` Markdown text, ``| code`` a Markdown code span.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

#: Characters Python, TOML and Markdown take as a line break, besides the control
#: characters: each would end a comment or a table row.
_BREAKS = frozenset("\x85\u2028\u2029")


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _visible(text: str, also: Callable[[str], bool] = lambda _: False) -> str:
    """``text`` with every character that is not printable written as an escape."""
    return "".join(
        (
            _escape_char(char)
            if (not char.isprintable() and char != " ") or char in _BREAKS or also(char)
            else char
        )
        for char in text
    )


def py(value: object) -> str:
    """A Python literal of ``value``: ``repr`` (black turns its quotes into ``"``)."""
    return repr(value)


def toml(value: object) -> str:
    """A TOML basic string holding ``str(value)``, quotes included.

    JSON's escapes are TOML's (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``); DEL is escaped
    too, and a lone surrogate (an undecodable file name), which TOML cannot hold,
    becomes U+FFFD.
    """
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(value: object) -> str:
    """A TOML key: bare when it is only letters, digits, ``-`` and ``_``, else quoted."""
    text = str(value)
    if text and all(
        char.isascii() and (char.isalnum() or char in "-_") for char in text
    ):
        return text
    return toml(text)


def shquote(value: object) -> str:
    """``str(value)`` as one POSIX shell word (``shlex.quote``)."""
    return shlex.quote(str(value))


def comment(value: object) -> str:
    """Text that stays on its ``#`` comment line: line breaks and controls escaped."""
    return _visible(str(value))


def docstring(value: object) -> str:
    """Text for inside a ``\"\"\"`` docstring that reads back as ``str(value)``.

    Backslashes and double quotes are escaped (so ``\"\"\"`` cannot end it), and
    every character that is not printable is written as its escape.
    """
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return _visible(text)


def docstring_literal(value: object) -> str:
    """A whole ``\"\"\"...\"\"\"`` docstring literal holding ``str(value)``."""
    return f'"""{docstring(value)}"""'


def md(value: object) -> str:
    """Markdown text: no HTML (``<``, ``>``, ``&`` as entities), ``|`` kept in its
    table cell, and line breaks and controls escaped so that it stays on its line."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _visible(text).replace("|", "\\|")


def code(value: object) -> str:
    """A Markdown code span showing ``str(value)``, backticks included.

    The fence is one backtick longer than the longest run inside (CommonMark), and
    line breaks and controls are escaped so that the span stays on its line.
    """
    text = _visible(str(value))
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return f"{fence}{text}{fence}"


FILTERS: dict[str, Callable[[object], str]] = {
    "py": py,
    "toml": toml,
    "toml_key": toml_key,
    "shquote": shquote,
    "comment": comment,
    "docstring": docstring,
    "docstring_literal": docstring_literal,
    "md": md,
    "code": code,
}
