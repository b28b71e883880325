"""Decide each code cell's role from its tags (metadata or ``# nb2prod:`` line)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from nb2prod.errors import Diagnostic, Location, error
from nb2prod.notebook.read import Cell, Notebook
from nb2prod.notebook.vocabulary import Role, Vocabulary, load_vocabulary

_DIRECTIVE = re.compile(r"^#\s*nb2prod\s*:\s*(?P<names>.*?)\s*$")


@dataclass(frozen=True)
class RoledCell:
    """A code cell and what nb2prod does with it."""

    #: The cell as read.
    cell: Cell
    #: Its role, or None for an untagged cell.
    role: Role | None
    #: The source with its ``# nb2prod:`` directive lines blanked (line numbers kept).
    source: str
    #: True when the role came from a ``# nb2prod:`` line at the top of the cell.
    from_comment: bool
    #: The 1-based lines that held ``# nb2prod:`` directives.
    directive_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Selection:
    """Every code cell of a notebook with its role, plus problems with tags."""

    #: The notebook the cells belong to.
    notebook: Notebook
    #: Code cells in notebook order, tagged or not.
    cells: tuple[RoledCell, ...]
    #: Unknown or conflicting tags.
    diagnostics: tuple[Diagnostic, ...]
    #: SHA-256 of what generation reads (see :func:`content_hash`); the lock keeps it.
    content_hash: str

    @property
    def tagged(self) -> tuple[RoledCell, ...]:
        """The cells that carry a role."""
        return tuple(c for c in self.cells if c.role is not None)

    @property
    def tagged_hash(self) -> str:
        """SHA-256 of the tagged cells alone (ids, roles, sources, directives blanked).

        The package's ``_provenance.py`` keeps it: inserting, deleting or moving an
        untagged cell leaves it (and so ``src/``) unchanged, while the lock keeps
        :attr:`content_hash` of the whole notebook.
        """
        digest = hashlib.sha256()
        for roled in self.tagged:
            source = _without_lines(roled.source, roled.directive_lines)
            role = roled.role.value if roled.role else None
            record = [roled.cell.id, role, source]
            digest.update(
                json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
            )
        return digest.hexdigest()


def select(notebook: Notebook, vocabulary: Vocabulary) -> Selection:
    """Give each code cell of ``notebook`` its role."""
    cells: list[RoledCell] = []
    problems: list[Diagnostic] = []
    for cell in notebook.cells:
        if cell.kind != "code":
            continue
        roled, found = _role_of(notebook, cell, vocabulary)
        cells.append(roled)
        problems.extend(found)
    return Selection(
        notebook, tuple(cells), tuple(problems), content_hash(notebook, cells)
    )


def content_hash(notebook: Notebook, cells: list[RoledCell]) -> str:
    """SHA-256 of what generation reads: roles, sources (directives blanked), markdown.

    Tags written as metadata or as a ``# nb2prod:`` line hash the same; outputs,
    execution counts and other tags do not count.
    """
    roles = {c.cell.number: c for c in cells}
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.number in roles:
            roled = roles[cell.number]
            # A directive's blanked line would make the comment form hash differently.
            source = _without_lines(roled.source, roled.directive_lines)
            role = roled.role.value if roled.role else None
            record = ["code", cell.id, role, source]
        elif cell.kind == "markdown":
            record = ["markdown", cell.id, None, cell.source]
        else:
            continue
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _role_of(
    notebook: Notebook, cell: Cell, vocabulary: Vocabulary
) -> tuple[RoledCell, list[Diagnostic]]:
    source, directive, lines = _split_directive(cell.source)
    names = [*cell.tags, *(f"{vocabulary.prefix}{n}" for n in directive)]
    if "parameters" in directive:
        names.remove(f"{vocabulary.prefix}parameters")
        names.append("parameters")
    roles: list[Role] = []
    problems: list[Diagnostic] = []
    for name in dict.fromkeys(names):
        tag = vocabulary.get(name)
        if tag is not None:
            roles.append(tag.role)
        elif vocabulary.is_ours(name):
            where = () if name in cell.tags else lines
            problems.append(_unknown(notebook, cell, name, vocabulary, where))
    unique = list(dict.fromkeys(roles))
    if len(unique) > 1:
        listed = ", ".join(vocabulary.by_role(r).name for r in unique)
        problems.append(
            error(
                f"the cell has more than one nb2prod role ({listed})",
                Location(notebook.path, cell.number, cell.id),
                "split the cell so each part has one tag",
            )
        )
    role = unique[0] if len(unique) == 1 else None
    roled = RoledCell(cell, role, source, bool(lines), lines)
    return roled, problems


def _split_directive(source: str) -> tuple[str, list[str], tuple[int, ...]]:
    """Blank the ``# nb2prod: a, b`` directives at the top of a cell; return the names.

    A directive counts in the cell's top block: after any ``%%`` cell magics (which
    must come first) and among blank and comment lines, before the first code line.
    """
    lines = source.split("\n")
    names: list[str] = []
    found: list[int] = []
    magics = True
    for index, line in enumerate(lines):
        stripped = line.strip()
        if magics and stripped.startswith("%%"):
            continue
        magics = False
        match = _DIRECTIVE.match(stripped)
        if match is not None:
            names += [n.strip() for n in match.group("names").split(",") if n.strip()]
            found.append(index + 1)
            lines[index] = ""
        elif stripped and not stripped.startswith("#"):
            break
    if not found:
        return source, [], ()
    return "\n".join(lines), names, tuple(found)


def _without_lines(source: str, numbers: tuple[int, ...]) -> str:
    """``source`` without the 1-based lines ``numbers``."""
    if not numbers:
        return source
    lines = source.split("\n")
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in numbers)


def _unknown(
    notebook: Notebook,
    cell: Cell,
    name: str,
    vocabulary: Vocabulary,
    lines: tuple[int, ...],
) -> Diagnostic:
    suggestion = vocabulary.suggest(name)
    hint = (
        f"did you mean '{suggestion}'?"
        if suggestion
        else "run `nb2prod tags` to list the tags"
    )
    location = Location(notebook.path, cell.number, cell.id)
    source_lines = cell.source.split("\n")
    for number in lines:
        text = source_lines[number - 1]
        if name.removeprefix(vocabulary.prefix) in text or name in text:
            location = Location(
                notebook.path, cell.number, cell.id, number, 1, text, len(text)
            )
            break
    return error(f"unknown tag '{name}'", location, hint)


def is_tagged(notebook: Notebook) -> bool:
    """True when a cell has an nb2prod tag (check skips the others)."""
    return bool(select(notebook, load_vocabulary()).tagged)
