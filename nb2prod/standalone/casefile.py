"""Store Python values in reviewable files and load them back exactly."""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Descriptor = dict[str, Any]

# The CSV header of a Series without a name; the descriptor keeps the real name.
SERIES_COLUMN = "value"

# scipy.sparse.save_npz writes only these formats; the others are stored as CSR.
_NPZ_FORMATS = ("csr", "csc", "bsr", "dia", "coo")


def save(value: object, folder: Path, stem: str) -> dict[str, Any]:
    """Store ``value``; return a JSON-serialisable descriptor of how it was stored.

    Files are named ``<stem>.<ext>`` (``<stem>_<n>.<ext>`` for nested values) in
    ``folder``, which is created when a file is needed. The descriptor names files
    relative to ``folder``. Values that pickle cannot store raise pickle's error.
    """
    if is_json_native(value):
        # A copy, so that the caller mutating its value later cannot change the record.
        return {"kind": "json", "value": copy.deepcopy(value)}
    if type(value) is float:
        return {"kind": "float", "value": repr(value)}
    if type(value) is dict:
        return _save_dict(value, folder, stem)
    if type(value) is list or type(value) is tuple:
        return _save_sequence(value, folder, stem)
    # Dispatching on the defining package imports numpy, pandas or scipy only for
    # their own values, and sends subclasses defined elsewhere to pickle.
    package = type(value).__module__.partition(".")[0]
    return _SAVERS.get(package, save_pickle)(value, folder, stem)


def load(descriptor: Mapping[str, Any], folder: Path) -> object:
    """The value ``save`` stored, its files looked up relative to ``folder``."""
    return _LOADERS[descriptor["kind"]](descriptor, folder)


def warnings_of(descriptor: Mapping[str, Any]) -> list[str]:
    """Warnings attached anywhere in the descriptor (such as pickle fallbacks)."""
    found = [descriptor["warning"]] if "warning" in descriptor else []
    for child in _children(descriptor):
        found += warnings_of(child)
    return found


def _children(descriptor: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if descriptor["kind"] == "dict":
        return [part for pair in descriptor["items"] for part in pair]
    if descriptor["kind"] in ("list", "tuple"):
        return list(descriptor["items"])
    return []


def is_json_native(value: object) -> bool:
    # Exact types: subclasses such as numpy.float64 or IntEnum would load back as
    # their base type.
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(is_json_native(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and is_json_native(v) for k, v in value.items())
    return False


def new_file(folder: Path, stem: str, extension: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}.{extension}"


def _save_sequence(
    value: list[object] | tuple[object, ...], folder: Path, stem: str
) -> Descriptor:
    items = [save(item, folder, f"{stem}_{i}") for i, item in enumerate(value)]
    return {"kind": type(value).__name__, "items": items}


def _save_dict(value: dict[object, object], folder: Path, stem: str) -> Descriptor:
    items = [
        [save(key, folder, f"{stem}_{i}_key"), save(item, folder, f"{stem}_{i}")]
        for i, (key, item) in enumerate(value.items())
    ]
    return {"kind": "dict", "items": items}


def save_pickle(value: object, folder: Path, stem: str) -> Descriptor:
    # Pickled before the file exists, so an unpicklable value leaves no file behind.
    data = pickle.dumps(value, protocol=5)
    path = new_file(folder, stem, "pkl")
    path.write_bytes(data)
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    return {
        "kind": "pickle",
        "file": path.name,
        "type": name,
        "warning": f"stored as pickle: {name} has no reviewable form",
    }


def _save_numpy(value: Any, folder: Path, stem: str) -> Descriptor:
    import numpy as np

    if isinstance(value, np.generic) and (text := _scalar_text(value)) is not None:
        return {"kind": "numpy_scalar", "dtype": str(value.dtype), "value": text}
    if type(value) is np.ndarray and not value.dtype.hasobject:
        path = new_file(folder, stem, "npy")
        np.save(path, value, allow_pickle=False)
        return {
            "kind": "ndarray",
            "file": path.name,
            "dtype": str(value.dtype),
            "shape": list(value.shape),
        }
    return save_pickle(value, folder, stem)


def _scalar_text(value: Any) -> str | None:
    """Text that `_SCALAR_PARSERS` turns back into exactly ``value``, if any."""
    kind, size = value.dtype.kind, value.dtype.itemsize
    if kind == "b":
        return str(bool(value))
    if kind in "iu":
        return str(int(value))
    if kind == "f" and size <= 8:  # wider (long double) floats do not fit a float
        return repr(float(value))
    if kind == "c" and size <= 16:
        return repr(complex(value))
    if kind == "m":
        return str(int(value.astype("int64")))
    if kind in "MU":
        return str(value)
    return None


_SCALAR_PARSERS: dict[str, Callable[[str], object]] = {
    "b": lambda text: text == "True",
    "i": int,
    "u": int,
    "f": float,
    "c": complex,
    "m": int,
    "M": str,
    "U": str,
}


def _load_numpy_scalar(descriptor: Mapping[str, Any], folder: Path) -> object:
    import numpy as np

    dtype = np.dtype(descriptor["dtype"])
    parsed = _SCALAR_PARSERS[dtype.kind](descriptor["value"])
    return np.array(parsed, dtype=dtype)[()]


def _load_ndarray(descriptor: Mapping[str, Any], folder: Path) -> object:
    import numpy as np

    return np.load(folder / descriptor["file"], allow_pickle=False)


def _save_scipy(value: Any, folder: Path, stem: str) -> Descriptor:
    import scipy.sparse

    if not scipy.sparse.issparse(value):
        return save_pickle(value, folder, stem)
    path = new_file(folder, stem, "npz")
    storable = value if value.format in _NPZ_FORMATS else value.tocsr()
    scipy.sparse.save_npz(path, storable)
    return {
        "kind": "sparse",
        "file": path.name,
        "format": value.format,
        "array": isinstance(value, scipy.sparse.sparray),
        "dtype": str(value.dtype),
        "shape": list(value.shape),
    }


def _load_sparse(descriptor: Mapping[str, Any], folder: Path) -> object:
    import scipy.sparse

    container = "array" if descriptor["array"] else "matrix"
    sparse_class = getattr(scipy.sparse, f"{descriptor['format']}_{container}")
    return sparse_class(scipy.sparse.load_npz(folder / descriptor["file"]))


def _load_pickle(descriptor: Mapping[str, Any], folder: Path) -> object:
    return pickle.loads((folder / descriptor["file"]).read_bytes())


def _load_dict(descriptor: Mapping[str, Any], folder: Path) -> object:
    return {load(key, folder): load(item, folder) for key, item in descriptor["items"]}


def _load_items(descriptor: Mapping[str, Any], folder: Path) -> list[object]:
    return [load(item, folder) for item in descriptor["items"]]


def _save_pandas(value: Any, folder: Path, stem: str) -> Descriptor:
    from . import tables  # imports pandas, which the value's type loaded

    return tables.save_pandas(value, folder, stem)


def _load_dataframe(descriptor: Mapping[str, Any], folder: Path) -> object:
    from . import tables

    return tables.load_dataframe(descriptor, folder)


def _load_series(descriptor: Mapping[str, Any], folder: Path) -> object:
    from . import tables

    return tables.load_series(descriptor, folder)


_SAVERS: dict[str, Callable[[Any, Path, str], Descriptor]] = {
    "numpy": _save_numpy,
    "pandas": _save_pandas,
    "scipy": _save_scipy,
}

_LOADERS: dict[str, Callable[[Mapping[str, Any], Path], object]] = {
    "json": lambda descriptor, folder: copy.deepcopy(descriptor["value"]),
    "float": lambda descriptor, folder: float(descriptor["value"]),
    "list": _load_items,
    "tuple": lambda descriptor, folder: tuple(_load_items(descriptor, folder)),
    "dict": _load_dict,
    "numpy_scalar": _load_numpy_scalar,
    "ndarray": _load_ndarray,
    "sparse": _load_sparse,
    "dataframe": _load_dataframe,
    "series": _load_series,
    "pickle": _load_pickle,
}
