"""Rendering helpers: import blocks and config types."""

from __future__ import annotations

from nb2prod.analysis.cells import ImportBinding
from nb2prod.plan.dependencies import resolve
from nb2prod.render.package import _literal_type, import_lines


def binding(
    name: str, module: str | None, imported: str, alias: str | None = None
) -> ImportBinding:
    return ImportBinding(name, module, imported, alias, 0, 1)


def test_imports_are_grouped_and_sorted_like_isort() -> None:
    lines = import_lines(
        [
            binding("pd", None, "pandas", "pd"),
            binding("Path", "pathlib", "Path"),
            binding("annotations", "__future__", "annotations"),
            binding("os", None, "os"),
            binding("np", None, "numpy", "np"),
            binding("train_test_split", "sklearn.model_selection", "train_test_split"),
            binding("MAX", "sklearn.model_selection", "MAX"),
            binding("KFold", "sklearn.model_selection", "KFold"),
        ]
    )
    assert lines == [
        ["from __future__ import annotations"],
        ["import os", "from pathlib import Path"],
        [
            "import numpy as np",
            "import pandas as pd",
            "from sklearn.model_selection import MAX, KFold, train_test_split",
        ],
    ]


def test_literal_types() -> None:
    assert _literal_type("0.5") == "float"
    assert _literal_type("3") == "int"
    assert _literal_type("'x'") == "str"
    assert _literal_type("True") == "bool"
    assert _literal_type("None") == "None"
    assert _literal_type("[1, 2]") == "list[int]"
    assert _literal_type("[1, 'a']") == "list[int | str]"
    assert _literal_type("{'a': 1.0}") == "dict[str, float]"
    assert _literal_type("(1, 'a')") == "tuple[int, str]"


def test_dependencies_from_imports() -> None:
    found, unknown = resolve(
        ["sklearn", "numpy", "os", "__future__", "no_such_mod"], {}, "pkg"
    )
    names = [d.distribution for d in found]
    assert names == ["numpy", "scikit-learn"]
    assert unknown == ["no_such_mod"]
    assert all(d.version for d in found)


def test_locked_versions_win() -> None:
    found, _ = resolve(["numpy"], {"numpy": "1.0.0"}, "pkg")
    assert found[0].requirement == "numpy>=1.0.0"
