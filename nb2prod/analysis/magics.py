"""Find IPython syntax in a cell, decide what becomes of it, and mask it for libcst.

Like black's notebook support, the cell goes through IPython's own input
transformer, which turns ``%magic``, ``!cmd`` and ``obj?`` into plain calls on the
same line; every line it changed is IPython syntax. IPython is imported only for
cells that look like they need it, which keeps ``nb2prod check`` fast.

:data:`MAGICS` is the one policy: what a shipped cell may hold and what happens to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Fate(Enum):
    """What becomes of IPython syntax in a shipped cell."""

    #: The magic only changes display or the session: it goes, with a warning.
    DROP = "dropped"
    #: The magic measures the statement it prefixes: the magic goes, the statement ships.
    UNWRAP = "unwrapped"
    #: The magic changes what the code does: an error at its line.
    REFUSE = "refused"


@dataclass(frozen=True)
class Rule:
    """The fate of one magic and why."""

    fate: Fate
    #: Completes "it ...", e.g. "only changes how plots are shown".
    why: str


_DISPLAY = "only changes what the notebook displays"
_SESSION = "only configures the interactive session"
_HELP = "only shows help"
_NOT_PYTHON = "makes this cell something other than Python"

#: What nb2prod does with each magic in a shipped (export, feature, predict) or test
#: cell. ``%%name`` is a cell magic on the cell's first line, ``%name`` a line magic
#: anywhere, ``!`` a shell command. Anything not listed is refused; untagged cells
#: may use anything. The README lists this table (a test keeps them in step).
MAGICS: dict[str, Rule] = {
    "%%time": Rule(Fate.DROP, "only measures the cell"),
    "%%timeit": Rule(Fate.DROP, "only measures the cell"),
    "%%capture": Rule(Fate.DROP, "only silences the cell's output"),
    "%%prun": Rule(Fate.DROP, "only profiles the cell"),
    "%%memit": Rule(Fate.DROP, "only measures the cell's memory"),
    "%matplotlib": Rule(Fate.DROP, _DISPLAY),
    "%config": Rule(Fate.DROP, _DISPLAY),
    "%precision": Rule(Fate.DROP, _DISPLAY),
    "%pprint": Rule(Fate.DROP, _DISPLAY),
    "%xmode": Rule(Fate.DROP, _DISPLAY),
    "%colors": Rule(Fate.DROP, _DISPLAY),
    "%load_ext": Rule(Fate.DROP, _SESSION),
    "%reload_ext": Rule(Fate.DROP, _SESSION),
    "%unload_ext": Rule(Fate.DROP, _SESSION),
    "%autoreload": Rule(Fate.DROP, _SESSION),
    "%aimport": Rule(Fate.DROP, _SESSION),
    "%who": Rule(Fate.DROP, _DISPLAY),
    "%whos": Rule(Fate.DROP, _DISPLAY),
    "%pwd": Rule(Fate.DROP, _DISPLAY),
    "%history": Rule(Fate.DROP, _DISPLAY),
    "%lsmagic": Rule(Fate.DROP, _HELP),
    "%pinfo": Rule(Fate.DROP, "only shows help (obj?)"),
    "%pinfo2": Rule(Fate.DROP, "only shows help (obj??)"),
    "%pdoc": Rule(Fate.DROP, _HELP),
    "%pdef": Rule(Fate.DROP, _HELP),
    "%psource": Rule(Fate.DROP, _HELP),
    "%psearch": Rule(Fate.DROP, _HELP),
    "%timeit": Rule(
        Fate.DROP,
        "only measures the statement, in a scratch namespace that binds nothing",
    ),
    "%time": Rule(Fate.UNWRAP, "measures the statement, which runs in the notebook"),
    "%run": Rule(Fate.REFUSE, "runs another file, whose code would not ship"),
    "%load": Rule(Fate.REFUSE, "pastes another file's code into the cell"),
    "%pip": Rule(Fate.REFUSE, "installs packages"),
    "%conda": Rule(Fate.REFUSE, "installs packages"),
    "%env": Rule(Fate.REFUSE, "sets environment variables the package would not set"),
    "%cd": Rule(Fate.REFUSE, "changes the working folder"),
    "%pylab": Rule(Fate.REFUSE, "imports numpy and matplotlib names into the notebook"),
    "%store": Rule(Fate.REFUSE, "reads or writes variables kept between notebooks"),
    "%reset": Rule(Fate.REFUSE, "deletes the notebook's variables"),
    "%sx": Rule(Fate.REFUSE, "runs a shell command"),
    "%system": Rule(Fate.REFUSE, "runs a shell command"),
    "!": Rule(Fate.REFUSE, "runs a shell command"),
}

#: Cell magics that only measure or silence the cell: dropping them keeps its meaning.
HARMLESS_CELL_MAGICS = frozenset(
    key[2:]
    for key, rule in MAGICS.items()
    if key.startswith("%%") and rule.fate is Fate.DROP
)

_UNKNOWN_LINE = Rule(Fate.REFUSE, "is not known to only change display or the session")
_UNKNOWN_CELL = Rule(Fate.REFUSE, _NOT_PYTHON)
_VALUE = Rule(Fate.REFUSE, "uses the output of an IPython command as a value")

_SUSPECT = re.compile(r"^\s*[%!]|[=(]\s*[%!]|\?\s*$", re.MULTILINE)
_CELL_MAGIC = re.compile(r"^%%(?P<name>\w+)")
_LINE_MAGIC = re.compile(
    r"""^\s*get_ipython\(\)\.run_line_magic\((?P<quote>['"])(?P<name>\w+)(?P=quote)"""
)
_SHELL = re.compile(r"^\s*get_ipython\(\)\.system\(")


def rule_for(key: str) -> Rule:
    """The rule for ``%%name``, ``%name`` or ``!`` (unlisted magics are refused)."""
    if key in MAGICS:
        return MAGICS[key]
    return _UNKNOWN_CELL if key.startswith("%%") else _UNKNOWN_LINE


@dataclass(frozen=True)
class IPythonLine:
    """A line of IPython (not Python) syntax."""

    #: 1-based line number in the cell.
    line: int
    #: The line as the user wrote it.
    text: str
    #: ``%name`` for a line magic (``%pinfo`` for ``obj?``), ``!`` for a shell
    #: command, '' when an IPython command's output is used as a value.
    magic: str = ""
    #: What becomes of it, and why.
    rule: Rule = _VALUE


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
    """Mask IPython syntax in ``source``, keeping line numbers.

    Refused lines and dropped ones become ``pass`` where indented (else nothing), and
    an unwrapped ``%time STATEMENT`` becomes the statement.
    """
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

    before = source.split("\n")
    # IPython drops leading blank lines (a masked %%magic line is one): keep them.
    blank = 0
    while not before[blank].strip():
        blank += 1
    try:
        transformed = TransformerManager().transform_cell("\n".join(before[blank:]))  # type: ignore[no-untyped-call]
    except Exception:  # IPython gives up on some broken input; let libcst report it
        return MaskedCell(source, cell_magic, ())
    if not source.endswith("\n"):
        transformed = transformed.removesuffix("\n")  # the one IPython adds
    after = [""] * blank + transformed.split("\n")
    if len(after) != len(before):
        # IPython joined lines (a magic continued with a backslash) or moved them:
        # nothing maps line to line, so the parser reports the cell as it is.
        return MaskedCell(source, cell_magic, ())
    lines: list[IPythonLine] = []
    masked: list[str] = []
    for number, (old, new) in enumerate(zip(before, after, strict=True), 1):
        if old.rstrip() == new.rstrip():
            masked.append(old)
            continue
        item = _classify(number, old, new)
        lines.append(item)
        masked.append(_masked_line(item))
    return MaskedCell("\n".join(masked), cell_magic, tuple(lines))


def _classify(number: int, old: str, new: str) -> IPythonLine:
    magic = _LINE_MAGIC.match(new)
    if magic is not None:
        key = "%" + magic.group("name")
        return IPythonLine(number, old, key, rule_for(key))
    if _SHELL.match(new):
        return IPythonLine(number, old, "!", MAGICS["!"])
    return IPythonLine(number, old)


def _masked_line(item: IPythonLine) -> str:
    """What libcst sees in place of an IPython line."""
    stripped = item.text.lstrip()
    indent = item.text[: len(item.text) - len(stripped)]
    if item.rule.fate is Fate.UNWRAP:
        statement = stripped[len(item.magic) :].strip()
        if statement:
            return indent + statement
    return f"{indent}pass" if indent else ""
