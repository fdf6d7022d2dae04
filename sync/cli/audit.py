"""``hr2bi audit``: keys, checkpoints, export bundles and their offline verification."""

from __future__ import annotations

import base64
import datetime as dt
from contextlib import AbstractContextManager
from pathlib import Path

import click
from sqlmodel import Session

from sync.audit.checkpoint import generate_key_files, load_public_key, read_checkpoint
from sync.audit.consistency import record_rewrite_alert
from sync.audit.errors import AuditError, LogRewritten
from sync.audit.verify import verify_download
from sync.cli.audit_ship import ship
from sync.cli.output import json_option, print_json
from sync.cli.store import store
from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditCheckpoint


@click.group(help="The compliance audit log: signing keys and offline verification.")
def audit() -> None:
    pass


@audit.command(help="Create an Ed25519 key pair for signing audit checkpoints.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Directory to write the key files to.")
def keygen(out_dir: Path) -> None:
    try:
        private_path, public_path = generate_key_files(out_dir)
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"private key (keep secret, mode 0600): {private_path}")
    click.echo(f"public key (give to auditors): {public_path}")


TRUSTED_DEFAULT = Path("audit-trusted-checkpoint.txt")
NO_TRUSTED_WARNING = ("WARNING: no trusted checkpoint ({path} not found): the bundle was checked "
                      "only against the checkpoint it carries, so a log rewritten or truncated "
                      "before this export verifies too. After checking the public key, keep this "
                      "bundle's checkpoint with --save-trusted (and --require-trusted from then on).")
EXIT_NO_TRUSTED = 3  # with --require-trusted: verified, but anchored in nothing the auditor kept


@audit.command(help="Verify an export bundle (a directory, or the zip the admin API serves) "
               "offline, and that the log only grew since the trusted checkpoint you kept; "
               "exit 1 with the reason if it fails.")
@click.argument("bundle_dir", type=click.Path(exists=True, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The log's public key PEM; without it the signature is not checked.")
@click.option("--trusted", "--trusted-checkpoint", "trusted_path", envvar="HR2BI_AUDIT_TRUSTED_CHECKPOINT",
              type=click.Path(dir_okay=False, path_type=Path), default=TRUSTED_DEFAULT,
              show_default=True, show_envvar=True,
              help="The checkpoint you kept last time: the bundle must prove the log only grew "
              "since (export it with --from-checkpoint this file). A loud warning when missing.")
@click.option("--save-trusted", is_flag=True, help="Once verified, keep the bundle's checkpoint "
              "as the trusted one (needs --public-key).")
@click.option("--require-trusted", is_flag=True, help=f"Exit {EXIT_NO_TRUSTED} instead of "
              "warning when there is no trusted checkpoint.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Processes that check the events [default: one a CPU, up to 4, for a "
              "large bundle].")
def verify(bundle_dir: Path, public_key: Path | None, trusted_path: Path, save_trusted: bool,
           require_trusted: bool, jobs: int | None) -> None:
    if save_trusted and public_key is None:
        raise click.UsageError("--save-trusted needs --public-key: trust only a signature you checked")
    try:
        key = load_public_key(public_key) if public_key else None
        trusted = read_checkpoint(trusted_path) if trusted_path.exists() else None
        report = verify_download(bundle_dir, public_key=key, trusted_checkpoint=trusted,
                                 jobs=jobs)
    except AuditError as exc:
        raise click.ClickException(f"verification FAILED: {exc}") from exc
    click.echo(report.summary())
    if trusted is None:
        click.echo("trusted checkpoint: NONE")
        click.secho(NO_TRUSTED_WARNING.format(path=trusted_path), err=True, fg="red", bold=True)
    if save_trusted:
        _save_trusted(report.checkpoint.note(), trusted_path)
        click.echo(f"trusted checkpoint saved: {trusted_path} (size {report.tree_size})")
    elif trusted is None and require_trusted:
        raise SystemExit(EXIT_NO_TRUSTED)


def _save_trusted(note: str, trusted_path: Path) -> None:
    """Replace the trusted checkpoint with the bundle's, atomically (a crash leaves the old)."""
    temporary = trusted_path.with_name(trusted_path.name + ".tmp")
    try:
        temporary.write_text(note, encoding="utf-8")
        temporary.replace(trusted_path)
    except OSError as exc:
        raise click.ClickException(f"cannot save the trusted checkpoint {trusted_path}: {exc}") from exc


def _store_session() -> tuple[Settings, AbstractContextManager[Session]]:
    settings, engine = store()
    return settings, session_scope(engine)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


@audit.command(help="Sign a checkpoint of the log as it stands (origin, size, root hash) "
               "and keep it in the database.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the checkpoint to this file.")
def checkpoint(out: Path | None) -> None:
    from sync.audit.store import proven_log, sign_log, store_checkpoint

    settings, scope = _store_session()
    refused: LogRewritten | None = None
    try:
        with scope as session:
            try:
                proven = proven_log(session)
            except LogRewritten as exc:
                record_rewrite_alert(session, exc, settings.audit_origin)  # committed
                refused = exc
            else:
                signed = sign_log(proven, settings.audit_signing_key, settings.audit_origin)
                store_checkpoint(session, signed, run_id=None)
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
    if refused is not None:
        raise click.ClickException(f"checkpoint REFUSED, an audit.alert event was recorded: {refused}")
    if out is not None:
        out.write_text(signed.note())
    if proven.extension is not None:
        old = proven.extension.old
        click.echo(f"consistent with stored checkpoint {old.checkpoint_id} (size {old.size}): "
                   f"RFC 6962 proof of {len(proven.extension.proof)} hashes verified", err=True)
    click.echo(signed.note(), nl=False)


@audit.command(help="Write an export bundle: events, signed checkpoint, proofs, views, manifest.")
@click.option("--since", type=click.DateTime(), help="First event time, UTC.")
@click.option("--until", type=click.DateTime(), help="Events strictly before this time, UTC.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["jsonl", "csv", "ocsf", "cef"]),
              help="Accepted for scripts; every bundle carries all four views, listed in its manifest.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="An empty or new directory for the bundle.")
@click.option("--from-checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The auditor's older checkpoint: the bundle then proves the log only grew.")
def export(since: dt.datetime | None, until: dt.datetime | None, formats: tuple[str, ...],
           out_dir: Path, from_checkpoint: Path | None) -> None:
    from sync.audit.store import export as export_bundle

    settings, scope = _store_session()
    try:
        older = read_checkpoint(from_checkpoint) if from_checkpoint else None
        with scope as session:
            summary = export_bundle(session, out_dir, settings.audit_signing_key, settings.audit_origin,
                                    since=_utc(since), until=_utc(until), from_checkpoint=older)
    except LogRewritten as exc:
        with _store_session()[1] as session:
            record_rewrite_alert(session, exc, settings.audit_origin)
        raise click.ClickException(f"export REFUSED, an audit.alert event was recorded: {exc}") from exc
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"exported events {summary.first_seq}..{summary.last_seq} to {out_dir} "
               f"(log size {summary.checkpoint.checkpoint.size})")


@audit.command(help="List the stored checkpoints, newest first.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@json_option
def checkpoints(limit: int, as_json: bool) -> None:
    from sync.audit.store import stored_checkpoints

    _, scope = _store_session()
    with scope as session:
        rows = [_checkpoint_row(row) for row in stored_checkpoints(session, limit)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No checkpoints stored yet: run `hr2bi audit checkpoint`.")
    for row in rows:
        run = f"run {row['run']}" if row["run"] is not None else "on demand"
        click.echo(f"{row['id']:>6}  {row['created_at']}  size {row['size']:>10}  "
                   f"root {row['root_base64']}  {run}")


def _checkpoint_row(row: AuditCheckpoint) -> dict[str, object]:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    return {"id": row.id, "size": row.size, "root_base64": base64.b64encode(bytes.fromhex(row.root)).decode(),
            "run": row.run_id, "created_at": created.isoformat(timespec="seconds"), "note": row.note}


audit.add_command(ship)
