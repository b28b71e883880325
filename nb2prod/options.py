"""What the user asked for, as one frozen value the commands pass to the pipeline."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nb2prod.notebook.read import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Options:
    """What the user asked for."""

    #: The notebook file.
    notebook: Path
    #: The folder that holds the package folder; None for the notebook's folder.
    out: Path | None = None
    #: The package name; None to derive it from the notebook's file name.
    name: str | None = None
    #: Overwrite files edited since generation.
    force: bool = False
    #: Refuse notebook files larger than this.
    max_bytes: int = DEFAULT_MAX_BYTES
    #: ``-p NAME VALUE`` overrides as Python literals; None reuses the lock's.
    parameters: Mapping[str, str] | None = None


def literal(value: str) -> str:
    """A ``-p`` value as a Python literal: numbers, booleans and None as such, else a string."""
    try:
        ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return repr(value)
    return value


def values(parameters: Mapping[str, str]) -> dict[str, object]:
    """Parameter literals as the Python values papermill injects."""
    return {name: ast.literal_eval(text) for name, text in parameters.items()}
