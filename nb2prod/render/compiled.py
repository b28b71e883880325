"""Jinja's compiled templates, kept in nb2prod's cache between runs.

Compiling the package's templates costs about a tenth of a second on every run,
cold or warm. Jinja can keep the compiled code (``BytecodeCache``); it is kept here
as any other entry of :mod:`nb2prod.analysis.entries` (checked with the cache's key
before it is loaded, so a planted entry is never run), under the template's name and
a hash of its source. Jinja adds its own check of the Python version.
"""

from __future__ import annotations

import sys

import jinja2

from nb2prod.analysis import entries


class CompiledTemplates(jinja2.BytecodeCache):
    """A ``BytecodeCache`` over nb2prod's cache (nothing kept when the cache is off)."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        stored = entries.recalled(bytes, _parts(bucket))
        if stored is not None:
            bucket.bytecode_from_string(stored)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        entries.keep(_parts(bucket), bucket.bytecode_to_string())


def _parts(bucket: jinja2.bccache.Bucket) -> list[str]:
    return ["jinja template", sys.version, bucket.key, bucket.checksum]
