"""Build small notebooks in code for the tests (as nbconvert's own tests do)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}


def code(source: str, *tags: str, cell_id: str | None = None) -> Any:
    """A code cell with ``tags`` in its metadata."""
    cell = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.id = cell_id or ""
    return cell


def md(source: str, cell_id: str | None = None) -> Any:
    """A markdown cell."""
    cell = new_markdown_cell(source)
    cell.id = cell_id or ""
    return cell


def notebook(*cells: Any, language: str = "python") -> Any:
    """A notebook of ``cells`` with stable ids (c1, c2, ...) unless given."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {**KERNELSPEC, "language": language}
    nb.metadata["language_info"] = {"name": language}
    for number, cell in enumerate(cells, 1):
        cell.id = cell.id or f"c{number}"
    nb.cells = list(cells)
    return nb


def write(path: Path, *cells: Any, language: str = "python") -> Path:
    """Write a notebook of ``cells`` to ``path`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(*cells, language=language), str(path))
    return path


_MARKER = re.compile(
    r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$"
)


def from_percent(text: str) -> Any:
    """A notebook from the light "percent" text format of the golden cases.

    ``# %%`` starts a code cell, ``# %% tags=["nb2prod:export"]`` a tagged one, and
    ``# %% [markdown]`` a markdown cell whose lines drop their leading ``# ``.
    """
    cells: list[Any] = []
    kind, tags, lines = "", [], []  # type: tuple[str, list[str], list[str]]

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cells.append(
                md(
                    "\n".join(
                        line[2:] if line.startswith("# ") else line.removeprefix("#")
                        for line in body.split("\n")
                    )
                )
            )
        elif kind == "code":
            cells.append(code(body, *tags))

    for line in text.splitlines():
        match = _MARKER.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        kind = "markdown" if match.group("markdown") else "code"
        tags = json.loads(match.group("tags")) if match.group("tags") else []
        lines = []
    flush()
    return notebook(*cells)
