"""nb2prod: turn a tagged Jupyter notebook into a production package.

The public API (imported on first use, so that ``nb2prod check`` starts fast)::

    nb2prod.convert(notebook, ...)   nb2prod.verify(notebook, ...)
    nb2prod.check(notebook, ...)     nb2prod.diff(notebook, ...)
    nb2prod.Nb2ProdError             the root of every error nb2prod raises
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Nb2ProdError", "__version__", "check", "convert", "diff", "verify"]

if TYPE_CHECKING:
    from nb2prod.api import check, convert, diff, verify
    from nb2prod.errors import Nb2ProdError


def __getattr__(name: str) -> Any:
    if name == "Nb2ProdError":
        from nb2prod.errors import Nb2ProdError

        return Nb2ProdError
    if name in ("convert", "verify", "check", "diff"):
        from nb2prod import api

        return getattr(api, name)
    raise AttributeError(f"module 'nb2prod' has no attribute {name!r}")
