"""The tamper matrix of issue 5: each manipulation of an export bundle, on logs of several
sizes and on several ranges, is caught with the right reason; an untouched export verifies.

Most manipulations are made the way a careful forger would: the file is changed *and* the
(unsigned) manifest recomputed, so the check that must catch it is the one anchored in the
signed checkpoint, not the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_samples import checkpoint_of, event, export, log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.audit.bundle import MANIFEST_FILE, manifest_bytes
from sync.audit.canonical import canonical_json
from sync.audit.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from sync.audit.verify import BUNDLE_FILES, BundleInvalid, Reason, verify_bundle
from sync.audit.views import render_views

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
SIZES = [1, 2, 7, 8, 9, 100]


def ranges(size: int) -> list[tuple[int, int]]:
    """The whole log, a middle slice and the tail (as many as the size allows)."""
    found = {(1, size), (max(1, size // 3), max(1, 2 * size // 3)), (max(1, size - 2), size)}
    return sorted(found)


CASES = [(size, first, last) for size in SIZES for first, last in ranges(size)]
IDS = [f"log{size}-seq{first}..{last}" for size, first, last in CASES]


# Deleting or swapping needs several exported events: those tests take only such ranges
# (rather than skipping the ones that cannot apply).
SEVERAL = [(c, i) for c, i in zip(CASES, IDS, strict=True) if c[2] - c[1] >= 2]


def _export(tmp_path: Path, size: int, first: int, last: int) -> Path:
    export(tmp_path / "b", log(size), first, last, KEY)
    return tmp_path / "b"


@pytest.fixture(params=CASES, ids=IDS)
def bundle(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _export(tmp_path, *request.param)


@pytest.fixture(params=[c for c, _ in SEVERAL], ids=[i for _, i in SEVERAL])
def several(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An export of at least three events."""
    return _export(tmp_path, *request.param)


def lines(bundle: Path) -> list[bytes]:
    return (bundle / "events.jsonl").read_bytes().split(b"\n")[:-1]


def rewrite(bundle: Path, name: str, content: bytes, *, fix_manifest: bool = True) -> None:
    """Replace a file; a forger then recomputes the manifest over the new content."""
    (bundle / name).write_bytes(content)
    if fix_manifest:
        files = {n: (bundle / n).read_bytes() for n in BUNDLE_FILES}
        (bundle / MANIFEST_FILE).write_bytes(manifest_bytes(files))


def rewrite_events(bundle: Path, new_lines: list[bytes]) -> None:
    rewrite(bundle, "events.jsonl", b"".join(line + b"\n" for line in new_lines))


def rewrite_proof(bundle: Path, change: Callable[[dict], None]) -> None:
    proof = json.loads((bundle / "proof.json").read_bytes())
    change(proof)
    rewrite(bundle, "proof.json", canonical_json(proof) + b"\n")


def caught(bundle: Path, reason: Reason, **kwargs: object) -> BundleInvalid:
    with pytest.raises(BundleInvalid) as info:
        verify_bundle(bundle, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason, str(info.value)
    return info.value


def test_untouched_export_verifies(bundle: Path) -> None:
    report = verify_bundle(bundle, public_key=KEY.public_key())
    proof = json.loads((bundle / "proof.json").read_bytes())
    assert (report.first_seq, report.last_seq) == (proof["first_seq"], proof["last_seq"])
    assert report.signature_checked and len(lines(bundle)) == report.last_seq - report.first_seq + 1


def test_one_changed_byte_in_any_event_is_caught(bundle: Path) -> None:
    original = lines(bundle)
    for index in sorted({0, len(original) // 2, len(original) - 1}):
        changed = list(original)
        at = changed[index].index(b"token:") if b"token:" in changed[index] else changed[index].index(b"source:")
        changed[index] = changed[index][:at] + b"X" + changed[index][at + 1 :]
        rewrite_events(bundle, changed)
        error = caught(bundle, Reason.ROOT_MISMATCH, public_key=KEY.public_key())
        assert "altered" in str(error)


def test_one_changed_byte_without_fixing_the_manifest_is_a_manifest_mismatch(bundle: Path) -> None:
    content = bytearray((bundle / "events.jsonl").read_bytes())
    content[len(content) // 2] ^= 0x01
    rewrite(bundle, "events.jsonl", bytes(content), fix_manifest=False)
    error = caught(bundle, Reason.MANIFEST_MISMATCH)
    assert "events.jsonl" in str(error)


def test_a_deleted_event_is_caught(several: Path) -> None:
    bundle = several
    original = lines(bundle)
    rewrite_events(bundle, original[:1] + original[2:])
    error = caught(bundle, Reason.SEQUENCE_GAP)
    assert "missing" in str(error)


def test_a_deleted_event_with_renumbered_seqs_is_caught(several: Path) -> None:
    bundle = several
    original = [json.loads(line) for line in lines(bundle)]
    kept = original[1:]
    for event_ in kept:
        event_["seq"] -= 1
    rewrite_events(bundle, [canonical_json(e) for e in kept])
    rewrite_proof(bundle, lambda p: p.update(last_seq=p["last_seq"] - 1))
    caught(bundle, Reason.ROOT_MISMATCH)


def test_two_swapped_events_are_caught(several: Path) -> None:
    bundle = several
    original = lines(bundle)
    rewrite_events(bundle, [original[-1], *original[1:-1], original[0]])
    caught(bundle, Reason.SEQUENCE_ORDER)


def test_two_swapped_events_with_swapped_seqs_are_caught(several: Path) -> None:
    bundle = several
    events = [json.loads(line) for line in lines(bundle)]
    events[0], events[1] = events[1], events[0]
    events[0]["seq"], events[1]["seq"] = events[1]["seq"], events[0]["seq"]
    rewrite_events(bundle, [canonical_json(e) for e in events])
    caught(bundle, Reason.ROOT_MISMATCH)


def test_a_cut_off_tail_is_caught(bundle: Path) -> None:
    original = lines(bundle)
    rewrite_events(bundle, original[:-1])
    caught(bundle, Reason.TRUNCATED)


def test_a_cut_off_tail_with_a_rewritten_range_is_caught(several: Path) -> None:
    bundle = several
    original = lines(bundle)
    rewrite_events(bundle, original[:-1])
    rewrite_proof(bundle, lambda p: p.update(last_seq=p["last_seq"] - 1))
    caught(bundle, Reason.ROOT_MISMATCH)


def test_an_appended_forged_event_is_caught(bundle: Path) -> None:
    proof = json.loads((bundle / "proof.json").read_bytes())
    forged = canonical_json(event(proof["last_seq"] + 1))
    rewrite_events(bundle, [*lines(bundle), forged])
    rewrite_proof(bundle, lambda p: p.update(last_seq=p["last_seq"] + 1))
    caught(bundle, Reason.ROOT_MISMATCH)


def test_a_checkpoint_resigned_with_another_key_is_caught(bundle: Path) -> None:
    signed = parse_checkpoint((bundle / "checkpoint.txt").read_text())
    rewrite(bundle, "checkpoint.txt", sign_checkpoint(signed.checkpoint, OTHER_KEY).note().encode())
    error = caught(bundle, Reason.BAD_SIGNATURE, public_key=KEY.public_key())
    assert "different key" in str(error)


def test_a_forged_checkpoint_over_altered_events_is_caught(bundle: Path) -> None:
    """The forger alters an event, rebuilds the tree and signs it: only the key betrays it."""
    signed = parse_checkpoint((bundle / "checkpoint.txt").read_text())
    cp = signed.checkpoint
    forged = Checkpoint(cp.origin, cp.size, bytes(32), cp.timestamp)
    rewrite(bundle, "checkpoint.txt", sign_checkpoint(forged, OTHER_KEY).note().encode())
    caught(bundle, Reason.BAD_SIGNATURE, public_key=KEY.public_key())
    # without the key the altered root still fails to match the events
    caught(bundle, Reason.ROOT_MISMATCH)


def test_a_checkpoint_edited_under_its_signature_is_caught(bundle: Path) -> None:
    note = (bundle / "checkpoint.txt").read_text()
    size_line = note.split("\n")[1]
    rewrite(bundle, "checkpoint.txt", note.replace(f"\n{size_line}\n", f"\n{int(size_line) + 1}\n", 1).encode())
    error = caught(bundle, Reason.BAD_SIGNATURE, public_key=KEY.public_key())
    assert "altered" in str(error)


@pytest.mark.parametrize("name", [*BUNDLE_FILES])
def test_a_manifest_mismatch_in_any_file_is_caught(bundle: Path, name: str) -> None:
    rewrite(bundle, name, (bundle / name).read_bytes() + b" ", fix_manifest=False)
    error = caught(bundle, Reason.MANIFEST_MISMATCH)
    assert name in str(error)


def test_a_missing_file_is_caught(bundle: Path) -> None:
    (bundle / "events.cef").unlink()
    caught(bundle, Reason.MISSING_FILE)


@pytest.mark.parametrize("view", ["events.csv", "events.ocsf.jsonl", "events.cef"])
def test_an_edited_view_is_caught_even_with_a_fixed_manifest(bundle: Path, view: str) -> None:
    content = (bundle / view).read_bytes()
    assert b"example.com" in content
    rewrite(bundle, view, content.replace(b"example.com", b"example.org", 1))
    caught(bundle, Reason.VIEW_MISMATCH)


# -- the auditor's trusted checkpoint: the history must only have grown since -------------

@pytest.mark.parametrize("size", [2, 7, 9, 100])
def test_consistency_from_a_trusted_checkpoint_verifies(tmp_path: Path, size: int) -> None:
    events = log(size)
    for old_size in sorted({1, size // 2, size - 1, size}):
        trusted = checkpoint_of(events[:old_size], KEY)
        export(tmp_path / str(old_size), events, max(1, size - 3), size, KEY, from_checkpoint=trusted)
        report = verify_bundle(tmp_path / str(old_size), public_key=KEY.public_key(),
                               trusted_checkpoint=trusted)
        assert report.consistent_with == old_size


@pytest.mark.parametrize("size", [2, 7, 8, 9, 100])
def test_a_history_rewritten_since_the_trusted_checkpoint_is_caught(tmp_path: Path, size: int) -> None:
    events = log(size)
    old_size = max(1, size // 2)
    trusted = checkpoint_of(events[:old_size], KEY)  # what the auditor kept last quarter
    rewritten = [dict(e) for e in events]
    rewritten[old_size - 1]["actor"] = "token:someone-else"  # an old event, quietly changed
    export(tmp_path / "b", rewritten, 1, size, KEY, from_checkpoint=trusted)
    verify_bundle(tmp_path / "b", public_key=KEY.public_key())  # self-consistent on its own
    error = caught(tmp_path / "b", Reason.HISTORY_REWRITTEN, public_key=KEY.public_key(),
                   trusted_checkpoint=trusted)
    assert f"size {old_size}" in str(error)


def test_a_log_cut_back_below_the_trusted_checkpoint_is_caught(tmp_path: Path) -> None:
    events = log(9)
    trusted = checkpoint_of(events, KEY)
    export(tmp_path / "b", events[:7], 1, 7, KEY)
    caught(tmp_path / "b", Reason.HISTORY_REWRITTEN, trusted_checkpoint=trusted)


def test_a_bundle_without_consistency_proof_is_refused_for_a_trusted_checkpoint(tmp_path: Path) -> None:
    events = log(9)
    export(tmp_path / "b", events, 1, 9, KEY)
    caught(tmp_path / "b", Reason.NO_CONSISTENCY_PROOF, trusted_checkpoint=checkpoint_of(events[:4], KEY))


def test_a_trusted_checkpoint_of_another_log_is_refused(tmp_path: Path) -> None:
    events = log(9)
    export(tmp_path / "b", events, 1, 9, KEY)
    cp = checkpoint_of(events[:4], KEY).checkpoint
    other = sign_checkpoint(Checkpoint("other.example/audit", cp.size, cp.root, cp.timestamp), KEY)
    caught(tmp_path / "b", Reason.WRONG_LOG, trusted_checkpoint=other)


def test_views_are_rebuilt_from_the_exported_events_only(tmp_path: Path) -> None:
    events = log(9)
    export(tmp_path / "b", events, 3, 5, KEY)
    expected = render_views(events[2:5], "0.1.0")
    for name, content in expected.items():
        assert (tmp_path / "b" / name).read_bytes() == content


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_in_the_events_is_caught(tmp_path_factory: pytest.TempPathFactory,
                                                        data: st.DataObject) -> None:
    bundle = tmp_path_factory.mktemp("b") / "b"
    export(bundle, log(9), 2, 8, KEY)
    content = bytearray((bundle / "events.jsonl").read_bytes())
    at = data.draw(st.integers(0, len(content) - 1))
    content[at] = data.draw(st.integers(0, 255).filter(lambda b: b != content[at]))
    rewrite(bundle, "events.jsonl", bytes(content))
    with pytest.raises(BundleInvalid) as info:
        verify_bundle(bundle)
    assert info.value.reason in {Reason.EVENT_MALFORMED, Reason.NOT_CANONICAL, Reason.ROOT_MISMATCH,
                                 Reason.SEQUENCE_GAP, Reason.SEQUENCE_ORDER, Reason.TRUNCATED}


def test_a_reformatted_event_is_named_as_not_canonical(bundle: Path) -> None:
    original = lines(bundle)
    changed = [*original[:-1], json.dumps(json.loads(original[-1]), indent=1).replace("\n", " ").encode()]
    rewrite_events(bundle, changed)
    error = caught(bundle, Reason.NOT_CANONICAL)
    assert f"line {len(original)}" in str(error)
