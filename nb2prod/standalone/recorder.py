"""Runs inside the notebook's kernel: records calls, fixtures and artifacts.

nb2prod injects one-line cells that call a :class:`Session`; the user's own cells
are untouched. Recording must never break the notebook: a value that cannot be
stored becomes a warning in ``recording.json``, not an exception.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping, MutableMapping
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path
from typing import Any

from . import artifacts, casefile, contract, learned, valuetypes

#: The name of the session object in the notebook's namespace.
SESSION = "__nb2prod__"
#: Calls recorded per function unless the run says otherwise (the first ones).
MAX_CALLS = 5
#: Rows kept of a large input unless the run says otherwise.
MAX_ROWS = 100


class Session:
    """What one instrumented run records, written under ``folder``."""

    def __init__(
        self,
        folder: str,
        max_calls: int = MAX_CALLS,
        max_rows: int = MAX_ROWS,
        entrypoint: str | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.max_calls = max_calls
        self.max_rows = max_rows
        self.entrypoint = entrypoint
        self.signatures: dict[str, Signature] = {}
        self.contract: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.stored: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.warnings: list[str] = []
        self._replaying = False
        self.folder.mkdir(parents=True, exist_ok=True)

    def wrap(
        self, namespace: MutableMapping[str, Any], module: str, names: list[str]
    ) -> None:
        """Replace each function in ``namespace`` by a recording wrapper."""
        for name in names:
            function = namespace.get(name)
            if callable(function) and not hasattr(function, "__nb2prod_recorded__"):
                namespace[name] = self._recording(name, module, function)

    def _recording(
        self, name: str, module: str, function: Callable[..., Any]
    ) -> Callable[..., Any]:
        @functools.wraps(function)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if self._replaying:
                return function(*args, **kwargs)
            self.counts[name] = self.counts.get(name, 0) + 1
            attempt = self.attempts.get(name, 0) + 1
            if attempt > self.max_calls:
                result = function(*args, **kwargs)
                self._observe(name, function, args, kwargs, result)
                return result
            self.attempts[name] = attempt
            case = self.folder / "cases" / name / f"{attempt:03d}"
            inputs = self._store_inputs(name, case, args, kwargs)
            result = function(*args, **kwargs)
            self._observe(name, function, args, kwargs, result)
            if inputs is not None:
                self._finish_case(case, name, module, function, inputs, result)
            return result

        recorded.__nb2prod_recorded__ = True  # type: ignore[attr-defined]
        return recorded

    def _observe(
        self,
        name: str,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
    ) -> None:
        """Note the types of every call, and the data contract of the entrypoint."""
        try:
            signature = self.signatures.setdefault(name, Signature())
            signature.observe(args, kwargs, result)
            if name == self.entrypoint and args:
                self._observe_contract(function, args, kwargs, result)
        except Exception as exc:  # describing must never break the notebook
            self._warn(
                f"{name}: the types of a call could not be described ({_brief(exc)})"
            )

    def _observe_contract(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
    ) -> None:
        """Describe the whole input (every row), and on the first call of a frame,
        find the columns predict reads: ablation on the rows a case keeps."""
        data = args[0]
        described = {
            "input": contract.describe(data),
            "output": contract.describe(result),
        }
        if described["input"]["kind"] == "dataframe" and not self.contract:
            self._mark_read_columns(function, args, kwargs, described["input"])
        if not self.contract:
            self.contract = {
                **described,
                "example": contract.example(data),
                "example_output": contract.example(result),
            }
            return
        for side in ("input", "output"):
            self.contract[side] = contract.merge(self.contract[side], described[side])

    def _mark_read_columns(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        described: dict[str, Any],
    ) -> None:
        """Mark each column ``read`` or not: the ones not read (ids, labels) are optional."""

        def call(frame: Any) -> Any:
            return function(frame, *args[1:], **kwargs)

        self._replaying = True  # the ablation's calls are not recorded
        try:
            reads = contract.ablate(call, self._head(args[0]))
        finally:
            self._replaying = False
        for column, read in zip(described["columns"], reads or [], strict=False):
            column["read"] = read

    def _store_inputs(
        self, name: str, case: Path, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Store the arguments before the call (the function may mutate them)."""
        sliced_args, sliced_kwargs, sliced = self._slice(args, kwargs)
        try:
            return {
                "args": [
                    casefile.save(a, case, f"arg{i}") for i, a in enumerate(sliced_args)
                ],
                "kwargs": {
                    k: casefile.save(v, case, f"kw_{k}")
                    for k, v in sliced_kwargs.items()
                },
                "sliced": sliced,
                "call": (sliced_args, sliced_kwargs) if sliced else None,
            }
        except Exception as exc:  # an argument that cannot be stored: skip this call
            self._warn(
                f"{name}: a call's arguments could not be stored ({_brief(exc)})"
            )
            return None

    def _finish_case(
        self,
        case: Path,
        name: str,
        module: str,
        function: Callable[..., Any],
        inputs: dict[str, Any],
        result: Any,
    ) -> None:
        try:
            if inputs["sliced"]:
                # The expected output of the slice, computed by the notebook's own code.
                sliced_args, sliced_kwargs = inputs["call"]
                self._replaying = True
                try:
                    result = function(*sliced_args, **sliced_kwargs)
                finally:
                    self._replaying = False
            record = {
                "function": name,
                "module": module,
                "args": inputs["args"],
                "kwargs": inputs["kwargs"],
                "result": casefile.save(result, case, "result"),
                "sliced": inputs["sliced"],
            }
            case.mkdir(parents=True, exist_ok=True)
            text = json.dumps(record, indent=2) + "\n"
            (case / "case.json").write_text(text, "utf-8")
            self.stored[name] = self.stored.get(name, 0) + 1
            for message in casefile.warnings_of(record["result"]):
                self._warn(f"{name}: {message}")
        except Exception as exc:
            self._warn(f"{name}: a call's result could not be stored ({_brief(exc)})")

    def _slice(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any], bool]:
        cut = [self._head(a) for a in args]
        cut_kw = {k: self._head(v) for k, v in kwargs.items()}
        sliced = any(a is not b for a, b in zip(cut, args, strict=True)) or any(
            cut_kw[k] is not kwargs[k] for k in kwargs
        )
        return tuple(cut), cut_kw, sliced

    def _head(self, value: Any) -> Any:
        """The first ``max_rows`` rows of a large frame, array or list; else the value."""
        try:
            if len(value) <= self.max_rows or isinstance(value, str | bytes | dict):
                return value
        except TypeError:
            return value
        if hasattr(value, "iloc"):
            return value.iloc[: self.max_rows].copy()
        if isinstance(value, list | tuple):
            return type(value)(value[: self.max_rows])
        if hasattr(value, "shape") and hasattr(value, "__getitem__"):
            return value[: self.max_rows].copy()
        return value

    def fixtures(
        self, test: str, namespace: Mapping[str, Any], names: list[str]
    ) -> None:
        """Save the notebook data a test cell reads, as it is before the cell runs."""
        import joblib

        folder = self.folder / "fixtures" / test
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name not in namespace:
                self._warn(f"{test} reads {name!r}, which is not defined when it runs")
                continue
            try:
                joblib.dump(namespace[name], folder / f"{name}.joblib")
            except Exception as exc:
                self._warn(
                    f"{test}: {name!r} could not be saved ({type(exc).__name__}: {exc})"
                )

    def finish(
        self,
        namespace: Mapping[str, Any],
        artifact_names: list[str],
        package: str,
        shipped: Mapping[str, str],
        learned_names: list[str] | None = None,
    ) -> None:
        """Save the artifacts, the learned values and the summary of the run.

        ``shipped`` maps each function and class the package defines to its module,
        so that an artifact holding one (a ``FunctionTransformer(add_ratio)``)
        pickles it as ``package.module.add_ratio``, which the package can import.
        ``learned_names`` are values the package ships as the run computed them: a
        short plain one as its literal, any other saved like an artifact.
        """
        artifacts.alias_notebook_definitions(namespace, package, shipped)
        values: dict[str, dict[str, Any]] = {}
        for name in learned_names or []:
            if name not in namespace:
                raise NameError(
                    f"learned value {name!r} is not defined when the notebook ends"
                )
            text = learned.literal(namespace[name])
            values[name] = {"literal": text} if text is not None else {"artifact": True}
        stored = [name for name, entry in values.items() if "artifact" in entry]
        manifest = self._save_artifacts(namespace, [*artifact_names, *stored])
        summary = {
            "learned": values,
            "calls": self.counts,
            "stored": self.stored,
            "signatures": {k: v.as_json() for k, v in sorted(self.signatures.items())},
            "contract": self.contract,
            "warnings": self.warnings,
            "libraries": manifest["libraries"],
            "artifacts": {
                name: {key: entry[key] for key in ("file", "format", "trusted")}
                for name, entry in manifest["artifacts"].items()
            },
            "python": sys.version.split()[0],
        }
        text = json.dumps(summary, indent=2) + "\n"
        (self.folder / "recording.json").write_text(text, "utf-8")

    def _save_artifacts(
        self, namespace: Mapping[str, Any], names: list[str]
    ) -> dict[str, Any]:
        folder = self.folder / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        entries: dict[str, Any] = {}
        libraries: dict[str, str] = {}
        for name in names:
            if name not in namespace:
                raise NameError(
                    f"artifact {name!r} is not defined when the notebook ends"
                )
            value = namespace[name]
            entry = artifacts.save_skops(name, value, folder)
            if entry is None:
                entry = artifacts.save_joblib(name, value, folder)
                self._warn(
                    f"artifact {name!r}: skops cannot hold a "
                    f"{type(value).__qualname__}, so it is saved with joblib, a pickle "
                    "that runs any code it holds when loaded; load it only from a "
                    "package you trust"
                )
            libraries[entry["format"]] = version(entry["format"])
            entries[name] = {
                **entry,
                "type": f"{type(value).__module__}.{type(value).__qualname__}",
            }
            libraries.update(_libraries_of(value))
        manifest = {"artifacts": entries, "libraries": dict(sorted(libraries.items()))}
        text = json.dumps(manifest, indent=2) + "\n"
        (folder / "manifest.json").write_text(text, "utf-8")
        return manifest

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


class Signature:
    """The types each parameter and the result of one function had, over its calls."""

    def __init__(self) -> None:
        self.positional: list[set[str]] = []
        self.keywords: dict[str, set[str]] = {}
        self.returns: set[str] = set()

    def observe(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
    ) -> None:
        """Add one call."""
        while len(self.positional) < len(args):
            self.positional.append(set())
        for seen, value in zip(self.positional, args, strict=False):
            seen.add(valuetypes.describe(value))
        for key, value in kwargs.items():
            self.keywords.setdefault(key, set()).add(valuetypes.describe(value))
        self.returns.add(valuetypes.describe(result))

    def as_json(self) -> dict[str, Any]:
        """Each parameter's annotation (by position and by keyword) and the result's."""
        return {
            "positional": [valuetypes.merge(seen) for seen in self.positional],
            "keywords": {
                k: valuetypes.merge(v) for k, v in sorted(self.keywords.items())
            },
            "returns": valuetypes.merge(self.returns),
        }


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _libraries_of(value: Any) -> dict[str, str]:
    """Distributions (and versions) of the classes inside an artifact."""
    modules = {type(value).__module__.split(".")[0]}
    for step in getattr(value, "steps", []) or []:  # scikit-learn pipelines
        modules.add(type(step[-1]).__module__.split(".")[0])
    found: dict[str, str] = {}
    owners = packages_distributions()
    for module in modules:
        for distribution in owners.get(module, []):
            try:
                found[distribution] = version(distribution)
            except PackageNotFoundError:
                continue
    return found
