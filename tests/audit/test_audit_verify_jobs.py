"""Verify over several processes finds exactly what it finds in one: same report, same
first failure, whichever batch it is in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_samples import export, log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.bundle import BATCH, MANIFEST_FILE, manifest_bytes
from sync.audit.verify import BUNDLE_FILES, BundleInvalid, Reason, verify_bundle

KEY = Ed25519PrivateKey.generate()
SIZE = 2 * BATCH + 500  # three batches, the last one short


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return log(SIZE)


@pytest.fixture
def bundle(tmp_path: Path, events: list[dict]) -> Path:
    export(tmp_path / "b", events, 1, SIZE, KEY)
    return tmp_path / "b"


def forge(bundle: Path, name: str, content: bytes) -> None:
    (bundle / name).write_bytes(content)
    files = {n: (bundle / n).read_bytes() for n in BUNDLE_FILES}
    (bundle / MANIFEST_FILE).write_bytes(manifest_bytes(files))


def reasons(bundle: Path) -> list[tuple[Reason, str]]:
    found = []
    for jobs in (1, 2):
        with pytest.raises(BundleInvalid) as info:
            verify_bundle(bundle, KEY.public_key(), jobs=jobs)
        found.append((info.value.reason, info.value.detail))
    return found


def test_an_untouched_bundle_gives_the_same_report(bundle: Path) -> None:
    one, two = (verify_bundle(bundle, KEY.public_key(), jobs=jobs) for jobs in (1, 2))
    assert one == two and (two.first_seq, two.last_seq) == (1, SIZE)


def test_a_view_edited_in_the_last_batch_is_caught(bundle: Path) -> None:
    content = (bundle / "events.cef").read_bytes()
    at = content.rindex(b"person")
    forge(bundle, "events.cef", content[:at] + b"P" + content[at + 1:])
    assert [r for r, _ in reasons(bundle)] == [Reason.VIEW_MISMATCH] * 2


def test_a_view_with_a_line_appended_is_caught(bundle: Path) -> None:
    forge(bundle, "events.csv", (bundle / "events.csv").read_bytes() + b"1,2\r\n")
    assert [r for r, _ in reasons(bundle)] == [Reason.VIEW_MISMATCH] * 2


def test_the_first_malformed_line_is_named_whichever_process_saw_it(bundle: Path) -> None:
    lines = (bundle / "events.jsonl").read_bytes().split(b"\n")
    lines[BATCH + 10] = b"{not json"     # line BATCH + 11, in the second batch
    lines[2 * BATCH + 5] = b"[]"         # a later one, in the third
    forge(bundle, "events.jsonl", b"\n".join(lines))
    one, two = reasons(bundle)
    assert one == two and one[0] == Reason.EVENT_MALFORMED
    assert f"line {BATCH + 11} " in one[1]


def test_an_altered_event_and_a_gap_are_caught_the_same(bundle: Path) -> None:
    lines = (bundle / "events.jsonl").read_bytes().split(b"\n")[:-1]
    altered = [*lines[:-1], lines[-1].replace(b"applied", b"skipped")]
    forge(bundle, "events.jsonl", b"".join(line + b"\n" for line in altered))
    assert [r for r, _ in reasons(bundle)] == [Reason.ROOT_MISMATCH] * 2
    gap = lines[:BATCH] + lines[BATCH + 1:]
    forge(bundle, "events.jsonl", b"".join(line + b"\n" for line in gap))
    assert [r for r, _ in reasons(bundle)] == [Reason.SEQUENCE_GAP] * 2
    assert json.loads(lines[BATCH])["seq"] == BATCH + 1
