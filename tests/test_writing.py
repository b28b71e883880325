"""Writing a package: fates, refusal, atomic creation, and the lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from nb2prod.errors import WriteRefusedError
from nb2prod.output.lock import LOCK_NAME, Lock, read_lock, sha256
from nb2prod.output.writing import Fate, plan_changes, write


def lock_for(files: dict[str, str]) -> Lock:
    """A lock recording ``files`` as generated."""
    return Lock(
        "0.1.0", "../nb.ipynb", "abc", files={p: sha256(t) for p, t in files.items()}
    )


def generate(
    folder: Path, files: dict[str, str], force: bool = False
) -> dict[str, Fate]:
    previous = read_lock(folder)
    report = plan_changes(folder, files, previous.files if previous else {}, force)
    write(report, lock_for(files))
    return {change.path: change.fate for change in report.changes}


def test_new_package_is_created_whole(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    fates = generate(folder, {"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    assert fates == {"a.py": Fate.CREATED, "sub/b.py": Fate.CREATED}
    assert (folder / "sub/b.py").read_text() == "B = 2\n"
    assert read_lock(folder) == lock_for({"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]  # no temporary folder left


def test_fates_of_a_second_generation(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"same.py": "x\n", "changed.py": "old\n", "gone.py": "bye\n"})
    fates = generate(
        folder, {"same.py": "x\n", "changed.py": "new\n", "added.py": "+\n"}
    )
    assert fates == {
        "same.py": Fate.UNCHANGED,
        "changed.py": Fate.UPDATED,
        "gone.py": Fate.REMOVED,
        "added.py": Fate.CREATED,
    }
    assert not (folder / "gone.py").exists()
    assert (folder / "changed.py").read_text() == "new\n"


def test_user_edits_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "one\n", "b.py": "two\n"})
    (folder / "a.py").write_text("one, edited\n")
    lock_before = (folder / LOCK_NAME).read_text()
    with pytest.raises(WriteRefusedError, match=r"a\.py"):
        generate(folder, {"a.py": "uno\n", "b.py": "dos\n"})
    assert (folder / "a.py").read_text() == "one, edited\n"
    assert (folder / "b.py").read_text() == "two\n"
    assert (folder / LOCK_NAME).read_text() == lock_before


def test_force_overwrites_user_edits(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "one\n"})
    (folder / "a.py").write_text("edited\n")
    assert generate(folder, {"a.py": "uno\n"}, force=True) == {"a.py": Fate.UPDATED}
    assert (folder / "a.py").read_text() == "uno\n"


def test_a_user_file_in_the_way_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "README.md").write_text("my notes\n")
    with pytest.raises(WriteRefusedError):
        generate(folder, {"README.md": "# generated\n"})
    assert (folder / "README.md").read_text() == "my notes\n"


def test_an_edited_file_no_longer_generated_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "a\n", "old.py": "old\n"})
    (folder / "old.py").write_text("old, but mine now\n")
    assert generate(folder, {"a.py": "a\n"})["old.py"] is Fate.KEPT
    assert (folder / "old.py").read_text() == "old, but mine now\n"


def test_files_the_user_added_are_never_touched(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    generate(folder, {"a.py": "a\n"})
    (folder / "notes.txt").write_text("mine\n")
    fates = generate(folder, {"a.py": "b\n"})
    assert "notes.txt" not in fates
    assert (folder / "notes.txt").read_text() == "mine\n"


def test_damaged_lock_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("{not json")
    with pytest.raises(Exception, match="lock file is damaged"):
        read_lock(tmp_path)
