"""The Ukrainian dictionary that full-text search uses, made available to the embedded PostgreSQL.

PostgreSQL's ``ispell`` template reads ``<sharedir>/tsearch_data/uk_ua.dict`` and ``uk_ua.affix``
and takes hunspell's format as it is (UTF-8). Debian's ``hunspell-uk`` ships them as
``/usr/share/hunspell/uk_UA.{dic,aff}``; on a PostgreSQL server, Debian's postgresql-common links them
into ``tsearch_data`` when the package is installed (``pg_updatedicts``). The embedded server from the
``pgserver`` wheel has no such hook, so :func:`link_ukrainian` links them into its share folder
before it starts. Migration 0011 then creates the dictionary (or warns and searches by prefixes only).
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

HUNSPELL_DIRS = (
    Path("/usr/share/hunspell"),
    Path("/usr/share/myspell"),
    Path("/usr/local/share/hunspell"),
    Path("/opt/homebrew/share/hunspell"),
)
"""Where distributions put hunspell dictionaries (Debian, Fedora, Arch; Homebrew)."""

_FILES = (("uk_UA.dic", "uk_ua.dict"), ("uk_UA.aff", "uk_ua.affix"))


def hunspell_ukrainian(dirs: tuple[Path, ...] = HUNSPELL_DIRS) -> Path | None:
    """The folder holding ``uk_UA.dic`` and ``uk_UA.aff``, if hunspell-uk is installed."""
    return next((d for d in dirs if all((d / name).is_file() for name, _ in _FILES)), None)


def share_dir(bin_dir: Path) -> Path:
    """The share folder of the PostgreSQL whose programs are in ``bin_dir`` (``pg_config --sharedir``)."""
    out = subprocess.run([str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def link_for_server(bin_dir: Path) -> bool:
    """:func:`link_ukrainian` for the PostgreSQL whose programs are in ``bin_dir``; never raises."""
    try:
        sharedir = share_dir(bin_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        log.warning(
            "could not find the share folder of the PostgreSQL in %s (%s): search finds word prefixes only",
            bin_dir,
            exc,
        )
        return False
    return link_ukrainian(sharedir)


def link_ukrainian(sharedir: Path, dirs: tuple[Path, ...] = HUNSPELL_DIRS) -> bool:
    """Link hunspell-uk's files into ``sharedir/tsearch_data`` as PostgreSQL names them; whether they are there.

    Never raises: without the files (or a writable share folder) search still works, by prefixes only,
    and this says so once.
    """
    source = hunspell_ukrainian(dirs)
    target = sharedir / "tsearch_data"
    if source is None:
        if all((target / name).is_file() for _, name in _FILES):
            return True
        # A notice, not a warning: search works, by prefixes (a fresh machine's `make demo` says nothing alarming).
        log.info(
            "search finds word prefixes; for inflected Ukrainian forms as well, install the Ukrainian hunspell "
            "dictionary (Debian: apt-get install hunspell-uk) and restart (looked in %s)",
            ", ".join(str(d) for d in dirs),
        )
        return False
    try:
        for name, pg_name in _FILES:
            link = target / pg_name
            if link.resolve() == (source / name).resolve():
                continue
            fresh = target / f".{pg_name}.{os.getpid()}"
            fresh.unlink(missing_ok=True)
            fresh.symlink_to(source / name)
            fresh.replace(link)  # atomic: a server starting meanwhile sees the old link or the new one
    except OSError as exc:
        log.warning(
            "could not link the Ukrainian dictionary into %s (%s): search finds word prefixes only", target, exc
        )
        return False
    return True
