"""The tables version: one hash naming the exact contents of the table files.

Carried on every result, change and audit event, so anyone can later tell which tables
decided an outcome. Paths are part of the hash (renaming a lookup table changes behaviour)
and each entry is length-prefixed, so no two different file sets hash alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def tables_version(files: Mapping[str, bytes]) -> str:
    """``sha256:<hex>`` over the sorted relative paths and bytes of ``files``."""
    digest = hashlib.sha256()
    for path in sorted(files):
        name = path.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(files[path]).to_bytes(8, "big") + files[path])
    return f"sha256:{digest.hexdigest()}"


def short_version(version: str) -> str:
    """The first 12 hex digits, for humans (like a short git commit id)."""
    return version.removeprefix("sha256:")[:12]
