"""Package and distribution names derived from a notebook's file name."""

from __future__ import annotations

import keyword
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from nb2prod.errors import Nb2ProdError, UsageError


def package_name(notebook: Path, requested: str | None = None) -> str:
    """The import name: ``--name`` if given, else sanitised from the file name.

    ``01 Churn v2.ipynb`` gives ``churn_v2``.
    """
    if requested is not None:
        if not requested.isidentifier() or keyword.iskeyword(requested):
            raise UsageError(f"--name {requested!r} is not a valid Python package name")
        name = requested
    else:
        name = sanitise(notebook.stem)
        if not name:
            raise UsageError(
                f"{notebook.name}: cannot derive a package name from the file name; pass --name"
            )
    _refuse_shadowing(name, notebook, requested is not None)
    return name


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


def _refuse_shadowing(name: str, notebook: Path, requested: bool) -> None:
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        owner = "the standard library"
    else:
        owners = packages_distributions().get(name, [])
        # Re-converting after `pip install` of the generated package is fine.
        foreign = [
            d for d in owners if d.lower().replace("_", "-") != distribution_name(name)
        ]
        if not foreign:
            return
        owner = f"the installed distribution {foreign[0]}"
    error = (
        UsageError if requested else Nb2ProdError
    )  # a bad option, or a bad file name
    raise error(
        f"{notebook.name}: the package name '{name}' would shadow the module of {owner}; "
        f"choose another with --name, e.g. --name {name}_model"
    )
