"""Distributions the generated package depends on, found from its imports."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from importlib.metadata import (
    PackageNotFoundError,
    metadata,
    packages_distributions,
    version,
)
from pathlib import Path
from typing import TYPE_CHECKING

from nb2prod.analysis import entries
from nb2prod.errors import Nb2ProdError, UsageError

if TYPE_CHECKING:  # `check`'s fast path imports this module through the settings
    from nb2prod.plan.model import ModulePlan


@dataclass(frozen=True)
class Dependency:
    """A distribution the package needs at run time or in its tests."""

    #: The distribution's name on PyPI (``scikit-learn``).
    distribution: str
    #: The version that ran the notebook, or None when it is not installed here.
    version: str | None
    #: The import names that need it (``sklearn``).
    modules: tuple[str, ...]
    #: Pin the exact version: the library wrote an artifact the package loads.
    exact: bool = False

    @property
    def requirement(self) -> str:
        """The line for pyproject's dependency list."""
        if not self.version:
            return self.distribution
        return f"{self.distribution}{'==' if self.exact else '>='}{self.version}"


def resolve(
    modules: Iterable[str],
    locked: Mapping[str, str],
    package: str,
    pinned: Mapping[str, str] | None = None,
    owners: Mapping[str, str] | None = None,
) -> tuple[list[Dependency], list[str]]:
    """Dependencies for the top-level ``modules``, and the modules nobody provides.

    What the package's lock file records wins over what is installed here (the
    ``locked`` versions and the ``owners`` distribution of each module), so that
    ``check`` gives the same answer on every machine. ``pinned`` distributions
    (those that wrote artifacts) are always included, at exactly their version.
    """
    pinned = pinned or {}
    owners = owners or {}
    by_distribution: dict[str, list[str]] = {name: [] for name in pinned}
    unknown: list[str] = []
    for module in sorted(set(modules)):
        if module in ("__future__", package) or module in sys.stdlib_module_names:
            continue
        owner = owners.get(module) or next(iter(distributions().get(module, [])), None)
        if owner is None:
            unknown.append(module)
            continue
        by_distribution.setdefault(owner, []).append(module)
    found = [
        Dependency(
            dist,
            pinned.get(dist) or locked.get(dist) or _installed_version(dist),
            tuple(mods),
            exact=dist in pinned,
        )
        for dist, mods in sorted(
            by_distribution.items(), key=lambda item: item[0].lower()
        )
    ]
    return found, unknown


def provided(
    modules: Iterable[str], owners: Mapping[str, str] | None = None
) -> list[str]:
    """The ``modules`` some distribution provides (here, or as the lock recorded).

    For modules found in saved files rather than imports: ``__main__``, the
    notebook's own classes or the standard library need no declaration.
    """
    owners = owners or {}
    return sorted(
        m
        for m in set(modules)
        if m not in sys.stdlib_module_names and (m in owners or m in distributions())
    )


def rendered_imports(
    files: Mapping[str, str | bytes],
    package: str,
    modules: Iterable[ModulePlan],
    owners: Mapping[str, str],
) -> list[str]:
    """The distributions' modules that the package's generated ``modules`` import.

    Code nb2prod adds to the notebook's, such as ``import numpy as np`` for an
    annotation of values the calls showed, imports modules no notebook cell did;
    each must be declared all the same. Module-level imports only.
    """
    found: set[str] = set()
    for module in modules:
        text = files.get(f"src/{package}/{module.name}.py")
        if isinstance(text, str):
            found |= entries.remembered(
                frozenset, ("module imports", text), partial(_imports, text)
            )
    return provided(found - {package}, owners)


def _imports(text: str) -> frozenset[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.partition(".")[0])
    return frozenset(found)


@cache
def distributions() -> Mapping[str, list[str]]:
    """Which distributions provide each top-level module.

    Slow (it reads every installed distribution's file list), so computed once per
    process and kept in nb2prod's cache, keyed by the distributions' metadata
    folders on the import path and the time each was written: installing, upgrading
    or removing a distribution writes or removes its ``.dist-info`` folder.
    """
    return entries.remembered(dict, _metadata_state(), packages_distributions)


def _metadata_state() -> list[str]:
    """Each metadata folder (or zipped entry) on ``sys.path`` with its modification time."""
    state = ["installed distributions", sys.executable]
    for entry in sys.path:
        state.append(entry)
        try:
            with os.scandir(entry or ".") as listing:
                state.extend(
                    f"{item.name}\0{item.stat().st_mtime_ns}"
                    for item in listing
                    if item.name.endswith(_METADATA_SUFFIXES)
                )
        except NotADirectoryError:
            with contextlib.suppress(OSError):
                state.append(str(Path(entry).stat().st_mtime_ns))
        except OSError:
            continue
    return state


_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _generated_by_us(distribution: str) -> bool:
    try:
        summary = metadata(distribution)["Summary"] or ""
    except PackageNotFoundError:
        return False
    return summary.startswith("Generated by nb2prod")


def refuse_shadowing(name: str, notebook: Path, requested: bool) -> None:
    """Raise when ``name`` would shadow a standard or installed foreign module."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        owner = "the standard library"
    elif _importable(name):
        owners = distributions().get(name, [])
        # Re-converting after `pip install` of the generated package is fine.
        foreign = [d for d in owners if not _generated_by_us(d)]
        if not foreign:
            return
        owner = f"the installed distribution {foreign[0]}"
    else:
        return
    # A bad option, or a bad file name.
    error = UsageError if requested else Nb2ProdError
    raise error(
        f"{notebook.name}: the package name '{name}' would shadow the module of {owner}; "
        f"choose another with --name, e.g. --name {name}_model"
    )


def _importable(name: str) -> bool:
    """Whether some finder knows a top-level module ``name``: when none does, nothing
    installed can be shadowed, and the scan of every distribution's files is skipped
    (a fifth of a warm convert)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True  # let the scan decide
