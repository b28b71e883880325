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
_SERIES_COLUMN = "value"

# scipy.sparse.save_npz writes only these formats; the others are stored as CSR.
_NPZ_FORMATS = ("csr", "csc", "bsr", "dia", "coo")


def save(value: object, folder: Path, stem: str) -> dict[str, Any]:
    """Store ``value``; return a JSON-serialisable descriptor of how it was stored.

    Files are named ``<stem>.<ext>`` (``<stem>_<n>.<ext>`` for nested values) in
    ``folder``, which is created when a file is needed. The descriptor names files
    relative to ``folder``. Values that pickle cannot store raise pickle's error.
    """
    if _is_json_native(value):
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
    return _SAVERS.get(package, _save_pickle)(value, folder, stem)


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


def _is_json_native(value: object) -> bool:
    # Exact types: subclasses such as numpy.float64 or IntEnum would load back as
    # their base type.
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_json_native(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json_native(v) for k, v in value.items())
    return False


def _new_file(folder: Path, stem: str, extension: str) -> Path:
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


def _save_pickle(value: object, folder: Path, stem: str) -> Descriptor:
    # Pickled before the file exists, so an unpicklable value leaves no file behind.
    data = pickle.dumps(value, protocol=5)
    path = _new_file(folder, stem, "pkl")
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
        path = _new_file(folder, stem, "npy")
        np.save(path, value, allow_pickle=False)
        return {
            "kind": "ndarray",
            "file": path.name,
            "dtype": str(value.dtype),
            "shape": list(value.shape),
        }
    return _save_pickle(value, folder, stem)


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
        return _save_pickle(value, folder, stem)
    path = _new_file(folder, stem, "npz")
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


def _save_pandas(value: Any, folder: Path, stem: str) -> Descriptor:
    import pandas as pd

    if type(value) is pd.DataFrame:
        return _save_table(value, value, {"kind": "dataframe"}, folder, stem)
    if type(value) is pd.Series and _is_json_native(value.name):
        column = _SERIES_COLUMN if value.name is None else str(value.name)
        header = {"kind": "series", "name": value.name}
        return _save_table(value, value.to_frame(column), header, folder, stem)
    return _save_pickle(value, folder, stem)


def _save_table(
    value: Any, frame: Any, header: Descriptor, folder: Path, stem: str
) -> Descriptor:
    """CSV plus schema for ``frame`` if that loads back exactly as ``value``."""
    path = _new_file(folder, stem, "csv")
    descriptor = {**header, "file": path.name}
    try:
        descriptor |= _table_schema(frame)
        frame.to_csv(path)
        exact = _same_pandas(value, load(descriptor, folder))
    # Whatever keeps the CSV from holding the value (labels, dtypes, objects),
    # pickle still can.
    except Exception:
        exact = False
    if exact:
        return descriptor
    path.unlink(missing_ok=True)
    return _save_pickle(value, folder, stem)


def _table_schema(frame: Any) -> Descriptor:
    columns, index = frame.columns, frame.index
    if columns.nlevels != 1 or not _is_label(columns.name):
        raise ValueError("column labels need one level and a plain name")
    return {
        "columns": [
            _field(label, frame.iloc[:, i]) for i, label in enumerate(columns.tolist())
        ],
        "columns_dtype": str(columns.dtype),
        "columns_name": columns.name,
        "columns_range": _range_of(columns),
        "index": [
            _field(name, index.get_level_values(i))
            for i, name in enumerate(index.names)
        ],
        "index_range": _range_of(index),
    }


def _is_label(label: object) -> bool:
    return label is None or type(label) in (str, int)


def _range_of(labels: Any) -> list[int] | None:
    import pandas as pd

    if type(labels) is not pd.RangeIndex:
        return None
    return [labels.start, labels.stop, labels.step]


def _field(name: object, values: Any) -> Descriptor:
    """Name and dtype of one CSV column, whether a column label or an index level."""
    import pandas as pd

    if not _is_label(name):
        raise ValueError(f"label {name!r} is not a string or integer")
    field = {
        "name": name,
        "dtype": str(values.dtype),
        # A blank CSV cell is either missing or an empty string, never both.
        "blank_is_missing": not bool(values.isin([""]).any()),
    }
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.dtype.categories
        if not _is_json_native(categories.tolist()):
            raise ValueError("categories are not JSON values")
        field["categories"] = categories.tolist()
        field["categories_dtype"] = str(categories.dtype)
        field["ordered"] = bool(values.dtype.ordered)
    return field


def _load_dataframe(descriptor: Mapping[str, Any], folder: Path) -> object:
    import pandas as pd

    values = _read_fields(descriptor, folder)
    levels = len(descriptor["index"])
    frame = pd.DataFrame(dict(enumerate(values[levels:])), index=values[0].index)
    index = _index_from(descriptor, values[:levels])
    return frame.set_axis(index, axis=0).set_axis(_columns_from(descriptor), axis=1)


def _read_fields(descriptor: Mapping[str, Any], folder: Path) -> list[Any]:
    """Each CSV column (index levels first) as a Series of its recorded dtype."""
    import pandas as pd

    fields = [*descriptor["index"], *descriptor["columns"]]
    # Read by position under made-up names: the header's labels may repeat or be blank.
    keys = [f"field_{i}" for i in range(len(fields))]
    text = pd.read_csv(
        folder / descriptor["file"],
        header=0,
        names=keys,
        dtype={key: _csv_dtype(field) for key, field in zip(keys, fields, strict=True)},
        # Only blank cells may be missing, so text such as "NA" or "None" stays text.
        keep_default_na=False,
        na_values={
            key: [""] if field["blank_is_missing"] else []
            for key, field in zip(keys, fields, strict=True)
        },
        **_float_options(pd.__version__),
    )
    return [
        _from_text(text[key], field) for key, field in zip(keys, fields, strict=True)
    ]


def _load_series(descriptor: Mapping[str, Any], folder: Path) -> object:
    frame: Any = _load_dataframe(descriptor, folder)
    series = frame.iloc[:, 0]
    series.name = descriptor["name"]
    return series


def _float_options(pandas_version: str) -> dict[str, str]:
    # Before 3.1 pandas parsed floats exactly only when asked to; 3.1 always does
    # and deprecates the option.
    major, minor = (int(part) for part in pandas_version.split(".")[:2])
    return {} if (major, minor) >= (3, 1) else {"float_precision": "round_trip"}


def _csv_dtype(field: Mapping[str, Any]) -> Any:
    import pandas as pd

    dtype = pd.api.types.pandas_dtype(field["dtype"])
    # read_csv parses numbers and booleans itself; the rest is converted from text.
    return dtype if dtype.kind in "biuf" else object


def _from_text(column: Any, field: Mapping[str, Any]) -> Any:
    import pandas as pd

    dtype = pd.api.types.pandas_dtype(field["dtype"])
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_from_text(column, field)
    if dtype.kind == "M":
        has_zone = getattr(dtype, "tz", None) is not None
        return pd.to_datetime(column, format="ISO8601", utc=has_zone).astype(dtype)
    if dtype.kind == "m":
        return pd.to_timedelta(column).astype(dtype)
    return column.astype(dtype)


def _categorical_from_text(column: Any, field: Mapping[str, Any]) -> Any:
    import pandas as pd

    categories = pd.Index(field["categories"], dtype=field["categories_dtype"])
    dtype = pd.CategoricalDtype(categories, ordered=field["ordered"])
    # to_csv writes each category as str() of its value.
    codes = pd.Index([str(category) for category in categories]).get_indexer(column)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=column.index)


def _index_from(descriptor: Mapping[str, Any], levels: list[Any]) -> Any:
    import pandas as pd

    names = [field["name"] for field in descriptor["index"]]
    if descriptor["index_range"] is not None:
        return pd.RangeIndex(*descriptor["index_range"], name=names[0])
    if len(levels) == 1:
        return pd.Index(levels[0].array, name=names[0])
    return pd.MultiIndex.from_arrays(levels, names=names)


def _columns_from(descriptor: Mapping[str, Any]) -> Any:
    import pandas as pd

    name = descriptor["columns_name"]
    if descriptor["columns_range"] is not None:
        return pd.RangeIndex(*descriptor["columns_range"], name=name)
    labels = [field["name"] for field in descriptor["columns"]]
    return pd.Index(labels, dtype=descriptor["columns_dtype"], name=name)


def _same_pandas(original: Any, loaded: Any) -> bool:
    """Equal values, dtypes, labels and label dtypes."""
    import pandas as pd

    if type(loaded) is not type(original) or not original.equals(loaded):
        return False
    if not _same_labels(original.index, loaded.index):
        return False
    if isinstance(original, pd.Series):
        return bool(original.dtype == loaded.dtype and original.name == loaded.name)
    same_dtypes = list(original.dtypes) == list(loaded.dtypes)
    return same_dtypes and _same_labels(original.columns, loaded.columns)


def _same_labels(original: Any, loaded: Any) -> bool:
    return (
        type(loaded) is type(original)
        and bool(original.equals(loaded))
        and list(original.names) == list(loaded.names)
        and _level_dtypes(original) == _level_dtypes(loaded)
    )


def _level_dtypes(labels: Any) -> list[Any]:
    return [labels.get_level_values(i).dtype for i in range(labels.nlevels)]


def _load_pickle(descriptor: Mapping[str, Any], folder: Path) -> object:
    return pickle.loads((folder / descriptor["file"]).read_bytes())


def _load_dict(descriptor: Mapping[str, Any], folder: Path) -> object:
    return {load(key, folder): load(item, folder) for key, item in descriptor["items"]}


def _load_items(descriptor: Mapping[str, Any], folder: Path) -> list[object]:
    return [load(item, folder) for item in descriptor["items"]]


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
