"""The kernel-side recorder, exercised in-process (no kernel needed)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest

from nb2prod.standalone import casefile
from nb2prod.standalone.recorder import Session


def double_all(frame: pd.DataFrame) -> pd.DataFrame:
    return frame * 2


def case(folder: Path, name: str, number: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (folder / "cases" / name / f"{number:03d}" / "case.json").read_text()
    )
    return data


def test_calls_are_recorded_up_to_the_limit(tmp_path: Path) -> None:
    session = Session(str(tmp_path), max_calls=2)
    namespace: dict[str, Any] = {"add": lambda a, b=1: a + b}
    session.wrap(namespace, "features", ["add"])
    assert [namespace["add"](i, b=10) for i in range(4)] == [10, 11, 12, 13]
    assert session.counts == {"add": 4} and session.stored == {"add": 2}
    first = case(tmp_path, "add", 1)
    assert first["function"] == "add" and first["module"] == "features"
    assert first["args"] == [{"kind": "json", "value": 0}]
    assert first["kwargs"] == {"b": {"kind": "json", "value": 10}}
    assert first["result"] == {"kind": "json", "value": 10}
    assert not (tmp_path / "cases/add/003").exists()


def test_wrapping_twice_does_not_record_twice(tmp_path: Path) -> None:
    session = Session(str(tmp_path))
    namespace: dict[str, Any] = {"f": lambda: 1}
    session.wrap(namespace, "features", ["f"])
    session.wrap(namespace, "features", ["f"])
    namespace["f"]()
    assert session.counts == {"f": 1}


def test_inputs_are_stored_before_the_call_mutates_them(tmp_path: Path) -> None:
    def append(values: list[int]) -> int:
        values.append(99)
        return len(values)

    session = Session(str(tmp_path))
    namespace: dict[str, Any] = {"append": append}
    session.wrap(namespace, "features", ["append"])
    namespace["append"]([1, 2])
    assert case(tmp_path, "append", 1)["args"] == [{"kind": "json", "value": [1, 2]}]


def test_large_inputs_are_cut_and_their_output_recomputed(tmp_path: Path) -> None:
    session = Session(str(tmp_path), max_rows=10)
    namespace: dict[str, Any] = {"double_all": double_all}
    session.wrap(namespace, "features", ["double_all"])
    frame = pd.DataFrame({"x": range(250)})
    assert len(namespace["double_all"](frame)) == 250
    recorded = case(tmp_path, "double_all", 1)
    assert recorded["sliced"] is True
    folder = tmp_path / "cases/double_all/001"
    argument = casefile.load(recorded["args"][0], folder)
    result = casefile.load(recorded["result"], folder)
    assert isinstance(argument, pd.DataFrame) and isinstance(result, pd.DataFrame)
    assert len(argument) == 10
    pd.testing.assert_frame_equal(result, frame.iloc[:10] * 2)


def test_an_unstorable_argument_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    session = Session(str(tmp_path))
    namespace: dict[str, Any] = {"total": sum}
    session.wrap(namespace, "features", ["total"])
    assert namespace["total"](x for x in range(3)) == 3
    assert session.stored == {}
    assert any("could not be stored" in w for w in session.warnings)


def test_fixtures_are_saved_with_joblib(tmp_path: Path) -> None:
    session = Session(str(tmp_path))
    session.fixtures("test_cell_3", {"rows": [1, 2]}, ["rows", "missing"])
    assert joblib.load(tmp_path / "fixtures/test_cell_3/rows.joblib") == [1, 2]
    assert any("'missing'" in w for w in session.warnings)


class Scaler:
    """Stands for a class defined in the notebook and shipped by the package."""

    def __init__(self, factor: float) -> None:
        self.factor = factor


def test_finish_saves_artifacts_with_hashes_and_aliases_notebook_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Scaler, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "Scaler", Scaler, raising=False)
    monkeypatch.delitem(sys.modules, "pkg", raising=False)
    monkeypatch.delitem(sys.modules, "pkg.common", raising=False)
    session = Session(str(tmp_path))
    namespace = {"Scaler": Scaler, "model": Scaler(2.0)}
    session.finish(namespace, ["model"], "pkg", {"Scaler": "common"})
    manifest = json.loads((tmp_path / "artifacts/manifest.json").read_text())
    entry = manifest["artifacts"]["model"]
    assert entry["type"] == "pkg.common.Scaler"
    saved = (tmp_path / "artifacts" / entry["file"]).read_bytes()
    assert entry["sha256"] == hashlib.sha256(saved).hexdigest()
    assert entry["format"] == "skops"
    assert entry["trusted"] == ["pkg.common.Scaler"]
    assert b"__main__" not in (tmp_path / "artifacts/model.skops").read_bytes()
    summary = json.loads((tmp_path / "recording.json").read_text())
    assert summary["libraries"]["skops"]


def test_an_artifact_holding_an_unshipped_notebook_class_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Scaler, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "Scaler", Scaler, raising=False)
    session = Session(str(tmp_path))
    with pytest.raises(TypeError, match="tag the cell that defines it nb2prod:export"):
        session.finish({"model": Scaler(1.0)}, ["model"], "pkg", {})
