"""``hr2bi audit``: key generation and offline verification of export bundles.

(``audit export`` and ``audit checkpoint`` need the events table and come with it.)
"""

from __future__ import annotations

from pathlib import Path

import click

from sync.audit.checkpoint import generate_key_files, load_public_key, read_checkpoint
from sync.audit.errors import AuditError
from sync.audit.verify import verify_bundle


@click.group(help="The compliance audit log: signing keys and offline verification.")
def audit() -> None:
    pass


@audit.command(help="Create an Ed25519 key pair for signing audit checkpoints.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Directory to write the key files to.")
def keygen(out_dir: Path) -> None:
    try:
        private_path, public_path = generate_key_files(out_dir)
    except (AuditError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"private key (keep secret, mode 0600): {private_path}")
    click.echo(f"public key (give to auditors): {public_path}")


@audit.command(help="Verify an export bundle offline; exit 1 with the reason if it fails.")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The log's public key PEM; without it the signature is not checked.")
@click.option("--trusted-checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint you kept earlier: prove the log only grew since.")
def verify(bundle_dir: Path, public_key: Path | None, trusted_checkpoint: Path | None) -> None:
    try:
        key = load_public_key(public_key) if public_key else None
        trusted = read_checkpoint(trusted_checkpoint) if trusted_checkpoint else None
        report = verify_bundle(bundle_dir, public_key=key, trusted_checkpoint=trusted)
    except AuditError as exc:
        raise click.ClickException(f"verification FAILED: {exc}") from exc
    click.echo(report.summary())
