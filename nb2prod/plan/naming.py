"""Package and distribution names derived from a notebook's file name."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from nb2prod.errors import Nb2ProdError, UsageError


def package_name(notebook: Path, requested: str | None = None) -> str:
    """The import name: ``--name`` if given, else sanitised from the file name.

    ``01 Churn v2.ipynb`` gives ``churn_v2``. Only the name's form is checked here
    (cheap); generation calls
    :func:`nb2prod.plan.dependencies.refuse_shadowing` too. A notebook path holding
    a control character (a line break, ESC, an undecodable byte) is refused: the
    package names it in comments, Markdown and shell lines, which it would break.
    """
    _require_printable(notebook)
    if requested is not None:
        # ASCII too: the distribution name (pip, TOML, the serve command) needs it.
        if (
            not requested.isidentifier()
            or not requested.isascii()
            or keyword.iskeyword(requested)
        ):
            raise UsageError(
                f"--name {requested!r} is not a valid Python package name "
                "(ASCII letters, digits and _, not starting with a digit)"
            )
        name = requested
    else:
        name = sanitise(notebook.stem)
        if not name:
            raise UsageError(
                f"{notebook.name}: cannot derive a package name from the file name; pass --name"
            )
    return name


def _require_printable(notebook: Path) -> None:
    path = str(notebook.absolute())
    odd = next((c for c in path if not c.isprintable() and c != " "), None)
    if odd is not None:
        raise Nb2ProdError(
            f"{path!a}: the notebook's path holds the control character "
            f"{odd!a}; rename the file (or its folder) without it"
        )


def sanitise(stem: str) -> str:
    """Lower-case identifier from arbitrary text, leading digits dropped."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower()
    name = re.sub(r"^[0-9_]+", "", name)
    if keyword.iskeyword(name):
        name += "_pkg"
    return name


def distribution_name(package: str) -> str:
    """The name pip installs it under."""
    return package.replace("_", "-")


def test_name(number: int, cell_id: str | None) -> str:
    """A test cell's function name: from its id, so moving cells renames nothing.

    nbformat ids are letters, digits, ``-`` and ``_``; ``-`` becomes ``_``. A notebook
    older than nbformat 4.5 has no ids: the cell's position names it then.
    """
    if cell_id and re.fullmatch(r"[A-Za-z0-9_-]+", cell_id):
        return "test_cell_" + cell_id.replace("-", "_")
    return f"test_cell_{number}"
