"""Format generated Python with black, then prove it still parses."""

from __future__ import annotations

import ast
from functools import cache as once
from importlib.metadata import version
from typing import TYPE_CHECKING

from nb2prod.analysis import cache
from nb2prod.analysis.parallel import map_in_two
from nb2prod.errors import GeneratedCodeError
from nb2prod.render import chunks

if TYPE_CHECKING:
    import black.mode

#: The black releases whose source the argument in :mod:`nb2prod.render.chunks` was
#: read from (and tests/test_chunks.py checks); any other black formats whole, since
#: a new release could add a rule that looks across statements.
PIECES_FOR = ("26.",)
#: The black release installed.
BLACK_VERSION = version("black")

#: Lines of pieces to format below which forking a helper costs more than it saves.
MIN_PARALLEL_LINES = 1500


@once
def mode() -> black.mode.Mode:
    """black's settings for generated code.

    black is imported here, on the first text the cache does not hold: a warm run
    formats nothing and does not pay for the import (about 0.1 s).
    """
    import black.mode

    return black.mode.Mode(target_versions={black.mode.TargetVersion.PY311})


def _invalid_input() -> type[Exception]:
    """black's error for text it cannot parse (imported: a failure came from black)."""
    import black.parsing

    return black.parsing.InvalidInput


def format_files(files: dict[str, str]) -> dict[str, str]:
    """The same files with every ``.py`` one black-formatted and parse-checked.

    The modules not in the cache are formatted in one batch (:func:`_batch`), so that
    one forked helper shares the work of all of them, not only of the largest.
    """
    paths = [path for path in files if path.endswith(".py")]
    try:
        done = cache.formatted_all([files[path] for path in paths], _batch)
    except (_invalid_input(), SyntaxError):
        # One module at a time, so that the error names the module and its lines.
        done = [format_source(path, files[path]) for path in paths]
    formatted = dict(zip(paths, done, strict=True))
    return {path: formatted.get(path, text) for path, text in files.items()}


def _batch(texts: list[str]) -> list[str]:
    """:func:`_proven` of each text: the uncached pieces of the modules that split and
    the modules that do not, formatted in one :func:`_black_pieces` call.

    Whole modules are cached only by :func:`format_files`, after their proof, as
    :func:`format_source` caches them; pieces as :func:`_black` caches them.

    The proof runs where each piece is formatted (the helper proves its half): a
    module cut between top-level statements parses exactly when each piece does,
    since every piece ends with the tokenizer back at column 0 outside any bracket
    or string, and ``file_input`` is a sequence of statements. The one exception is
    ``from __future__``, whose flags change how the rest of a module parses, so a
    module that mentions it is parsed whole. Pieces from the cache are parsed here.
    """
    split = [_pieces(text) for text in texts]
    pieces = [piece for parts in split if parts is not None for piece in parts]
    wholes = [text for text, parts in zip(texts, split, strict=True) if parts is None]
    formatted_wholes: list[str] = []
    fresh: set[str] = set()

    def together(missing: list[str]) -> list[str]:
        results = _black_pieces([*missing, *wholes])  # each one proven
        fresh.update(missing)
        formatted_wholes.extend(results[len(missing) :])
        return results[: len(missing)]

    formatted_pieces = iter(cache.formatted_all(pieces, together))
    next_whole = iter(formatted_wholes)
    results = []
    for parts in split:
        if parts is None:
            results.append(next(next_whole))
            continue
        done = [next(formatted_pieces) for _ in parts]
        for piece, formatted in zip(parts, done, strict=True):
            if piece not in fresh:
                ast.parse(formatted)
        result = chunks.join(done)
        if "__future__" in result:
            ast.parse(result)
        results.append(result)
    return results


def _pieces(text: str) -> list[str] | None:
    """The pieces :func:`_black` formats ``text`` in, or None to format it whole."""
    return chunks.split(text) if BLACK_VERSION.startswith(PIECES_FOR) else None


def _black(text: str) -> str:
    """black on the whole text, computed piece by piece when that is the same.

    :mod:`nb2prod.render.chunks` says where a module can be cut and why the joined
    pieces are what black gives for the whole; each piece is cached by content and
    the uncached ones are shared with a forked helper on a second core. Only with
    the black releases that argument covers (:data:`PIECES_FOR`).
    """
    pieces = _pieces(text)
    if pieces is None:
        return _black_whole(text)
    try:
        return chunks.join(cache.formatted_all(pieces, _black_pieces))
    except _invalid_input():
        return _black_whole(text)  # the error then names lines of the whole module


def _black_whole(text: str) -> str:
    import black

    return black.format_str(text, mode=mode())


def _black_pieces(pieces: list[str]) -> list[str]:
    return map_in_two(pieces, _black_proven, _line_count, MIN_PARALLEL_LINES)


def _black_proven(text: str) -> str:
    """black, and the proof that its output parses, in the process that formats it."""
    formatted = _black_whole(text)
    ast.parse(formatted)
    return formatted


def _line_count(text: str) -> int:
    return text.count("\n")


def format_source(path: str, text: str) -> str:
    """Black-format one generated module, proven to parse.

    The proof runs before the result is cached, so a cached result needs none.
    """
    try:
        return cache.formatted(text, _proven)
    except (_invalid_input(), SyntaxError) as exc:
        raise GeneratedCodeError(
            f"nb2prod generated invalid Python in {path} (a bug in nb2prod; please report it): {exc}"
        ) from None


def _proven(text: str) -> str:
    formatted = _black(text)
    ast.parse(formatted)
    return formatted
