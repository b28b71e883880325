"""The tag vocabulary, read from ``cell_tags/vocabulary.toml``."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from enum import Enum
from functools import cache

from nb2prod.resources import data_dir


class Role(Enum):
    """What the converter does with a cell carrying a tag."""

    EXPORT = "export"
    FEATURE = "feature"
    PREDICT = "predict"
    ARTIFACT = "artifact"
    TEST = "test"
    SKIP = "skip"
    PARAMETERS = "parameters"

    @property
    def ships_code(self) -> bool:
        """True for the roles whose definitions become library code."""
        return self in (Role.EXPORT, Role.FEATURE, Role.PREDICT)


@dataclass(frozen=True)
class Tag:
    """One tag of the vocabulary."""

    #: The tag as written in cell metadata, e.g. ``nb2prod:feature``.
    name: str
    #: What the converter does with the cell.
    role: Role
    #: The meaning, as PRODUCT.md states it.
    meaning: str
    #: What a cell with this tag contributes to the package, in a few words.
    ships: str


@dataclass(frozen=True)
class Vocabulary:
    """All tags, and how to recognise them."""

    #: Tags in the order the vocabulary file lists them.
    tags: tuple[Tag, ...]
    #: The prefix shared by nb2prod's own tags (``nb2prod:``).
    prefix: str

    def get(self, name: str) -> Tag | None:
        """The tag called ``name``, or None."""
        return next((tag for tag in self.tags if tag.name == name), None)

    def by_role(self, role: Role) -> Tag:
        """The tag with this role."""
        return next(tag for tag in self.tags if tag.role is role)

    def is_ours(self, name: str) -> bool:
        """True for names in nb2prod's namespace, known or not."""
        return name.startswith(self.prefix)

    def suggest(self, name: str) -> str | None:
        """The known tag closest to a misspelt one."""
        names = [tag.name for tag in self.tags]
        matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return matches[0] if matches else None


@cache
def load_vocabulary() -> Vocabulary:
    """Read the vocabulary file that ships with nb2prod."""
    raw = tomllib.loads((data_dir("cell_tags") / "vocabulary.toml").read_text("utf-8"))
    tags = tuple(
        Tag(
            name=entry["name"],
            role=Role(entry["role"]),
            meaning=entry["meaning"],
            ships=entry["ships"],
        )
        for entry in raw["tag"]
    )
    return Vocabulary(tags=tags, prefix=raw["comment_prefix"])
