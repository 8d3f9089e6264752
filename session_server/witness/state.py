"""A witness's folder: its key (``witness.key``, Ed25519, readable by its owner only), the logs it follows
(``witness.json``: its name and, per log origin, the log's verifier keys) and the latest checkpoint it
cosigned per log (``witness.sqlite3``). Reading the latest and recording the new one happen in one
SQLite transaction that holds the database's write lock, as tlog-witness requires."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from voting.checkpoint import CheckpointError, NoteVerifier
from voting.cosignature import CosignatureSigner
from voting.witness import AddCheckpoint, Answer, Latest, decide

__all__ = ["WitnessError", "WitnessFolder"]

_KEY, _CONFIG, _DB = "witness.key", "witness.json", "witness.sqlite3"


class WitnessError(Exception):
    """A witness folder that cannot be used as asked (one readable line for the command line)."""


@dataclass
class WitnessFolder:
    """A witness's folder, opened."""

    path: Path
    signer: CosignatureSigner
    logs: dict[str, list[NoteVerifier]]

    @classmethod
    def init(cls, path: Path, name: str) -> WitnessFolder:
        """A new witness named ``name`` in the empty (or missing) folder ``path``, with a fresh key."""
        path.mkdir(parents=True, exist_ok=True)
        if (path / _KEY).exists() or (path / _CONFIG).exists():
            raise WitnessError(f"{path} already holds a witness")
        key = Ed25519PrivateKey.generate()
        signer = CosignatureSigner(name, key)  # checks the name
        descriptor = os.open(path / _KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key.private_bytes_raw())
        (path / _CONFIG).write_text(json.dumps({"name": name, "logs": {}}, ensure_ascii=False, indent=2) + "\n")
        with sqlite3.connect(path / _DB) as db:
            db.execute("CREATE TABLE latest (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL)")
        return cls(path, signer, {})

    @classmethod
    def open(cls, path: Path) -> WitnessFolder:
        """The witness in ``path``."""
        try:
            config = json.loads((path / _CONFIG).read_text())
            key = Ed25519PrivateKey.from_private_bytes((path / _KEY).read_bytes())
            logs = {origin: [NoteVerifier.from_vkey(k) for k in keys] for origin, keys in config["logs"].items()}
            return cls(path, CosignatureSigner(config["name"], key), logs)
        except FileNotFoundError:
            raise WitnessError(f"{path} holds no witness: kvorum witness init {path} --name NAME") from None
        except (ValueError, KeyError, TypeError, CheckpointError) as exc:
            raise WitnessError(f"{path}/{_CONFIG} cannot be read: {exc}") from None

    def follow(self, origin: str, vkey: str) -> None:
        """Follow the log ``origin`` signed by the note key ``vkey`` (a council's ``/.well-known/kvorum/keys``)."""
        if not origin or origin != origin.strip() or "\n" in origin:
            raise WitnessError("a log's origin is one line, as its checkpoints' first line")
        try:
            NoteVerifier.from_vkey(vkey)
        except CheckpointError as exc:
            raise WitnessError(f"not a log's verifier key: {exc}") from None
        config = json.loads((self.path / _CONFIG).read_text())
        keys = config["logs"].setdefault(origin, [])
        if vkey not in keys:
            keys.append(vkey)
        (self.path / _CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n")
        self.logs = {o: [NoteVerifier.from_vkey(k) for k in ks] for o, ks in config["logs"].items()}

    def add_checkpoint(self, body: bytes, now: int) -> Answer:
        """Answer an ``add-checkpoint`` request, recording the new latest of its log when it is cosigned."""
        request = AddCheckpoint.parse(body)
        if isinstance(request, Answer):
            return request
        db = sqlite3.connect(self.path / _DB, isolation_level=None, timeout=10)
        try:
            db.execute("BEGIN IMMEDIATE")  # the write lock: no other request reads this log's latest meanwhile
            row = db.execute("SELECT size, root FROM latest WHERE origin = ?", (request.origin,)).fetchone()
            latest = Latest(int(row[0]), bytes(row[1])) if row is not None else None
            answer = decide(request, self.logs, latest, self.signer, now)
            if answer.latest is not None:
                db.execute(
                    "INSERT INTO latest (origin, size, root) VALUES (?, ?, ?) "
                    "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root",
                    (request.origin, answer.latest.size, answer.latest.root),
                )
            db.execute("COMMIT")  # persisted before the cosignature is answered
            return answer
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def latest(self) -> dict[str, Latest]:
        """The latest checkpoint cosigned per log."""
        with sqlite3.connect(self.path / _DB) as db:
            return {o: Latest(int(s), bytes(r)) for o, s, r in db.execute("SELECT origin, size, root FROM latest")}
