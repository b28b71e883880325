"""The children that replay recorded calls: what they see besides the package."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nb2prod import standalone

#: The name the copy of nb2prod's stdlib-only modules is imported under in a child.
SUPPORT = "_nb2prod_replay"


def child_environment(work: str, site: Path, clean: bool) -> dict[str, str]:
    """The environment of a child that runs the package found in ``site`` with a copy
    of nb2prod's stdlib-only modules (:mod:`nb2prod.standalone`) put in ``work`` as
    :data:`SUPPORT`, and never nb2prod itself, nor its site-packages when ``clean``."""
    shutil.copytree(
        Path(standalone.__file__).parent,
        Path(work) / SUPPORT,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(site.resolve()), work])
    if clean:
        env["PYTHONNOUSERSITE"] = "1"
    return env
