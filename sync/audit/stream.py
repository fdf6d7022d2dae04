"""An export bundle as a zip archive produced while it is sent (the admin API's download).

A zip, not a tar: a tar header states each file's size before its bytes, so a streamed tar
would have to render the whole events file first. A zip written to a non-seekable stream
puts each entry's size and CRC *after* its data (the data descriptor of APPNOTE 4.3.9), so
``events.jsonl`` leaves the server batch by batch as it is read from the database. The
views, rendered in the same pass, wait in temporary files (disk, not memory) and follow.

If the export fails midway (an event that is not the log's leaf at its place), the
generator raises before the archive's central directory is sent: the client is left with
an unreadable zip, never a readable but partial bundle.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from sync.audit.bundle import (
    EVENTS_FILE,
    MANIFEST_FILE,
    BundleHead,
    HashingWriter,
    body_batches,
    manifest_of,
)
from sync.audit.views import VIEW_FILES

CHUNK = 1 << 20
# Deflate level 1: JSON Lines still shrink several-fold, at a fraction of level 6's CPU.
COMPRESS_LEVEL = 1


class _Pipe:
    """The write-only, non-seekable file ZipFile writes to; the generator drains it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def zip_stream(head: BundleHead, events: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """The bundle of ``head`` and ``events`` as zip bytes, yielded as they are made."""
    pipe = _Pipe()
    with tempfile.TemporaryDirectory(prefix="hr2bi-export-") as tmp:
        spools = {name: (Path(tmp) / name).open("w+b") for name in VIEW_FILES}
        try:
            with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED,  # type: ignore[arg-type]
                                 compresslevel=COMPRESS_LEVEL) as archive:
                digests = yield from _events_entry(archive, pipe, head, events, spools)
                for name, content in head.small_files().items():
                    archive.writestr(name, content)
                    digests[name] = hashlib.sha256(content).hexdigest()
                for name, spool in spools.items():
                    yield from _copy_entry(archive, pipe, name, spool)
                archive.writestr(MANIFEST_FILE, manifest_of(digests))
        finally:
            for spool in spools.values():
                spool.close()
    yield pipe.take()  # the central directory: only now is the archive readable


def _events_entry(archive: zipfile.ZipFile, pipe: _Pipe, head: BundleHead,
                  events: Iterable[Mapping[str, Any]],
                  spools: dict[str, BinaryIO]) -> Iterator[bytes]:
    """Stream events.jsonl into the archive, spooling the views; return every digest."""
    views = {name: HashingWriter(spool) for name, spool in spools.items()}
    with archive.open(EVENTS_FILE, "w", force_zip64=True) as entry:
        writer = HashingWriter(entry)  # type: ignore[arg-type]
        for chunks in body_batches(head, events):
            writer.write(chunks[EVENTS_FILE])
            for name, view in views.items():
                view.write(chunks[name])
            if data := pipe.take():
                yield data
    return {EVENTS_FILE: writer.hexdigest(), **{n: v.hexdigest() for n, v in views.items()}}


def _copy_entry(archive: zipfile.ZipFile, pipe: _Pipe, name: str, spool: BinaryIO) -> Iterator[bytes]:
    spool.seek(0)
    with archive.open(name, "w", force_zip64=True) as entry:
        while chunk := spool.read(CHUNK):
            entry.write(chunk)
            if data := pipe.take():
                yield data
