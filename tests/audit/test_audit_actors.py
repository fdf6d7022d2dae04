"""One actor format (``kind:name``), and logs holding the spellings written before it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from audit_samples import export, log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.actors import (
    APPLY,
    AUDIT,
    CONFIG,
    PLAN,
    approver_actor,
    cli_actor,
    source_actor,
    system_actor,
    token_actor,
)
from sync.audit.verify import verify_bundle
from sync.audit.views import cef_event, ocsf_event, render_csv

KEY = Ed25519PrivateKey.generate()
OLD = ["hr2bi apply (web-1:4242)", "hr2bi plan", "system:hr2bi"]
NEW = ["system:apply@web-1:4242", "system:plan", "system:config", "token:okta-prod"]


def test_each_kind_of_actor_is_kind_colon_name() -> None:
    assert token_actor("okta-prod") == "token:okta-prod"
    assert token_actor(None) == "token:unknown"
    assert source_actor("workday") == "source:workday"
    assert approver_actor(" dana ") == "approver:dana"
    assert cli_actor("alice") == "cli:alice"
    assert cli_actor(None) == "cli:unknown"
    assert system_actor(PLAN) == "system:plan"
    assert system_actor(APPLY, "web-1:4242") == "system:apply@web-1:4242"
    assert (system_actor(CONFIG), system_actor(AUDIT)) == ("system:config", "system:audit")


def _mixed_log() -> list[dict]:
    events = log(len(OLD) + len(NEW))
    for event, actor in zip(events, OLD + NEW, strict=True):
        event["actor"] = actor
    return events


def test_a_log_with_old_and_new_spellings_verifies_and_keeps_them(tmp_path: Path) -> None:
    events = _mixed_log()
    export(tmp_path / "bundle", events, 1, len(events), KEY)
    verify_bundle(tmp_path / "bundle", public_key=KEY.public_key())
    exported = [json.loads(line) for line in (tmp_path / "bundle" / "events.jsonl").read_text().splitlines()]
    assert [e["actor"] for e in exported] == OLD + NEW


def test_the_views_carry_either_spelling_as_recorded() -> None:
    events = _mixed_log()
    rows = list(csv.reader(io.StringIO(render_csv(events).decode(), newline="")))
    assert [row[2] for row in rows[1:]] == OLD + NEW
    for event in events:
        line = cef_event(event, "0.1.0")
        assert f"suser={event['actor']} " in line
        ocsf = ocsf_event(event, "0.1.0")
        assert ocsf is None or ocsf["actor"] == {"user": {"name": event["actor"]}}
