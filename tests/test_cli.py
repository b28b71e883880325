"""The nb2prod command end to end: convert --no-execute, check, diff, tags, and errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from notebooks import code, md, write

EXPORT = "nb2prod:export"
FEATURE = "nb2prod:feature"
PREDICT = "nb2prod:predict"


def small_notebook(
    path: Path, predict_body: str = "return [score(t) for t in texts]"
) -> Path:
    return write(
        path,
        code("CUTOFF = 2", "parameters"),
        code("texts = ['a b', 'c']"),
        md("## Scoring helpers"),
        code(
            "import os\n\ndef score(text):\n    return len(text.split()) >= CUTOFF",
            EXPORT,
        ),
        code(
            f"def predict(texts: list[str]) -> list[bool]:\n    {predict_body}", PREDICT
        ),
        code("assert predict(texts) == [True, False]", "nb2prod:test"),
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_convert_writes_the_package_and_is_idempotent(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    first = run_cli("convert", notebook, "--no-execute")
    assert first.exit_code == 0, first.stderr
    package = tmp_path / "scoring"
    assert "created src/scoring/common.py" in " ".join(first.stdout.split())
    before = snapshot(package)
    assert {
        "nb2prod.lock",
        "pyproject.toml",
        "README.md",
        "src/scoring/py.typed",
    } <= set(before)
    second = run_cli("convert", notebook, "--no-execute")
    assert second.exit_code == 0
    assert "11 unchanged" in second.stdout or "unchanged" in second.stdout
    assert "created" not in second.stdout and "updated" not in second.stdout
    assert snapshot(package) == before


def test_unused_import_is_left_out(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    common = (tmp_path / "scoring/src/scoring/common.py").read_text()
    assert "import os" not in common
    assert "from .config import CUTOFF" in common


def test_lock_records_notebook_and_file_hashes(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    lock = json.loads((tmp_path / "scoring/nb2prod.lock").read_text())
    assert lock["notebook"] == "../scoring.ipynb"
    assert len(lock["notebook_hash"]) == 64
    assert "src/scoring/predict.py" in lock["files"]


def test_check_passes_then_fails_with_a_diff_when_a_tagged_cell_changes(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    assert run_cli("check", notebook).exit_code == 0
    small_notebook(notebook, predict_body="return [not score(t) for t in texts]")
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert "--- a/src/scoring/predict.py" in result.stdout
    assert "+    return [not score(t) for t in texts]" in result.stdout
    assert f"Fix with: nb2prod convert {notebook}" in result.stdout


def test_check_ignores_outputs_and_execution_counts(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    data = json.loads(notebook.read_text())
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": "hi\n"}
            ]
    notebook.write_text(json.dumps(data))
    assert run_cli("check", notebook).exit_code == 0


def test_check_skips_notebooks_without_tags(tmp_path: Path) -> None:
    plain = write(tmp_path / "eda.ipynb", code("x = 1"))
    result = run_cli("check", plain)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_edited_file_is_refused_then_forced(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    edited = tmp_path / "scoring/src/scoring/common.py"
    edited.write_text(edited.read_text() + "# my fix\n")
    mine = tmp_path / "scoring/src/scoring/extra.py"
    mine.write_text("VALUE = 1\n")
    small_notebook(notebook, predict_body="return [not score(t) for t in texts]")
    check = run_cli("check", notebook)
    assert check.exit_code == 1 and "-# my fix" in check.stdout
    refused = run_cli("convert", notebook, "--no-execute")
    assert refused.exit_code == 1
    assert "refusing to overwrite 1 file(s)" in refused.stderr
    assert "src/scoring/common.py" in refused.stderr
    assert "--force" in refused.stderr
    assert "# my fix" in edited.read_text()
    assert "not score" not in (tmp_path / "scoring/src/scoring/predict.py").read_text()
    forced = run_cli("convert", notebook, "--no-execute", "--force")
    assert forced.exit_code == 0
    assert "# my fix" not in edited.read_text()
    assert mine.read_text() == "VALUE = 1\n"


def test_diff_writes_nothing(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    result = run_cli("diff", notebook)
    assert result.exit_code == 1
    assert "+++ b/src/scoring/predict.py" in result.stdout
    assert not (tmp_path / "scoring").exists()
    run_cli("convert", notebook, "--no-execute")
    again = run_cli("diff", notebook)
    assert again.exit_code == 0 and "no changes" in again.stdout


def test_out_and_name_options(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "01 Churn v2.ipynb")
    assert (
        run_cli(
            "convert", notebook, "--no-execute", "--out", tmp_path / "build"
        ).exit_code
        == 0
    )
    assert (tmp_path / "build/churn_v2/src/churn_v2/predict.py").is_file()
    assert (
        run_cli("convert", notebook, "--no-execute", "--name", "scorer").exit_code == 0
    )
    assert (tmp_path / "scorer/src/scorer/__init__.py").is_file()


def test_tags_lists_the_vocabulary() -> None:
    result = run_cli("tags")
    assert result.exit_code == 0
    for tag in (
        EXPORT,
        FEATURE,
        PREDICT,
        "nb2prod:artifact",
        "nb2prod:test",
        "nb2prod:skip",
        "parameters",
    ):
        assert tag in result.stdout


def test_tags_shows_each_tagged_cell(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    result = run_cli("tags", notebook)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "nb2prod:predict" in text and "predict" in text
    assert "score" in text and "c4" in text


# ---- errors: one clear message with its location, exit 1, nothing written ----


def convert_error(tmp_path: Path, notebook: Path, code_: int = 1) -> str:
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")
    assert result.exit_code == code_, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()
    return result.stderr


def test_invalid_json(tmp_path: Path) -> None:
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text('{"cells": [')
    message = convert_error(tmp_path, notebook)
    assert message.startswith("error: broken.ipynb: is not valid JSON:")


def test_not_a_notebook(tmp_path: Path) -> None:
    notebook = tmp_path / "data.ipynb"
    notebook.write_text('{"rows": [1, 2]}')
    assert "is JSON but not a Jupyter notebook" in convert_error(tmp_path, notebook)


def test_r_kernel(tmp_path: Path) -> None:
    notebook = write(tmp_path / "r.ipynb", code("x <- 1", EXPORT), language="R")
    assert "is a R notebook" in convert_error(tmp_path, notebook)


def test_empty_notebook(tmp_path: Path) -> None:
    notebook = write(tmp_path / "empty.ipynb")
    assert "error: empty.ipynb: the notebook has no cells" in convert_error(
        tmp_path, notebook
    )


def test_no_tagged_cell_says_how_to_tag(tmp_path: Path) -> None:
    notebook = write(tmp_path / "plain.ipynb", code("x = 1"))
    message = convert_error(tmp_path, notebook)
    assert "plain.ipynb: no cell has an nb2prod tag" in message
    assert "# nb2prod: export" in message


def test_unknown_tag_suggests_the_right_one(tmp_path: Path) -> None:
    notebook = write(tmp_path / "typo.ipynb", code("x = 1", "nb2prod:featur"))
    message = convert_error(tmp_path, notebook)
    assert "typo.ipynb: cell 1 [id c1]: error: unknown tag 'nb2prod:featur'" in message
    assert "did you mean 'nb2prod:feature'?" in message


def test_undefined_name_is_located_with_a_hint(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("import pandas as pd\nraw = pd.DataFrame({'a': [1]})"),
        code("def total(frame):\n    return frame.sum() + raw.sum()", FEATURE),
    )
    message = convert_error(tmp_path, notebook)
    assert message == textwrap.dedent("""\
        nb.ipynb: cell 2 [id c2], line 2, col 26: error: name 'raw' is not defined by any shipped cell
                return frame.sum() + raw.sum()
                                     ^^^
          hint: cell 1 [id c1] assigns it: tag that cell nb2prod:export to ship its code, or nb2prod:artifact if 'raw' is a trained object
        1 error
        """)


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return alpha", FEATURE),
        code("def g():\n    return beta\n\ndef h(:\n", EXPORT),
        code("!pip install thing\nx = 1", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "cell 1 [id c1], line 2, col 12: error: name 'alpha' is not defined" in message
    )
    assert (
        "cell 2 [id c2], line 4, col 7: error: syntax error: invalid syntax" in message
    )
    assert "cell 3 [id c3], line 1, col 1: error: shell command cannot ship" in message
    assert message.rstrip().endswith("3 errors")


def test_magic_and_get_ipython_rules(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("%%time\ndef f():\n    return 1", FEATURE),
        code("def g():\n    return get_ipython()", EXPORT),
        code("%%bash\necho hi", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert "cell 1" not in message
    assert (
        "cell 2 [id c2], line 2, col 12: error: get_ipython() exists only inside IPython"
        in message
    )
    assert "cell 3 [id c3], line 1, col 1: error: cell magic %%bash" in message


def test_predict_must_define_exactly_one_public_function(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def predict(x):\n    return x\n\ndef explain(x):\n    return x", PREDICT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "exactly one public function; found 'predict' (cell 1), 'explain' (cell 1)"
        in message
    )


def test_star_and_relative_imports_cannot_ship(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "from math import *\nfrom .helpers import tool\n\ndef f():\n    return pi",
            EXPORT,
        ),
    )
    message = convert_error(tmp_path, notebook)
    assert "line 1, col 1: error: 'from math import *' hides which names" in message
    assert "line 2, col 1: error: a relative import cannot ship" in message


def test_shadowed_definition_warns(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return 1", FEATURE),
        code("def f():\n    return 2", FEATURE),
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0
    assert (
        "cell 2 [id c2], line 1: warning: 'f' is defined again here; the definition in cell 1"
        in result.stderr
    )
    features = (tmp_path / "nb/src/nb/features.py").read_text()
    assert "return 2" in features and "return 1" not in features


@pytest.mark.parametrize(("stem", "option"), [("json", ()), ("nb", ("--name", "json"))])
def test_package_name_may_not_shadow_a_module(
    tmp_path: Path, stem: str, option: tuple[str, ...]
) -> None:
    notebook = write(
        tmp_path / f"{stem}.ipynb", code("def f():\n    return 1", FEATURE)
    )
    result = run_cli("convert", notebook, "--no-execute", *option)
    assert result.exit_code == (2 if option else 1)
    assert "would shadow the module of the standard library" in result.stderr
    assert "--name" in result.stderr


def test_harmless_cell_magic_is_dropped_with_a_warning(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb", code("%%time\ndef f():\n    return 1", FEATURE)
    )
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0
    assert (
        "nb.ipynb: cell 1 [id c1], line 1, col 1: warning: cell magic %%time"
        in result.stderr
    )
    assert "%%time" not in (tmp_path / "nb/src/nb/features.py").read_text()


def test_real_process_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nb2prod",
            "convert",
            str(tmp_path / "nope.ipynb"),
            "--no-execute",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == "error: nope.ipynb: no such file\n"


def test_version() -> None:
    assert run_cli("--version").stdout.startswith("nb2prod 0.")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    notebook = tmp_path / "missing.ipynb"
    with pytest.raises(Exception, match="no such file"):
        run_cli("--debug", "convert", notebook, "--no-execute")


def test_a_name_defined_only_in_a_later_cell_is_an_error(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def total(values):\n    return helper(values)", EXPORT),
        code("def helper(values):\n    return sum(values)", EXPORT),
    )
    message = convert_error(tmp_path, notebook)
    assert (
        "nb.ipynb: cell 1 [id c1], line 2, col 12: error: 'helper' is defined only later, "
        "in cell 2 [id c2]: run top to bottom, the notebook fails here"
    ) in message
    assert "hint: move cell 2 [id c2] above cell 1" in message


def test_cells_last_run_out_of_order_give_a_warning(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("def f():\n    return 1", FEATURE),
        code("def g():\n    return f()", FEATURE),
    )
    data = json.loads(notebook.read_text())
    data["cells"][0]["execution_count"] = 9
    data["cells"][1]["execution_count"] = 4
    notebook.write_text(json.dumps(data))
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0
    assert (
        "nb.ipynb: cell 2 [id c2]: warning: cell 2 last ran before cell 1 above it "
        "(execution counts 4 and 9)"
    ) in result.stderr


def test_requires_python_is_recorded_once_so_check_agrees_across_machines(
    tmp_path: Path,
) -> None:
    notebook = small_notebook(tmp_path / "scoring.ipynb")
    run_cli("convert", notebook, "--no-execute")
    lock_path = tmp_path / "scoring/nb2prod.lock"
    lock = json.loads(lock_path.read_text())
    assert lock["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    lock["python"] = "3.10"  # as if a colleague on Python 3.10 converted it first
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    assert run_cli("convert", notebook, "--no-execute", "--force").exit_code == 0
    assert (
        'requires-python = ">=3.10"'
        in (tmp_path / "scoring/pyproject.toml").read_text()
    )
    assert run_cli("check", notebook).exit_code == 0
