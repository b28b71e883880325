"""Save the artifacts a run ends with: skops where it can hold them, else joblib.

Both are written byte-for-byte the same for the same object, so converting twice
gives identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import types
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: How a pickle names the notebook's own namespace (a class or function defined there).
_MAIN = b"\x8c\x08__main__"


def alias_notebook_definitions(
    namespace: Mapping[str, Any], package: str, shipped: Mapping[str, str]
) -> None:
    """Make the notebook's shipped functions and classes pickle under the package."""
    for name, module in shipped.items():
        value = namespace.get(name)
        if getattr(value, "__module__", None) != "__main__":
            continue
        target = f"{package}.{module}"
        for dotted in (package, target):
            sys.modules.setdefault(dotted, types.ModuleType(dotted))
        setattr(sys.modules[target], name, value)
        for obj in (value, getattr(value, "__wrapped__", None)):
            if obj is not None:
                obj.__module__ = target


def save_skops(name: str, value: Any, folder: Path) -> dict[str, Any] | None:
    """Save ``value`` with skops and note the types it holds; None when skops cannot.

    skops is no pickle: loading builds only the types it is told to trust, which the
    package lists in its code (the ones recorded here), so a swapped file holding any
    other type is refused.
    """
    try:
        import skops.io
    except ImportError:
        return None
    path = folder / f"{name}.skops"
    try:
        skops.io.dump(value, path)
        path.write_bytes(_canonical_zip(path.read_bytes()))
        trusted = sorted(skops.io.get_untrusted_types(file=path))
    except Exception:
        path.unlink(missing_ok=True)
        return None
    if any(kind.startswith("__main__.") for kind in trusted):
        path.unlink()
        raise _defined_in_notebook(name)
    try:
        skops.io.load(path, trusted=trusted)
    except Exception:  # saved, but it does not load back: joblib it is
        path.unlink()
        return None
    return {"file": path.name, "format": "skops", "trusted": trusted, **_digest(path)}


def save_joblib(name: str, value: Any, folder: Path) -> dict[str, Any]:
    import joblib

    path = folder / f"{name}.joblib"
    joblib.dump(value, path)
    if _MAIN in path.read_bytes():
        raise _defined_in_notebook(name)
    return {"file": path.name, "format": "joblib", "trusted": [], **_digest(path)}


def _defined_in_notebook(name: str) -> TypeError:
    return TypeError(
        f"artifact {name!r} holds an object defined in the notebook itself "
        "that the package does not ship; tag the cell that defines it "
        "nb2prod:export"
    )


def _digest(path: Path) -> dict[str, str]:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _canonical_zip(data: bytes) -> bytes:
    """The same skops file with stable contents: no time stamps, no memory addresses.

    skops names objects and their array files by ``id()`` and stamps each zip entry
    with the time; numbering them in the order the schema lists them makes saving
    the same object twice give the same bytes.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    numbers: dict[str, int] = {}
    schema = _renumber(json.loads(source.read("schema.json")), numbers)
    names = {"schema.json": "schema.json"}
    for info in source.infolist():
        stem, dot, suffix = info.filename.partition(".")
        if info.filename != "schema.json":
            names[info.filename] = (
                f"{numbers.setdefault(stem, len(numbers) + 1)}{dot}{suffix}"
            )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for old, new in sorted(names.items(), key=lambda item: item[1]):
            content = (
                json.dumps(schema, indent=2).encode()
                if old == "schema.json"
                else source.read(old)
            )
            info = zipfile.ZipInfo(new, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def _renumber(node: Any, numbers: dict[str, int]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, numbers) for item in node]
    if not isinstance(node, dict):
        return node
    renamed = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            value = numbers.setdefault(str(value), len(numbers) + 1)
        elif key == "file" and isinstance(value, str):
            stem, dot, suffix = value.partition(".")
            value = f"{numbers.setdefault(stem, len(numbers) + 1)}{dot}{suffix}"
        else:
            value = _renumber(value, numbers)
        renamed[key] = value
    return renamed
