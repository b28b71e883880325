"""Text from notebooks, locks and paths made safe to print on a terminal."""

from __future__ import annotations

import re
from pathlib import Path

#: C0 and C1 control characters but newline and tab: ESC would let a tag, a name or a
#: path move the cursor, clear the screen or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\x1b``, for plain ``print``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe(text: str) -> str:
    """``text`` with rich markup escaped and control characters shown as ``\\x1b``."""
    from rich.markup import escape  # rich is imported only where a console prints

    return escape(printable(text))


def up_to_date_line(folder: Path, notebook: Path) -> str:
    """What ``check`` prints for an up-to-date package, control characters shown."""
    return f"{printable(str(folder))}: up to date with {printable(notebook.name)}"
