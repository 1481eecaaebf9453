"""SoundFont lookup: a catalogue name ("default", "FluidR3_GM") or a path -> `SoundFont`.

The catalogue (``scorefarm/soundfonts/catalogue.toml``) names each known SoundFont's
licence, origin and the places operating systems' packages install it. A file is
accepted only if it starts with a RIFF ``sfbk`` header (SoundFont 2; SoundFont 3, the
Ogg-compressed variant FluidSynth also reads, has the same header and ``ifil`` major
version 3). Checksums are verified only on request (`verify_soundfont`): FluidR3_GM is
a 140 MB file and hashing it costs more than rendering a short cue.
"""

from __future__ import annotations

import functools
import os
import struct
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from scorefarm.errors import SoundFontError
from scorefarm.files import sha256_file

CATALOGUE_RESOURCE = "catalogue.toml"
_ENTRY_KEYS = {"name", "aliases", "licence", "source", "install", "paths", "sha256", "sha256_of"}
_REQUIRED_KEYS = {"name", "licence", "source", "paths"}
_SOUNDFONT_VERSIONS = (2, 3)
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")


@dataclass(frozen=True)
class SoundFont:
    """A SoundFont file that exists and has a SoundFont header.

    ``name`` is the catalogue name (or the file's stem for a file not in the
    catalogue), ``licence`` the samples' licence as the catalogue records it, ``source``
    who made it and which package provides it, ``sha256`` the catalogue's checksum for
    the known build (None when unknown; see `verify_soundfont`).
    """

    name: str
    path: Path
    licence: str
    source: str
    sha256: str | None = None


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    aliases: tuple[str, ...]
    licence: str
    source: str
    install: str
    paths: tuple[Path, ...]
    sha256: str | None
    sha256_of: str | None

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@functools.cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    """The known SoundFonts, in the catalogue's order."""
    resource = resources.files("scorefarm.soundfonts").joinpath(CATALOGUE_RESOURCE)
    return parse_catalogue(resource.read_text(encoding="utf-8"), f"scorefarm.soundfonts/{CATALOGUE_RESOURCE}")


def parse_catalogue(text: str, where: str) -> tuple[CatalogueEntry, ...]:
    """Catalogue entries from TOML ``text``; unknown or missing keys and reused names are
    SoundFontErrors naming ``where``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SoundFontError(f"cannot read the SoundFont catalogue ({exc})", where) from None
    extra = set(data) - {"soundfont"}
    if extra:
        raise SoundFontError(f"unknown top-level keys {sorted(extra)}; allowed: ['soundfont']", where)
    entries = []
    seen: dict[str, str] = {}
    for raw in data.get("soundfont", []):
        label = raw.get("name", "?")
        unknown = set(raw) - _ENTRY_KEYS
        missing = _REQUIRED_KEYS - set(raw)
        if unknown or missing:
            raise SoundFontError(
                f"entry {label!r}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; "
                f"allowed: {sorted(_ENTRY_KEYS)}", where)
        entry = CatalogueEntry(
            name=raw["name"], aliases=tuple(raw.get("aliases", ())), licence=raw["licence"],
            source=raw["source"], install=raw.get("install", ""),
            paths=tuple(Path(p) for p in raw["paths"]), sha256=raw.get("sha256"),
            sha256_of=raw.get("sha256_of"))
        for alias in entry.names():
            key = alias.casefold()
            if key in seen:
                raise SoundFontError(f"name {alias!r} is used by both {seen[key]!r} and {entry.name!r}", where)
            seen[key] = entry.name
        entries.append(entry)
    return tuple(entries)


def known_names() -> list[str]:
    """'FluidR3_GM (default, fluidr3)' style labels, for error messages and --help."""
    return [f"{e.name} ({', '.join(e.aliases)})" if e.aliases else e.name for e in catalogue()]


def looks_like_path(text: str) -> bool:
    """Whether ``text`` can only be a file: it has a folder separator or a .sf2/.sf3
    suffix. Anything else may be a catalogue name (or a file in the current folder)."""
    return os.sep in text or "/" in text or Path(text).suffix.lower() in SOUNDFONT_SUFFIXES


def find_entry(name: str) -> CatalogueEntry | None:
    """The catalogue entry called ``name`` or one of its aliases (case-insensitive)."""
    key = name.strip().casefold()
    for entry in catalogue():
        if key in (n.casefold() for n in entry.names()):
            return entry
    return None


def soundfont_format(path: str | os.PathLike) -> str:
    """'sf2' or 'sf3' from the file's header; SoundFontError for anything else."""
    path = Path(path)
    if path.is_dir():
        raise SoundFontError("is a folder, not a SoundFont file", path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(36)
    except FileNotFoundError:
        raise SoundFontError("no such SoundFont file", path) from None
    except OSError as exc:
        raise SoundFontError(f"cannot read the SoundFont ({exc.strerror or exc})", path) from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(
            f"not a SoundFont: expected a RIFF 'sfbk' header (SF2/SF3), found {head[:12]!r}", path)
    # The INFO list starts with the mandatory 'ifil' version chunk (SoundFont 2.04, 5.1).
    if head[12:16] == b"LIST" and head[20:28] == b"INFO" + b"ifil":
        (major,) = struct.unpack_from("<H", head, 32)
        if major not in _SOUNDFONT_VERSIONS:
            raise SoundFontError(
                f"SoundFont version {major} is not supported; allowed: {list(_SOUNDFONT_VERSIONS)}", path)
        return f"sf{major}"
    return "sf2"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _from_path(path: Path) -> SoundFont:
    soundfont_format(path)
    path = path.absolute()
    for entry in catalogue():
        if any(_same_file(path, candidate) for candidate in entry.paths):
            return SoundFont(entry.name, path, entry.licence, entry.source, entry.sha256)
    return SoundFont(path.stem, path, "unknown (not in the SoundFont catalogue)",
                     "a file given by path", None)


def resolve_soundfont(name_or_path: str | os.PathLike) -> SoundFont:
    """A catalogue name or alias (tried at each of its install locations in order) or a
    path to a .sf2/.sf3 file. Raises SoundFontError naming what was tried."""
    text = os.fspath(name_or_path)
    if not isinstance(name_or_path, os.PathLike):
        entry = find_entry(text)
        if entry is not None:
            for candidate in entry.paths:
                if candidate.is_file():
                    soundfont_format(candidate)
                    return SoundFont(entry.name, candidate, entry.licence, entry.source, entry.sha256)
            hint = f"; install it with: {entry.install}" if entry.install else ""
            tried = ", ".join(str(p) for p in entry.paths)
            raise SoundFontError(f"SoundFont {entry.name!r} is not installed: tried {tried}{hint}", text)
    path = Path(text).expanduser()
    if path.exists():
        return _from_path(path)
    if isinstance(name_or_path, os.PathLike) or looks_like_path(text):
        raise SoundFontError("no such SoundFont file", path.absolute())
    raise SoundFontError(
        f"unknown SoundFont {text!r}: not a catalogue name (known: {'; '.join(known_names())}) "
        f"and no file at {path.absolute()}")


def verify_soundfont(soundfont: SoundFont) -> str:
    """The file's sha256; SoundFontError when the catalogue knows a different one."""
    digest = sha256_file(soundfont.path)
    if soundfont.sha256 is not None and digest != soundfont.sha256:
        entry = find_entry(soundfont.name)
        build = f" ({entry.sha256_of})" if entry and entry.sha256_of else ""
        raise SoundFontError(
            f"checksum mismatch for {soundfont.name}: sha256 {digest}, the catalogue expects "
            f"{soundfont.sha256}{build}", soundfont.path)
    return digest
