"""Distributions the generated package depends on, found from its imports."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version

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
            found |= _imports(text)
    return provided(found - {package}, owners)


def _imports(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.partition(".")[0])
    return found


@cache
def distributions() -> Mapping[str, list[str]]:
    """Which distributions provide each top-level module; slow, so computed once."""
    return packages_distributions()


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None
