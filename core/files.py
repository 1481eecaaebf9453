"""Atomic output: every file is written to a temporary name beside its target and
renamed into place, so an interrupted run never leaves a truncated file
(``temporary_name``; ``is_temporary_name`` tells a killed run's leftovers).

``check_output`` refuses, before any work is done, an output that cannot be right:
a wrong suffix, an existing folder, the input itself (``check_not_input``), or a
place that cannot be written; ``check_output_folder`` does the same for a folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Iterator

from .errors import OutputError


# The name a file has while it is written: ".<target's name>.<8 hex digits>.part",
# hidden, beside its target, with a random token so that two writers never share it.
# ``temporary_name`` makes such names and ``is_temporary_name`` recognizes them (the
# sweep of a killed run's leftovers), so the two cannot drift apart.
_TOKEN_HEX_DIGITS = 8
_TEMPORARY_NAME = re.compile(rf"\.(?P<target>[^/]+)\.[0-9a-f]{{{_TOKEN_HEX_DIGITS}}}\.part")
_MAX_NAME_TRIES = 100
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)  # as tempfile.mkstemp


def temporary_name(target_name: str) -> str:
    """A fresh temporary name for a file to be renamed to ``target_name``."""
    return f".{target_name}.{secrets.token_hex(_TOKEN_HEX_DIGITS // 2)}.part"


def is_temporary_name(name: str, suffixes: tuple[str, ...] = ()) -> bool:
    """Is ``name`` one that ``temporary_name`` gives (and, when ``suffixes`` are given,
    that of a target whose name ends with one of them)?"""
    match = _TEMPORARY_NAME.fullmatch(name)
    return match is not None and (not suffixes or match["target"].endswith(suffixes))


def _make_temporary(folder: Path, target_name: str) -> Path:
    """Create an empty file with a fresh temporary name in ``folder`` (mode 0600, never
    an existing file or link: O_EXCL) and return its path."""
    for _ in range(_MAX_NAME_TRIES):
        path = folder / temporary_name(target_name)
        try:
            fd = os.open(path, _CREATE_FLAGS, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free temporary name for {target_name} after {_MAX_NAME_TRIES} tries")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it onto ``target``
    when the block succeeds, remove it when the block raises."""
    target = Path(target)
    if target.is_dir():
        raise OutputError("is a folder; give a file name for the output", target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp_path = _make_temporary(folder, target.name)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", folder) from None
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        try:
            os.replace(tmp_path, target)
        except OSError as exc:  # e.g. a folder made at the target while we worked
            raise OutputError(f"cannot write the file here ({exc.strerror or exc})", target) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def check_output(path: str | Path, suffixes: tuple[str, ...], kind: str, *,
                 inputs: tuple[str | Path, ...] = ()) -> Path:
    """Refuse an output that is not ``kind`` by its suffix (one of ``suffixes``,
    lower case), that is an existing folder, that is one of ``inputs`` (which it
    would overwrite), or whose folder cannot be written. Called before the work,
    so nothing is done in vain."""
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a folder; give a file name for the output", path)
    if path.suffix.lower() not in suffixes:
        allowed = " or ".join(suffixes)
        raise OutputError(f"output must be {kind} ({allowed}), got {path.suffix or 'no suffix'!r}", path)
    check_not_input(path, inputs)
    _check_writable(path.parent, path.name)
    return path


def check_output_folder(path: str | Path, *, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Refuse, before the work, an output folder that is an existing file, that is
    one of ``inputs``, or that cannot be made and written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError("is a file; give a folder for the output", path)
    check_not_input(path, inputs, instead="give another output folder")
    _check_writable(path, "probe")
    return path


def _check_writable(folder: Path, name: str) -> None:
    """Probe the nearest existing folder on the way to ``folder`` with a temporary
    file, made and removed at once: nothing is left, not even the missing folders
    (the writer makes those). A refusal names the folder at fault: the first missing
    one when the folders cannot be made (``-o /proc/nope/x.mid``: /proc/nope, not
    /proc), a file standing where a folder should be, or the folder not writable."""
    existing, missing = _nearest_existing(Path(folder))
    if not os.path.isdir(existing):
        raise OutputError("cannot write here: a file, not a folder", existing)
    try:
        probe = _make_temporary(existing, name)
    except OSError as exc:
        reason = exc.strerror or exc
        if missing is not None:
            raise OutputError(f"no such folder, and it cannot be made in {existing} ({reason})", missing) from None
        raise OutputError(f"cannot write here ({reason})", existing) from None
    os.unlink(probe)


def _nearest_existing(folder: Path) -> tuple[Path, Path | None]:
    """The nearest folder (or file) on the way up from ``folder`` that exists, and the
    missing one just under it (None when ``folder`` itself exists). A path that cannot
    be looked at (no permission) counts as existing: the probe there says why."""
    missing = None
    while folder != folder.parent:
        try:
            os.stat(folder)
            break
        except (FileNotFoundError, NotADirectoryError):  # missing, or under a file
            folder, missing = folder.parent, folder
        except OSError:
            break
    return folder, missing


def check_not_input(path: str | Path, inputs: tuple[str | Path, ...], *,
                    instead: str = "give another output name") -> None:
    """Refuse an output ``path`` that is one of ``inputs`` (the same file, however
    named): writing it would destroy the input. ``instead`` says what to do."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and os.path.samefile(path, source):
            raise OutputError(f"would overwrite the input {source}; {instead}", path)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
