"""What rendering is given: the plan and every decision taken about the package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nb2prod.plan.artifacts import SavedArtifact
from nb2prod.plan.dependencies import Dependency
from nb2prod.plan.planner import PackagePlan
from nb2prod.plan.serving import ServingPlan, SparkPlan
from nb2prod.standalone.compare import Tolerance


@dataclass(frozen=True)
class RenderInput:
    """The plan and the decisions rendering follows; templates decide nothing."""

    #: The plan.
    plan: PackagePlan
    #: Run-time dependencies.
    dependencies: tuple[Dependency, ...]
    #: Dependencies only the tests need (pytest included).
    test_dependencies: tuple[Dependency, ...]
    #: How to write the notebook in commands (relative to the package folder's parent).
    notebook_ref: str
    #: SHA-256 of the notebook's tagged cells (untagged ones do not count).
    notebook_hash: str
    #: Per function, the annotations its recorded calls showed.
    signatures: Mapping[str, Any]
    #: The serving schema; None when the package is not served.
    serving: ServingPlan | None
    #: What spark.py needs; None when the package has no spark.py nor spark extra.
    spark: SparkPlan | None
    #: The tolerance the golden and serving tests compare with.
    tolerance: Tolerance
    #: The oldest Python the package supports (``3.11``).
    python: str
    #: How each artifact is stored and loaded.
    artifacts: Mapping[str, SavedArtifact]
    #: Each learned value's literal, or None when it is read from the artifacts.
    learned: Mapping[str, str | None]
    #: The options that made the package (``--out .``, ``--name NAME``), for the
    #: regenerate commands, which run from the folder that holds the package.
    regenerate: tuple[str, ...] = ()
