"""Every error nb2prod reports, and where it points in the notebook.

The hierarchy has one root; only the CLI catches it and maps it to an exit code::

    Nb2ProdError                 exit 1 unless noted
    ├── UsageError               exit 2: options that cannot work together
    ├── ProjectConfigError       the [tool.nb2prod] table is not what nb2prod reads
    ├── NotebookError            the notebook cannot be read or is not a notebook
    │   └── UntaggedNotebookError    it has no nb2prod tag (check and verify skip it)
    ├── ConversionError          one or more located problems in tagged cells
    ├── NotebookRunError         the notebook raised while papermill ran it
    ├── WriteRefusedError        convert would overwrite a file the user edited
    ├── CleanEnvironmentError    the package's clean environment could not be built
    ├── MissingModuleError       a replayed call needs a module the package lacks
    └── GeneratedCodeError       exit 3: nb2prod generated invalid Python (a bug)

Any other exception reaching the CLI is a bug in nb2prod: exit 3.

Library code collects per-cell problems as :class:`Diagnostic` values and raises a
:class:`ConversionError` holding all of them, so one run reports every problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(Enum):
    """How bad a diagnostic is."""

    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Location:
    """A place in a notebook: a cell, and optionally a line and column in it."""

    #: The notebook file as the user named it.
    notebook: Path
    #: 1-based position of the cell among all cells of the notebook.
    cell: int | None = None
    #: The cell's nbformat id, when the notebook has ids.
    cell_id: str | None = None
    #: 1-based line within the cell's source.
    line: int | None = None
    #: 1-based column within that line.
    column: int | None = None
    #: The text of that line, shown under the message with a caret.
    source_line: str | None = None
    #: How many characters the caret underlines.
    width: int = 1

    def __str__(self) -> str:
        parts: list[str] = []
        if self.cell is not None:
            cell = f"cell {self.cell}"
            if self.cell_id:
                cell += f" [id {self.cell_id}]"
            parts.append(cell)
        if self.line is not None:
            parts.append(f"line {self.line}")
            if self.column is not None:
                parts.append(f"col {self.column}")
        return ": ".join(
            [self.notebook.name, ", ".join(parts)] if parts else [self.notebook.name]
        )

    def excerpt(self) -> str:
        """The source line with a caret under the column, or '' without one."""
        if self.source_line is None:
            return ""
        text = self.source_line.rstrip("\r\n").expandtabs(4)
        caret = ""
        if self.column is not None:
            caret = "\n    " + " " * (self.column - 1) + "^" * max(1, self.width)
        return f"    {text}{caret}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem (or warning) found in a notebook."""

    #: Whether conversion can go on.
    severity: Severity
    #: What is wrong, in one sentence.
    message: str
    #: Where it is.
    location: Location
    #: What the user can do about it, or ''.
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity.value}: {self.message}"
        excerpt = self.location.excerpt()
        if excerpt:
            text += "\n" + excerpt
        if self.hint:
            text += "\n  hint: " + self.hint
        return text


def warning(message: str, location: Location, hint: str = "") -> Diagnostic:
    """A diagnostic that does not stop conversion."""
    return Diagnostic(Severity.WARNING, message, location, hint)


def error(message: str, location: Location, hint: str = "") -> Diagnostic:
    """A diagnostic that stops conversion."""
    return Diagnostic(Severity.ERROR, message, location, hint)


class Nb2ProdError(Exception):
    """Root of every error nb2prod raises on purpose."""

    exit_code = 1


class UsageError(Nb2ProdError):
    """Options or arguments that cannot work."""

    exit_code = 2


class NotebookError(Nb2ProdError):
    """The file cannot be read as a Python notebook."""

    def __init__(self, path: Path, message: str, hint: str = "") -> None:
        text = f"{path.name}: {message}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)
        self.path = path


class UntaggedNotebookError(NotebookError):
    """The notebook has no nb2prod tag at all (``check`` skips such notebooks)."""


class ConversionError(Nb2ProdError):
    """Tagged cells that cannot become a package; holds every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        super().__init__("\n".join(str(d) for d in errors) + f"\n{count}")


class WriteRefusedError(Nb2ProdError):
    """Writing would overwrite files the user changed since generation."""

    def __init__(self, paths: list[Path], package: Path) -> None:
        self.paths = paths
        listing = "\n".join(f"  {p}" for p in paths)
        super().__init__(
            f"{package}: refusing to overwrite {len(paths)} file(s) edited since "
            f"nb2prod generated them:\n{listing}\n"
            "  hint: move your changes into the notebook, or pass --force to overwrite"
        )


class ProjectConfigError(Nb2ProdError):
    """The ``[tool.nb2prod]`` table is not what nb2prod reads."""


class NotebookRunError(Nb2ProdError):
    """The notebook raised while papermill ran it."""

    def __init__(self, message: str, kernel_traceback: str) -> None:
        super().__init__(message)
        #: The kernel's traceback, shown with --debug.
        self.details = kernel_traceback


class CleanEnvironmentError(Nb2ProdError):
    """The package's clean environment could not be built, or the package installed."""


class MissingModuleError(Nb2ProdError):
    """A replayed call needs a module the package's clean environment lacks."""


class GeneratedCodeError(Nb2ProdError):
    """nb2prod produced Python that does not parse: a bug in nb2prod (exit 3)."""

    exit_code = 3
