"""Read a notebook file into plain frozen values (nbformat does the parsing)."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import NotebookError

_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Refuse notebooks larger than this unless the caller raises the limit.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook, as nb2prod needs it."""

    #: 1-based position among all cells (the number errors show).
    number: int
    #: nbformat cell id, or None for notebooks older than nbformat 4.5.
    id: str | None
    #: ``code``, ``markdown`` or ``raw``.
    kind: str
    #: The source text, with ``\n`` line endings.
    source: str
    #: Tags from ``metadata.tags``, in the order the notebook lists them.
    tags: tuple[str, ...]
    #: The execution count the notebook was saved with, if any.
    execution_count: int | None


@dataclass(frozen=True)
class Notebook:
    """A notebook file, read and upgraded to nbformat 4."""

    #: The path the user gave.
    path: Path
    #: All cells, in order.
    cells: tuple[Cell, ...]
    #: SHA-256 of the cells' kinds, ids, tags and sources (not outputs or
    #: execution counts, so clearing outputs changes nothing).
    source_hash: str
    #: The whole document as nbformat 4 JSON, from which the run's copy is made.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def read_notebook(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Notebook:
    """Read ``path`` as a Python notebook of any nbformat 4.x or 3 version."""
    raw = _load_json(path, max_bytes)
    node = _to_nbformat4(path, raw)
    _check_language(path, node)
    # Ids come from the file itself: nbformat invents random ids for older
    # notebooks, and generation must not depend on chance.
    ids = _raw_ids(raw, len(node["cells"]))
    cells = tuple(
        _cell(number, cell, cell_id)
        for number, (cell, cell_id) in enumerate(
            zip(node["cells"], ids, strict=True), 1
        )
    )
    if not cells:
        raise NotebookError(path, "the notebook has no cells")
    return Notebook(path, cells, _source_hash(cells), dict(node))


def _load_json(path: Path, max_bytes: int) -> dict[str, Any]:
    try:
        text = _read_regular(path, max_bytes).decode("utf-8-sig")
    except FileNotFoundError:
        raise NotebookError(path, "no such file") from None
    except IsADirectoryError:
        raise NotebookError(path, "is a directory, not a notebook file") from None
    except UnicodeDecodeError as exc:
        raise NotebookError(
            path, f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise NotebookError(path, f"cannot be read: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            path, f"is not valid JSON: {exc.msg} at line {exc.lineno}, col {exc.colno}"
        ) from None
    except RecursionError:
        raise NotebookError(
            path, "is JSON nested too deeply to be a notebook"
        ) from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise NotebookError(
            path, "is JSON but not a Jupyter notebook (no 'nbformat' field)"
        )
    return raw


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after checking (before reading) that it is a regular file
    under the limit: a FIFO would hang and /dev/zero would never end."""
    status = path.stat()
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError
    if not stat.S_ISREG(status.st_mode):
        raise NotebookError(path, "is not a regular file (a device, FIFO or socket)")
    if status.st_size > max_bytes:
        raise NotebookError(
            path,
            f"the file is {_size(status.st_size)}, over the {_size(max_bytes)} limit",
            "clear the notebook's outputs (Edit → Clear Outputs of All Cells)",
        )
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)  # it may have grown since
    if len(data) > max_bytes:
        raise NotebookError(path, f"the file is over the {_size(max_bytes)} limit")
    return data


def _to_nbformat4(path: Path, raw: dict[str, Any]) -> Any:
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise NotebookError(
            path, f"uses nbformat {major!r}; nb2prod reads versions 3 and 4"
        )
    if major == 4 and _well_formed(raw):
        # nbformat would only hand back the same cells, and importing it costs a
        # second where jsonschema's format checkers are installed: too slow for
        # `check` on every commit.
        return raw
    _source_problem(path, raw)
    import nbformat

    try:
        with warnings.catch_warnings():
            # Missing cell ids and similar are fixed by the upgrade; not the user's concern.
            warnings.simplefilter("ignore")
            node = nbformat.reads(json.dumps(raw), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        raise NotebookError(
            path, f"is not a valid notebook: {_first_line(exc)}"
        ) from None
    cells = node.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError(
            path, "is not a valid notebook: 'cells' is not a list of cells"
        )
    return node


def _source_problem(path: Path, raw: dict[str, Any]) -> None:
    """Name the first cell whose source is not text, before nbformat's own wording."""
    cells = raw.get("cells")
    if not isinstance(cells, list):
        return
    for number, cell in enumerate(cells, 1):
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        if not _text(source):
            raise NotebookError(
                path,
                f"cell {number}: its source is {_what(source)}, not text; "
                "the file is damaged",
            )


def _what(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        odd = next((item for item in value if not isinstance(item, str)), None)
        return "an empty list" if odd is None else f"a list holding {_what(odd)}"
    names = {"int": "a number", "float": "a number", "bool": "a boolean"}
    return names.get(type(value).__name__, f"a {type(value).__name__}")


def _text(source: object) -> bool:
    """A cell source as nbformat allows it: a string or a list of strings."""
    return isinstance(source, str) or (
        isinstance(source, list) and all(isinstance(line, str) for line in source)
    )


def _well_formed(raw: dict[str, Any]) -> bool:
    """An nbformat 4 notebook whose cells nb2prod can read as they are."""
    cells = raw.get("cells")
    return (
        isinstance(cells, list)
        and isinstance(raw.get("metadata", {}), dict)
        and all(
            isinstance(cell, dict)
            and cell.get("cell_type") in ("code", "markdown", "raw")
            and _text(cell.get("source", ""))
            and isinstance(cell.get("metadata", {}), dict)
            for cell in cells
        )
    )


def _check_language(path: Path, node: Any) -> None:
    metadata = _mapping(node.get("metadata"))
    kernelspec = _mapping(metadata.get("kernelspec"))
    info = _mapping(metadata.get("language_info"))
    language = kernelspec.get("language") or info.get("name") or "python"
    if str(language).lower() != "python":
        name = kernelspec.get("display_name") or kernelspec.get("name") or language
        raise NotebookError(
            path,
            f"is a {language} notebook (kernel {name}); nb2prod converts Python notebooks only",
        )


def _mapping(value: object) -> dict[str, Any]:
    """A metadata table, or {} when the notebook has something else there."""
    return value if isinstance(value, dict) else {}


def _raw_ids(raw: dict[str, Any], count: int) -> list[str | None]:
    cells = raw.get("cells")
    if raw.get("nbformat") != 4 or not isinstance(cells, list) or len(cells) != count:
        return [None] * count
    return [_valid_id(c.get("id")) if isinstance(c, dict) else None for c in cells]


def _valid_id(value: object) -> str | None:
    """An id as nbformat 4.5 defines them; others are not shown (they end up in code)."""
    if isinstance(value, str) and _CELL_ID.fullmatch(value):
        return value
    return None


def _cell(number: int, node: Any, cell_id: str | None) -> Cell:
    source = node.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    metadata = _mapping(node.get("metadata"))
    tags = metadata.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]  # a lone tag written without its list
    if not isinstance(tags, list):
        tags = []
    count = node.get("execution_count")
    kind = str(node.get("cell_type", ""))
    return Cell(
        number=number,
        id=cell_id,
        kind=kind,
        source=_clean_text(str(source), markdown=kind != "code"),
        tags=tuple(str(tag) for tag in tags),
        execution_count=count if isinstance(count, int) else None,
    )


def _clean_text(text: str, markdown: bool) -> str:
    """Text the generated files can hold: \n line ends, no lone surrogates.

    Markdown also loses control characters (it becomes comments and README text);
    code keeps them, so that the parser reports them at their line.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if markdown:
        text = _CONTROL.sub("", text)
    return text


def _source_hash(cells: tuple[Cell, ...]) -> str:
    digest = hashlib.sha256()
    for cell in cells:
        record = [cell.kind, cell.id, list(cell.tags), cell.source]
        digest.update(json.dumps(record).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _size(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
