"""Why a database file cannot be used, said in one line that names the file and what to do.

The path is the `DRAFTROOM_DB` setting, so remedies that mean "use another file" name it.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

RESTORE = "restore it from a backup, or move it away to start afresh"


class DatabaseUnusableError(Exception):
    """The database file cannot be opened, read, written or understood by this version."""

    def __init__(self, path: Path | str, problem: str, remedy: str) -> None:
        super().__init__(f"database {path} {problem}: {remedy}")
        self.path = path


def one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_path(path: Path) -> None:
    """Refuse, before SQLite sees it, a path that cannot hold a database for this user.

    SQLite's own answer for all of these is "unable to open database file"."""
    if path.is_dir():
        raise DatabaseUnusableError(
            path,
            "is a directory, not a database file",
            f"set DRAFTROOM_DB to a file path, such as {path / 'draftroom.db'}",
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DatabaseUnusableError(
            path,
            f"cannot be created: {_first_file(folder)} is a file, not a folder",
            "set DRAFTROOM_DB to a path inside a folder",
        ) from None
    except OSError as exc:
        raise DatabaseUnusableError(
            path,
            f"cannot be created: making its folder {folder} failed ({exc.strerror})",
            "create the folder, or set DRAFTROOM_DB to a path elsewhere",
        ) from None
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnusableError(
            path,
            f"cannot be read and written by this user (uid {os.getuid()})",
            "fix its owner or mode",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnusableError(
            path,
            f"needs its folder {folder} to be writable by this user (uid {os.getuid()}), "
            "for SQLite's -wal and -shm files",
            "fix the folder's owner or mode, or set DRAFTROOM_DB to a path elsewhere",
        )


def _first_file(folder: Path) -> Path:
    """The ancestor that exists as a file and so stops the folder being made."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return folder


def explain(path: Path, exc: sqlite3.Error) -> DatabaseUnusableError:
    """Turn SQLite's error on opening or checking the file into a problem and its remedy."""
    name = getattr(exc, "sqlite_errorname", "")
    said = f"SQLite: {one_line(str(exc))}"
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return DatabaseUnusableError(
            path, f"is not a SQLite database, or is damaged ({said})", RESTORE
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseUnusableError(
            path,
            f"is locked by another program ({said})",
            "stop whatever else holds it (another draftroom?) and start again",
        )
    if name == "SQLITE_FULL" or getattr(exc, "errno", None) == errno.ENOSPC:
        return DatabaseUnusableError(
            path, f"cannot be written: the disk is full ({said})", "free space"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
        return DatabaseUnusableError(
            path,
            f"cannot be opened for reading and writing ({said})",
            "make it a file this user may read and write, in a folder it may write",
        )
    if name.startswith("SQLITE_IOERR"):
        return DatabaseUnusableError(path, f"cannot be read or written ({said})", "check the disk")
    return DatabaseUnusableError(path, f"cannot be used ({said})", RESTORE)


def damaged(path: Path, report: str) -> DatabaseUnusableError:
    return DatabaseUnusableError(
        path, f"is damaged (SQLite integrity check: {one_line(report)})", RESTORE
    )


def too_new(path: Path, found: int, known: int) -> DatabaseUnusableError:
    return DatabaseUnusableError(
        path,
        f"was written by a newer draftroom (schema {found}, this version knows {known})",
        "upgrade draftroom, or set DRAFTROOM_DB to another file",
    )


def migration_failed(path: Path, number: int, exc: sqlite3.Error) -> DatabaseUnusableError:
    return DatabaseUnusableError(
        path,
        f"is not a draftroom database, or its tables are damaged "
        f"(migration {number:04d} failed: {one_line(str(exc))})",
        RESTORE,
    )
