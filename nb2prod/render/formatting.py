"""Format generated Python with black, then prove it still parses."""

from __future__ import annotations

import ast

import black
import black.mode
import black.parsing

from nb2prod.analysis import cache
from nb2prod.errors import GeneratedCodeError

_MODE = black.Mode(target_versions={black.mode.TargetVersion.PY311})


def format_files(files: dict[str, str]) -> dict[str, str]:
    """The same files with every ``.py`` one black-formatted and parse-checked."""
    return {
        path: format_source(path, text) if path.endswith(".py") else text
        for path, text in files.items()
    }


def _black(text: str) -> str:
    return black.format_str(text, mode=_MODE)


def format_source(path: str, text: str) -> str:
    """Black-format one generated module."""
    try:
        formatted = cache.formatted(text, _black)
    except black.parsing.InvalidInput as exc:
        raise GeneratedCodeError(
            f"nb2prod generated invalid Python in {path} (a bug in nb2prod; please report it): {exc}"
        ) from None
    try:
        ast.parse(formatted)
    except SyntaxError as exc:
        raise GeneratedCodeError(
            f"nb2prod generated invalid Python in {path} (a bug in nb2prod; please report it): {exc}"
        ) from None
    return formatted
