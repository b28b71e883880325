"""Store pandas DataFrames and Series as CSV plus a schema, and load them back exactly.

Imported by :mod:`casefile` only for pandas values, so pandas stays optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .casefile import (
    SERIES_COLUMN,
    Descriptor,
    is_json_native,
    load,
    new_file,
    save_pickle,
)


def save_pandas(value: Any, folder: Path, stem: str) -> Descriptor:
    import pandas as pd

    if type(value) is pd.DataFrame:
        return _save_table(value, value, {"kind": "dataframe"}, folder, stem)
    if type(value) is pd.Series and is_json_native(value.name):
        column = SERIES_COLUMN if value.name is None else str(value.name)
        header = {"kind": "series", "name": value.name}
        return _save_table(value, value.to_frame(column), header, folder, stem)
    return save_pickle(value, folder, stem)


def _save_table(
    value: Any, frame: Any, header: Descriptor, folder: Path, stem: str
) -> Descriptor:
    """CSV plus schema for ``frame`` if that loads back exactly as ``value``."""
    path = new_file(folder, stem, "csv")
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
    return save_pickle(value, folder, stem)


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
        if not is_json_native(categories.tolist()):
            raise ValueError("categories are not JSON values")
        field["categories"] = categories.tolist()
        field["categories_dtype"] = str(categories.dtype)
        field["ordered"] = bool(values.dtype.ordered)
    return field


def load_dataframe(descriptor: Mapping[str, Any], folder: Path) -> object:
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


def load_series(descriptor: Mapping[str, Any], folder: Path) -> object:
    frame: Any = load_dataframe(descriptor, folder)
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
