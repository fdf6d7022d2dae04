"""Writing bundles: what the writer refuses, and what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_samples import ORIGIN, checkpoint_of, export, leaves, log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.bundle import BundleError, write_bundle
from sync.audit.canonical import canonical_json
from sync.audit.checkpoint import parse_checkpoint
from sync.audit.errors import EventError

KEY = Ed25519PrivateKey.generate()


def test_bundle_layout(tmp_path: Path) -> None:
    summary = export(tmp_path / "b", log(9), 3, 5, KEY)
    names = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert names == ["checkpoint.txt", "events.cef", "events.csv", "events.jsonl",
                     "events.ocsf.jsonl", "manifest.json", "proof.json"]
    assert (summary.first_seq, summary.last_seq) == (3, 5)
    lines = (tmp_path / "b" / "events.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 4, 5]
    assert all(canonical_json(json.loads(line)) == line for line in lines)
    checkpoint = parse_checkpoint((tmp_path / "b" / "checkpoint.txt").read_text()).checkpoint
    assert checkpoint.size == 9 and checkpoint.origin == ORIGIN
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert len(manifest["sha256"]) == 6


def test_events_must_be_consecutive_and_in_the_log(tmp_path: Path) -> None:
    events = log(9)
    with pytest.raises(BundleError, match="not consecutive"):
        write_bundle([events[0], events[2]], tmp_path / "a", KEY, origin=ORIGIN,
                     log_leaf_hashes=leaves(events))
    altered = [dict(e) for e in events[:3]]
    altered[1]["actor"] = "someone"
    with pytest.raises(BundleError, match="seq 2 is not the log's leaf"):
        write_bundle(altered, tmp_path / "b", KEY, origin=ORIGIN, log_leaf_hashes=leaves(events))
    with pytest.raises(BundleError, match="past the log"):
        write_bundle(events, tmp_path / "c", KEY, origin=ORIGIN, log_leaf_hashes=leaves(events[:5]))
    with pytest.raises(BundleError, match="no events"):
        write_bundle([], tmp_path / "d", KEY, origin=ORIGIN, log_leaf_hashes=leaves(events))


def test_events_need_every_field(tmp_path: Path) -> None:
    event = log(1)[0]
    del event["reason"]
    with pytest.raises(EventError, match="lacks reason"):
        write_bundle([event], tmp_path / "a", KEY, origin=ORIGIN, log_leaf_hashes=[])
    event = log(1)[0] | {"time": "2026-11-02 09:00"}
    with pytest.raises(EventError, match="no timezone"):
        write_bundle([event], tmp_path / "a", KEY, origin=ORIGIN, log_leaf_hashes=[])


def test_output_directory_must_be_fresh(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "old.txt").write_text("x")
    with pytest.raises(BundleError, match="not empty"):
        export(tmp_path / "b", log(2), 1, 2, KEY)


def test_from_checkpoint_must_be_of_this_log_and_not_newer(tmp_path: Path) -> None:
    events = log(9)
    with pytest.raises(BundleError, match="not within"):
        export(tmp_path / "a", events[:5], 1, 5, KEY, from_checkpoint=checkpoint_of(events, KEY))
