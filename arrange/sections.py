"""Which orchestral section (stem) a track belongs to.

The table is data (``arrange/data/gm_sections.toml``): General MIDI program ranges ->
section, the fixed stem order, and a small table of orchestral instrument names. A stem
holds what it sounds like, so a track's section is decided by the sound FluidSynth
renders for it:

1. ``is_drum``: every drum track is percussion (its program picks no sound);
2. otherwise its GM program.

A track's name never moves it to another stem: "Soprano" on program 48 sounds like a
string ensemble and goes to strings, "Violin I" on program 0 (which a sketch that sets
no program has) sounds like a piano and goes to keys, alongside a "Bass" on program 0.
A name that names an instrument of another section is said instead
(``misnamed_tracks``), so the composer knows why a stem is missing or appears.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from scorefarm.errors import ScoreError

DATA_RESOURCE = "data/gm_sections.toml"
_WHERE = f"scorefarm.arrange/{DATA_RESOURCE}"
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8}  # desk numbers
_KEYS = {"c", "d", "e", "f", "g", "a", "b", "bb", "eb", "ab", "db", "gb", "f#", "c#"}


class TrackLike(Protocol):
    name: str
    program: int
    is_drum: bool


@dataclass(frozen=True)
class SectionTable:
    order: tuple[str, ...]
    drums: str
    by_program: tuple[str, ...]  # 128 entries
    by_name: dict[str, str]
    source: str


def _fail(message: str) -> ScoreError:
    # A broken package-data table is a packaging bug, but it must still say where.
    return ScoreError(message, _WHERE)


def _check_keys(table: dict, allowed: set[str], what: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise _fail(f"{what}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


@functools.cache
def section_table() -> SectionTable:
    """The package's table (``arrange/data/gm_sections.toml``), loaded and checked."""
    return parse_section_table(
        resources.files("scorefarm.arrange").joinpath(DATA_RESOURCE).read_text(encoding="utf-8"))


def parse_section_table(text: str) -> SectionTable:
    """A section table from TOML ``text``: every program 0-127 in exactly one range of a
    section named in the stem order; any unknown key is an error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not valid TOML ({exc})") from None
    _check_keys(data, {"source", "stems", "programs", "names"}, "top level")
    missing = {"source", "stems", "programs"} - set(data)
    if missing:
        raise _fail(f"missing keys {sorted(missing)}")
    _check_keys(data["stems"], {"order", "drums"}, "[stems]")
    order = tuple(data["stems"]["order"])
    if len(set(order)) != len(order):
        raise _fail(f"[stems] order repeats a section: {list(order)}")
    drums = data["stems"]["drums"]
    if drums not in order:
        raise _fail(f"[stems] drums = {drums!r} is not in the order {list(order)}")
    by_program: list[str | None] = [None] * 128
    for rng in data["programs"]:
        _check_keys(rng, {"first", "last", "section", "gm"}, f"[[programs]] {rng}")
        first, last, section = rng["first"], rng["last"], rng["section"]
        if section not in order:
            raise _fail(f"programs {first}-{last}: section {section!r} is not one of {list(order)}")
        if not 0 <= first <= last <= 127:
            raise _fail(f"programs {first}-{last}: a range must lie within 0-127")
        for program in range(first, last + 1):
            if by_program[program] is not None:
                raise _fail(f"program {program} is in two ranges ({by_program[program]}, {section})")
            by_program[program] = section
    missing = [p for p, s in enumerate(by_program) if s is None]
    if missing:
        raise _fail(f"programs {missing} belong to no section")
    by_name = {}
    for name, section in data.get("names", {}).items():
        if section not in order:
            raise _fail(f"[names] {name!r} = {section!r} is not one of {list(order)}")
        by_name[_normalise(name)] = section
    return SectionTable(order, drums, tuple(by_program), by_name, data["source"])  # type: ignore[arg-type]


def _normalise(name: str) -> str:
    return " ".join(re.findall(r"[a-z0-9#\-]+", name.lower().replace("♭", "b").replace("♯", "#")))


def _strip_desk_and_key(words: list[str]) -> list[str]:
    """'horn in f 3' -> 'horn'; 'horns 3-4' -> 'horns'; '1st violins' -> 'violins';
    'clarinet in bb' -> 'clarinet'."""
    while words and re.fullmatch(r"\d+(st|nd|rd|th)?", words[0]) and len(words) > 1:
        words = words[1:]
    changed = True
    while changed and words:
        changed = False
        if len(words) > 1 and (re.fullmatch(r"\d+(-\d+)?", words[-1]) or words[-1] in ROMAN):
            words, changed = words[:-1], True
        if len(words) > 2 and words[-2] == "in" and words[-1] in _KEYS:
            words, changed = words[:-2], True
    return words


def name_forms(name: str) -> list[str]:
    """The forms of a track or instrument name to look up, lower-case without desk numbers
    or key ("Violins I" -> 'violins', 'violin'; "Horn in F" -> 'horn'), then without a
    plural "s" or "es"."""
    base = " ".join(_strip_desk_and_key(_normalise(name).split()))
    forms = (base, base[:-1] if base.endswith("s") else None, base[:-2] if base.endswith("es") else None)
    return [form for form in forms if form]


def section_for_name(name: str) -> str | None:
    """The section a track name names, or None when the name is not a known instrument."""
    by_name = section_table().by_name
    return next((by_name[form] for form in name_forms(name) if form in by_name), None)


def section_for_program(program: int, is_drum: bool = False) -> str:
    """The section of a GM program (0-127); every drum track is percussion."""
    table = section_table()
    if is_drum:
        return table.drums
    if not 0 <= program <= 127:
        raise ScoreError(f"MIDI program {program} is out of range; allowed: 0-127")
    return table.by_program[program]


def section_for_track(track: TrackLike) -> str:
    """The stem a track renders into: what it sounds like, its GM program (every drum
    track: percussion). Its name plays no part (see the module's docstring)."""
    return section_for_program(track.program, track.is_drum)


def misnamed_tracks(tracks) -> str | None:
    """One sentence naming the pitched tracks (with notes) whose names name an
    instrument of another section than the one their program sounds in, or None."""
    found: dict[tuple[str, int, str], list[str]] = {}
    for track in tracks:
        if track.is_drum or not track.note_num():
            continue
        named = section_for_name(track.name or "")
        sounds = section_for_program(track.program)
        if named is not None and named != sounds:
            found.setdefault((named, track.program, sounds), []).append(repr(track.name))
    if not found:
        return None
    parts = [f"{', '.join(names)} (names of {named}) play program {program}, in the {sounds} stem"
             for (named, program, sounds), names in found.items()]
    return "stems follow each track's GM program, the sound rendered, not its name: " + "; ".join(parts)


def order_sections(sections) -> list[str]:
    """``sections`` (any iterable of section names) in the fixed stem order."""
    rank = {s: i for i, s in enumerate(SECTION_ORDER)}
    return sorted(set(sections), key=rank.__getitem__)


#: The fixed stem order: strings, woodwinds, brass, percussion, keys, choir, synths.
SECTION_ORDER: tuple[str, ...] = section_table().order
