"""Black a large generated module in pieces: the same bytes as black on the whole.

A generated module (``features.py`` holds every feature cell) is the header, then one
block per cell, each opened by the template's comment ``# --- From cell ... ---``
after two blank lines. Black costs about 1.5 ms per line on the whole module, and
twice that when the header changes (``black.format_str`` formats a second time
whenever the first pass changed anything). :func:`split` cuts the module before such
comments where black's result provably cannot depend on what is on the other side of
the cut; each piece is formatted alone (and cached by content, so editing one cell
re-formats one piece), and :func:`join` puts the pieces back with two blank lines.

Where a cut is allowed
----------------------
A cut sits between two top-level statements ``prev`` (the last of the piece before)
and ``next`` (the first of the piece after), found with :mod:`ast` on the whole
module, when all of these hold:

* C1. the lines between them are: two or more empty lines, then a comment starting
  at column 0 (the template's), then only empty lines or comments starting at column
  0, up to ``next`` (its first decorator, if any). So nothing trails ``prev``: no
  comment after its last line, indented or not.
* C2. ``prev`` is not an import (``import``/``from``) and not an expression statement
  (which covers a docstring).
* C3. ``next`` is not an expression statement (so it is never a docstring).

and nothing in the module can make black look across statements (else the whole
module is formatted as one, as before): no ``fmt:`` and no ``yapf`` anywhere
(``# fmt: off/on/skip`` and ``# yapf: disable/enable`` regions, which can run past a
cut, and their blank-line exceptions), no ``\\r`` (black takes the newline style
from the first line), no form feed or vertical tab, no ``coding[:=]`` (an encoding
declaration on a piece's first two lines changes what black keeps).

Why the pieces format as the whole does (black 26, ``_format_str_once``)
-------------------------------------------------------------------------
The output of one pass is, for each logical ``Line`` that ``LineGenerator`` yields, the
block ``EmptyLineTracker.maybe_empty_lines`` returns (``before`` empty lines, the
line's ``transform_line`` output, ``after`` empty lines, the last ``after`` forced to 0).

1. Parsing. With ``target_versions={PY311}``, ``get_grammars`` returns one grammar
   (soft keywords), so every piece is parsed with the grammar the whole is. At a cut
   the tokenizer is at column 0 outside any bracket or string (it is between two
   top-level statements of a module Python parsed). The blank lines and comments of
   the gap form the prefix of ``next``'s first leaf in the whole module: after an
   indented ``prev`` the driver gives the ``DEDENT`` only the part of the prefix
   before the first line that is not blank and starts left of the block's column
   (``_partially_consume_prefix``), here nothing but blank lines, which black never
   prints (``visit_DEDENT`` only emits comments). In the piece, the same comments are
   the prefix of the same leaf, without the leading blank lines. The trees of the
   statements are the same; only that prefix differs.
2. Lines. ``LineGenerator`` keeps nothing across top-level statements but
   ``current_line``, which is empty at depth 0 at a statement boundary. What
   ``linegen`` does to a statement reads only the statement's own nodes, except
   docstring detection (``is_docstring``: the first statement of a file), which C3
   rules out for ``next`` (and C2 for a piece's last statement). ``transform_line``
   reads only its line, the mode and the features (fixed by ``target_versions``, not
   detected from the file). So the whole yields the pieces' lines in order, each
   with the same leaves, depth and output lines. The comment that opens a piece is a
   standalone comment line at depth 0 both ways (in the piece it is first in the file,
   parsed as a trailing comment of nothing, and ``Line.append_comment`` turns it into
   a standalone one because the line is empty).
3. Empty lines. Only the first line of a piece, the template comment ``c``, sees the
   previous piece. In the whole, ``_maybe_empty_lines(c)``: ``before`` starts at
   min(empty lines above, 2) = 2 (C1; the driver left them in ``c``'s prefix); if
   ``previous_defs`` holds definitions, they are all popped (``c`` has depth 0) and,
   not being a stub file, depth 0 and ``c`` not ending in a colon, ``before = 2``;
   ``c`` is not a decorator, def or class; the previous line is not a depth-0 import
   (C2: a depth-0 line at the end of ``prev`` is ``prev`` itself; a deeper one has
   another depth); so (2, 0). ``maybe_empty_lines`` then subtracts the previous
   block's ``after``, which is 1 only for a class docstring (then the total is 1 + 1
   = 2 empty lines), and ``_line_is_module_docstring`` needs the previous line to be a
   depth-0 docstring, which C2 rules out. So 2 empty lines separate the pieces, what
   :func:`join` writes (a piece's own last ``after`` is 0, its first ``before`` 0).
   After ``c``, the tracker's state is the same as at the start of the piece: the
   previous line is ``c``; ``previous_defs`` is empty both ways (all popped);
   ``semantic_leading_comment`` is ``c``'s block both ways (``before`` was 2, or 1 with
   the docstring's ``after``: truthy, and the previous line cannot be a decorator).
   ``c``'s block differs only in ``before`` and ``previous_block``, read again only
   when a definition follows comments (``comment_to_add_newlines``): in the piece,
   with no previous block, it returns (0, 0); in the whole, it returns (0, 0) too
   (the previous block is a one-line ``class X: ...``, or ``before`` is 2 > 1, or it is
   1 after a docstring and becomes max(1, 2) - 1 = 1: still 2 empty lines in all).
   So every later line of the piece gets the same blocks both ways.
4. Two passes. ``format_str(t)`` is ``once(once(t))`` (a second pass only when the
   first changed something, and ``once`` of an unchanged text is that text). The
   first pass of the whole is the join of the pieces' first passes (1-3); that join
   satisfies C1-C3 and the module-wide conditions again at the same cuts (black keeps
   the statements, their kinds and their comments, and puts exactly two empty lines
   between pieces, none at their ends), so its pass is the join of the pieces'
   second passes: ``format_str`` of the whole is the join of ``format_str`` of each
   piece.

The generated package's goldens, the sample notebooks, the corpus and generated
notebooks (tests/test_chunks.py) compare it with black on the whole module.
"""

from __future__ import annotations

import ast
import itertools
import re
import zlib

#: A module with fewer cuttable blocks than this is formatted whole.
MIN_PIECES = 8

#: The template comment that opens each cell's block (templates/package/module.py.j2).
OPENING = "# --- From "

#: A piece closes at a cut whose opening line hashes to 0 modulo this (content
#: defined, so inserting or editing a cell changes one piece), or when it reaches
#: :data:`MAX_LINES`.
SPREAD = 8
MAX_LINES = 600

_WHOLE = re.compile(r"fmt\s*:|yapf|coding[:=]|[\r\f\v]")


def split(text: str) -> list[str] | None:
    """The pieces to format one by one, or None to format ``text`` whole."""
    if text.count(OPENING) < MIN_PIECES or _WHOLE.search(text):
        return None
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # black on the whole says what is wrong
    lines = text.split("\n")
    cuts = [
        line
        for prev, nxt in itertools.pairwise(body)
        if (line := _cut(lines, prev, nxt)) is not None
    ]
    if not cuts:
        return None
    chosen: list[int] = []
    start = 0
    for line in cuts:
        opening = lines[line]
        if line - start >= MAX_LINES or zlib.crc32(opening.encode()) % SPREAD == 0:
            chosen.append(line)
            start = line
    pieces: list[str] = []
    start = 0
    for line in [*chosen, len(lines)]:
        piece = "\n".join(lines[start:line]).rstrip("\n") + "\n"
        pieces.append(piece)
        start = line
    return pieces if len(pieces) > 1 else None


def join(pieces: list[str]) -> str:
    """Formatted pieces back into one module: two empty lines between them."""
    return "\n\n".join(pieces)


def _cut(lines: list[str], prev: ast.stmt, nxt: ast.stmt) -> int | None:
    """The 0-based line where a piece may start, between ``prev`` and ``nxt``."""
    if isinstance(prev, ast.Import | ast.ImportFrom | ast.Expr):
        return None  # C2
    if isinstance(nxt, ast.Expr):
        return None  # C3
    end = prev.end_lineno
    decorators = getattr(nxt, "decorator_list", [])
    first = min([nxt.lineno, *(d.lineno for d in decorators)])
    if end is None:
        return None
    gap = lines[end : first - 1]  # the lines strictly between them
    blank = 0
    while blank < len(gap) and gap[blank] == "":
        blank += 1
    if blank < 2 or blank == len(gap) or not gap[blank].startswith(OPENING):
        return None  # C1
    if not all(line == "" or line.startswith("#") for line in gap[blank:]):
        return None  # C1
    return end + blank


__all__ = ["MIN_PIECES", "join", "split"]
