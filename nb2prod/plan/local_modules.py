"""Find the modules beside the notebook that its cells import (``from helpers import f``).

The kernel runs in the notebook's folder, so ``helpers.py`` there imports; once the
package is installed it would not. Such a module ships inside the package. A folder
an untagged cell adds to ``sys.path`` with a literal (``sys.path.append("lib")``,
``sys.path.insert(0, "lib")``) is searched too. Unlike the rest of ``plan/``, this
reads files: it runs once, before planning, and hands the planner what it read.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from nb2prod.analysis.cells import CellAnalysis
from nb2prod.analysis.magics import mask
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.vocabulary import Role
from nb2prod.plan.model import LocalModule

#: A module larger than this is not copied (it is no helper module).
MAX_BYTES = 1_000_000


def find_local_modules(
    notebook: Notebook, cells: Sequence[CellAnalysis]
) -> dict[str, LocalModule]:
    """The local modules the tagged cells import, and the local modules they import."""
    folders = search_folders(notebook, cells)
    wanted = [
        name
        for cell in cells
        if cell.cell.role is not None
        and (cell.cell.role.ships_code or cell.cell.role is Role.TEST)
        for statement in cell.statements
        for name in [
            *(b.top_module for b in statement.imports if not b.level),
            *statement.modules,
        ]
    ]
    found: dict[str, LocalModule] = {}
    stack = list(dict.fromkeys(wanted))
    while stack:
        name = stack.pop()
        if name in found or not name.isidentifier() or name in sys.stdlib_module_names:
            continue
        module = _read(name, folders)
        if module is not None:
            found[name] = module
            stack += list(module.imports)
    return found


def search_folders(notebook: Notebook, cells: Iterable[CellAnalysis]) -> list[Path]:
    """The notebook's folder, then the folders untagged cells add to ``sys.path``."""
    home = notebook.path.parent
    folders = [home]
    for cell in cells:
        if cell.cell.role is not None:
            continue
        for literal in _sys_path_literals(mask(cell.cell.source).source):
            folder = home / literal
            if folder not in folders:
                folders.append(folder)
    return folders


def _sys_path_literals(source: str) -> list[str]:
    if source.isascii() and ("sys" not in source or "path" not in source):
        return []  # most cells: no parse needed (non-ASCII names may normalise to sys)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "insert")
            and ast.unparse(node.func.value) == "sys.path"
            and node.args
        ):
            continue
        argument = node.args[-1]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            found.append(argument.value)
    return found


def _read(name: str, folders: Sequence[Path]) -> LocalModule | None:
    for folder in folders:
        path = folder / f"{name}.py"
        try:
            if not path.is_file() or path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_text("utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            continue
        return LocalModule(name, path, text, _imports(tree))
    return None


def _imports(tree: ast.Module) -> tuple[str, ...]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(node.module.split(".")[0])
    return tuple(dict.fromkeys(found))
