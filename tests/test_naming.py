"""Package names from notebook file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from nb2prod.errors import Nb2ProdError, UsageError
from nb2prod.plan.dependencies import refuse_shadowing
from nb2prod.plan.naming import distribution_name, package_name, sanitise


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("01 Churn v2", "churn_v2"),
        ("analysis", "analysis"),
        ("My-Model (final)", "my_model_final"),
        ("2024_03_sales", "sales"),
        ("class", "class_pkg"),
        ("___", ""),
    ],
)
def test_sanitise(stem: str, expected: str) -> None:
    assert sanitise(stem) == expected


def test_distribution_name() -> None:
    assert distribution_name("churn_v2") == "churn-v2"


def test_requested_name_must_be_an_identifier() -> None:
    with pytest.raises(UsageError, match="not a valid Python package name"):
        package_name(Path("x.ipynb"), "my-model")


def test_name_that_cannot_be_derived_asks_for_name() -> None:
    with pytest.raises(UsageError, match="pass --name"):
        package_name(Path("2024.ipynb"))


@pytest.mark.parametrize("stem", ["json", "numpy", "typing"])
def test_shadowing_names_are_refused(stem: str) -> None:
    with pytest.raises(Nb2ProdError, match="would shadow"):
        refuse_shadowing(
            package_name(Path(f"{stem}.ipynb")), Path(f"{stem}.ipynb"), False
        )
