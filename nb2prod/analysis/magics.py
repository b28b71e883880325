"""Find IPython syntax in a cell and mask it so libcst can parse the rest.

Like black's notebook support, the cell goes through IPython's own input
transformer, which turns ``%magic``, ``!cmd`` and ``obj?`` into plain calls on the
same line; every line it changed is IPython syntax. IPython is imported only for
cells that look like they need it, which keeps ``nb2prod check`` fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Cell magics that only measure or silence the cell: dropping them keeps its meaning.
HARMLESS_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit"})

_SUSPECT = re.compile(r"^\s*[%!]|[=(]\s*[%!]|\?\s*$", re.MULTILINE)
_CELL_MAGIC = re.compile(r"^%%(?P<name>\w+)")


@dataclass(frozen=True)
class IPythonLine:
    """A line of IPython (not Python) syntax."""

    #: 1-based line number in the cell.
    line: int
    #: The line as the user wrote it.
    text: str


@dataclass(frozen=True)
class MaskedCell:
    """A cell's source made parseable, and what was masked."""

    #: Python source with the same line numbers as the cell.
    source: str
    #: The cell magic on line 1 (without ``%%``), or None.
    cell_magic: str | None
    #: Lines holding line magics, shell escapes or help syntax.
    ipython_lines: tuple[IPythonLine, ...]


def mask(source: str) -> MaskedCell:
    """Mask IPython syntax in ``source``, keeping line numbers."""
    cell_magic = None
    match = _CELL_MAGIC.match(source)
    if match:
        cell_magic = match.group("name")
        if cell_magic not in HARMLESS_CELL_MAGICS:
            # The body is another language (bash, html, a file to write).
            return MaskedCell("", cell_magic, ())
        source = "\n" + source.partition("\n")[2]
    if not _SUSPECT.search(source):
        return MaskedCell(source, cell_magic, ())
    return _transform(source, cell_magic)


def _transform(source: str, cell_magic: str | None) -> MaskedCell:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        transformed = TransformerManager().transform_cell(source)  # type: ignore[no-untyped-call]
    except Exception:  # IPython gives up on some broken input; let libcst report it
        return MaskedCell(source, cell_magic, ())
    before = source.split("\n")
    after = transformed.split("\n")
    after += [""] * (len(before) - len(after))
    if len(after) > len(before) and any(after[len(before) :]):
        return MaskedCell(source, cell_magic, ())  # lines moved; nothing to map
    after = after[: len(before)]
    lines: list[IPythonLine] = []
    masked: list[str] = []
    for number, (old, new) in enumerate(zip(before, after, strict=True), 1):
        if old.rstrip() != new.rstrip():
            lines.append(IPythonLine(number, old))
            indent = old[: len(old) - len(old.lstrip())]
            masked.append(f"{indent}pass")
        else:
            masked.append(old)
    return MaskedCell("\n".join(masked), cell_magic, tuple(lines))
