"""The instrument catalogue, ensemble templates and keyswitch maps.

All three are data (``arrange/data/instruments.toml``, ``ensembles.toml``,
``keyswitches.toml``) with their sources named in the files; this module reads them
strictly: an unknown key, a range out of order, a program outside 0-127, a section that
is not a stem or a comfortable range outside the professional one is an error naming the
file, the table and the key. A broken package table raises ``ScoreError`` (naming
``scorefarm.arrange/data/...``); a broken user file raises ``InputError`` naming the file.
Both exit 2.

Pitches are sounding MIDI note numbers (60 = C4); ``sounding = written + transposition``.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scorefarm.arrange.sections import SECTION_ORDER
from scorefarm.errors import InputError, ScoreError

ARTICULATIONS = ("sustain", "legato", "staccato", "spiccato", "tenuto", "accent",
                 "pizzicato", "tremolo", "marcato")
#: GM-program variants an instrument may name: articulations and a few other colours.
VARIANTS = ARTICULATIONS + ("section", "muted", "oohs")
CLEFS = ("treble", "alto", "tenor", "bass", "treble-8vb", "percussion")
TIERS = ("professional", "comfortable")
SWITCH_KINDS = ("note", "cc", "program")
PACKAGE = "package"
_DATA = "scorefarm.arrange/data"


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    abbreviation: str
    section: str  # one of SECTION_ORDER: the stem it renders into
    score_order: int
    low: int  # professional sounding range, MIDI, inclusive
    high: int
    comfortable_low: int
    comfortable_high: int
    transposition: int  # sounding = written + transposition
    clef: str
    program: int  # GM, 0-based
    variants: Mapping[str, int]  # articulation -> GM program
    polyphony: int
    unpitched: bool = False
    gm_drum_note: int | None = None
    also_called: tuple[str, ...] = ()  # other names a score or a sketch's track gives it

    def in_range(self, pitch: int, tier: str = "professional") -> bool:
        """Whether sounding ``pitch`` lies in the professional (or comfortable) range."""
        if tier == "professional":
            return self.low <= pitch <= self.high
        if tier == "comfortable":
            return self.comfortable_low <= pitch <= self.comfortable_high
        raise ValueError(f"tier {tier!r}; allowed: {', '.join(TIERS)}")

    def written(self, sounding: int) -> int:
        """The written pitch of a sounding one (a B-flat clarinet's sounding C4 is D4)."""
        return sounding - self.transposition

    @property
    def sounds_octave_down(self) -> bool:
        """Written an octave over its sound (the double bass, the contrabassoon): in an
        ensemble it doubles the bass line an octave below rather than lead it."""
        return self.transposition == -12


@dataclass(frozen=True)
class EnsemblePart:
    label: str  # the track name as a score shows it
    instrument: Instrument
    players: int
    max_notes: int  # divisi if given, else the instrument's polyphony

    @property
    def centre(self) -> float:
        """The middle of the instrument's comfortable range (sounding MIDI)."""
        return (self.instrument.comfortable_low + self.instrument.comfortable_high) / 2


@dataclass(frozen=True)
class Ensemble:
    name: str
    description: str
    parts: tuple[EnsemblePart, ...]  # in score order
    source: str  # "package" or the user file's path


@dataclass(frozen=True)
class KeyswitchMap:
    library: str
    source: str
    switches: Mapping[str, Mapping[str, int]]  # instrument key or section -> articulation -> number
    kind: str = "note"  # "note" (keyswitch note), "cc" (value of `controller`) or "program"
    controller: int | None = None
    velocities: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # where a switch has one

    def _table(self, instrument: Instrument, articulation: str) -> str | None:
        for key in (instrument.key, instrument.section):  # the instrument's own entry first
            if articulation in self.switches.get(key, {}):
                return key
        return None

    def switch_for(self, instrument: Instrument, articulation: str) -> int | None:
        """The keyswitch note (or CC value, or program) for ``articulation`` ("long" is
        "sustain") on ``instrument``: its own entry, else its section's; None if neither."""
        articulation = "sustain" if articulation == "long" else articulation
        key = self._table(instrument, articulation)
        return None if key is None else self.switches[key][articulation]

    def velocity_for(self, instrument: Instrument, articulation: str) -> int | None:
        """The keyswitch note's velocity where the library reads it, else None (any)."""
        articulation = "sustain" if articulation == "long" else articulation
        key = self._table(instrument, articulation)
        return None if key is None else self.velocities.get(key, {}).get(articulation)


# -- reading helpers ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where a value sits; raises errors that say so (ScoreError for package data)."""

    path: str
    place: str
    package: bool

    def at(self, place: str) -> _Where:
        return _Where(self.path, place, self.package)

    def fail(self, key: str | None, problem: str) -> InputError:
        where = ": ".join(p for p in (self.place, key and f"key '{key}'") if p)
        error = ScoreError if self.package else InputError
        return error(f"{where}: {problem}" if where else problem, self.path)

    def wrong(self, key: str, value: Any, allowed: str) -> InputError:
        return self.fail(key, f"received {value!r}; allowed: {allowed}")

    def mapping(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise self.fail(None, f"received {value!r}; allowed: a table")
        return value

    def table(self, value: Any, allowed: Sequence[str], required: Sequence[str] = ()) -> dict:
        for key in self.mapping(value):
            if key not in allowed:
                raise self.fail(key, f"unknown key; {_hint(key, allowed)}allowed: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                raise self.fail(key, "missing")
        return value

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.wrong(key, value, "a non-empty string")
        return value

    def integer(self, key: str, value: Any, low: int = 0, high: int = 127) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.wrong(key, value, f"an integer from {low} to {high}")
        return value

    def choice(self, key: str, value: Any, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise self.fail(key, f"received {value!r}; {_hint(str(value), allowed)}allowed: {', '.join(allowed)}")
        return value

    def span(self, key: str, value: Any) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.wrong(key, value, "[low, high], two MIDI notes")
        low, high = (self.integer(key, v) for v in value)
        if low > high:
            raise self.fail(key, f"low {low} is above high {high}")
        return low, high


def _hint(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _load(name: str | Path, package: bool = False) -> tuple[dict, _Where]:
    """A package data file (``name`` under arrange/data) or a user's file, parsed."""
    where = _Where(f"{_DATA}/{name}" if package else str(name), "", package)
    try:
        if package:
            text = resources.files("scorefarm.arrange").joinpath(f"data/{name}").read_text(encoding="utf-8")
        else:
            text = Path(name).read_text(encoding="utf-8")
        return tomllib.loads(text), where
    except FileNotFoundError:
        raise where.fail(None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise where.fail(None, f"cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise where.fail(None, f"not valid TOML ({exc})") from None


def _paths(extra: Sequence[str | Path] | str | Path) -> tuple[str | Path, ...]:
    return (extra,) if isinstance(extra, (str, Path)) else tuple(extra)


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


# -- instruments --------------------------------------------------------------------------

_INSTRUMENT_KEYS = ("name", "abbreviation", "section", "score_order", "range", "comfortable",
                    "transposition", "clef", "program", "variants", "polyphony", "unpitched",
                    "gm_drum_note", "also_called")


@functools.cache
def instruments() -> Mapping[str, Instrument]:
    """The package's instrument catalogue, by key, in score order."""
    data, where = _load("instruments.toml", package=True)
    data = where.table(data, ("source", "instruments"), ("source", "instruments"))
    tables = where.at("[instruments]").mapping(data["instruments"])
    found = [_read_instrument(key, table, where.at(f"[instruments.{key}]"))
             for key, table in tables.items()]
    _check_other_names(found, where)
    return _frozen({i.key: i for i in sorted(found, key=lambda i: i.score_order)})


def _check_other_names(found: list[Instrument], where: _Where) -> None:
    """An ``also_called`` name names one instrument: not two, and not another's own name."""
    from scorefarm.arrange.sections import name_forms

    owner = {name_forms(n)[0]: i.key for i in found for n in (i.key.replace("-", " "), i.name)}
    for instrument in found:
        for name in instrument.also_called:
            form = name_forms(name)[0]
            if owner.setdefault(form, instrument.key) != instrument.key:
                raise where.at(f"[instruments.{instrument.key}]").fail(
                    "also_called", f"{name!r} already names {owner[form]!r}")


def _read_instrument(key: str, table: Any, where: _Where) -> Instrument:
    unpitched = where.mapping(table).get("unpitched", False)
    if not isinstance(unpitched, bool):
        raise where.wrong("unpitched", unpitched, "true or false")
    required = ("name", "abbreviation", "section", "score_order", "clef", "program", "polyphony",
                *(("gm_drum_note",) if unpitched else ("range", "comfortable", "transposition")))
    table = where.table(table, _INSTRUMENT_KEYS, required)
    drum_note = None
    if unpitched:  # the GM Level 1 percussion key map covers notes 35-81
        drum_note = where.integer("gm_drum_note", table["gm_drum_note"], 35, 81)
    elif "gm_drum_note" in table:
        raise where.fail("gm_drum_note", "only for an instrument with unpitched = true")
    low, high = where.span("range", table.get("range", [drum_note, drum_note]))
    comfortable = where.span("comfortable", table.get("comfortable", [low, high]))
    if not (low <= comfortable[0] and comfortable[1] <= high):
        raise where.fail("comfortable", f"{list(comfortable)} is not inside range {[low, high]}")
    variants = where.table(table.get("variants", {}), VARIANTS)
    also_called = table.get("also_called", [])
    if not isinstance(also_called, list) or not all(isinstance(n, str) and n.strip() for n in also_called):
        raise where.wrong("also_called", also_called, "a list of names")
    return Instrument(
        key=key,
        name=where.text("name", table["name"]),
        abbreviation=where.text("abbreviation", table["abbreviation"]),
        section=where.choice("section", table["section"], SECTION_ORDER),
        score_order=where.integer("score_order", table["score_order"], 0, 10_000),
        low=low, high=high, comfortable_low=comfortable[0], comfortable_high=comfortable[1],
        transposition=where.integer("transposition", table.get("transposition", 0), -36, 36),
        clef=where.choice("clef", table["clef"], CLEFS),
        program=where.integer("program", table["program"]),
        variants=_frozen({a: where.integer(f"variants.{a}", p) for a, p in variants.items()}),
        polyphony=where.integer("polyphony", table["polyphony"], 1, 88),
        unpitched=unpitched,
        gm_drum_note=drum_note,
        also_called=tuple(also_called),
    )


def instrument(key: str) -> Instrument:
    """The instrument called ``key``; an unknown key is an InputError listing the known."""
    known = instruments()
    if key not in known:
        raise InputError(f"unknown instrument {key!r}; {_hint(key, list(known))}"
                         f"known: {', '.join(sorted(known))}")
    return known[key]


# -- ensembles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Definition:
    name: str
    description: str
    extends: str | None
    parts: tuple[EnsemblePart, ...]  # as listed
    source: str
    where: _Where


def _read_ensembles(data: dict, where: _Where, source: str) -> list[_Definition]:
    data = where.table(data, ("source", "ensembles"), ("ensembles",))
    tables = where.at("[ensembles]").mapping(data["ensembles"])
    return [_read_ensemble(name, table, where.at(f"[ensembles.{name}]"), source)
            for name, table in tables.items()]


def _read_ensemble(name: str, table: Any, where: _Where, source: str) -> _Definition:
    table = where.table(table, ("description", "extends", "parts"), ("description", "parts"))
    extends = table.get("extends")
    if extends is not None:
        where.text("extends", extends)
    if not isinstance(table["parts"], list) or not (table["parts"] or extends):
        raise where.wrong("parts", table["parts"], "a non-empty list of part tables")
    parts = tuple(_read_part(t, where.at(f"{where.place} parts[{i}]"))
                  for i, t in enumerate(table["parts"]))
    return _Definition(name, where.text("description", table["description"]), extends,
                       parts, source, where)


def _read_part(table: Any, where: _Where) -> EnsemblePart:
    table = where.table(table, ("label", "instrument", "players", "divisi"), ("label", "instrument"))
    known = instruments()
    inst = known[where.choice("instrument", table["instrument"], list(known))]
    players = where.integer("players", table.get("players", 1), 1, 200)
    most = players * inst.polyphony
    max_notes = where.integer("divisi", table.get("divisi", inst.polyphony), 1, most)
    return EnsemblePart(where.text("label", table["label"]), inst, players, max_notes)


def _resolve(definitions: Mapping[str, _Definition]) -> dict[str, Ensemble]:
    """Ensembles from their definitions: ``extends`` followed, parts put in score order."""

    def parts_of(name: str, chain: tuple[str, ...]) -> list[EnsemblePart]:
        d = definitions[name]
        inherited: list[EnsemblePart] = []
        if d.extends is not None:
            if d.extends in chain + (name,):
                raise d.where.fail("extends", f"{' -> '.join(chain + (name, d.extends))} is a cycle")
            if d.extends not in definitions:
                raise d.where.fail("extends", f"unknown ensemble {d.extends!r}; known: "
                                   f"{', '.join(sorted(definitions))}")
            inherited = parts_of(d.extends, chain + (name,))
        own = list(d.parts)
        labels = [p.label for p in inherited + own]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise d.where.fail("parts", f"labels used twice: {', '.join(twice)}")
        return inherited + own

    return {name: Ensemble(name, d.description,
                           tuple(sorted(parts_of(name, ()), key=lambda p: p.instrument.score_order)),
                           d.source)
            for name, d in definitions.items()}


@functools.cache
def _package_definitions() -> tuple[_Definition, ...]:
    return tuple(_read_ensembles(*_load("ensembles.toml", package=True), PACKAGE))


def _user_definitions(path: str | Path) -> list[_Definition]:
    return _read_ensembles(*_load(path), str(path))


def ensembles(extra: Sequence[str | Path] = ()) -> Mapping[str, Ensemble]:
    """The package's ensembles and those of the user's TOML files ``extra`` (read in
    order; a later definition of a name replaces an earlier one, a package one included)."""
    definitions = {d.name: d for d in _package_definitions()}
    for path in _paths(extra):
        definitions.update((d.name, d) for d in _user_definitions(path))
    return _frozen(_resolve(definitions))


def _looks_like_path(name: str) -> bool:
    return name.lower().endswith(".toml") or "/" in name or "\\" in name


def load_ensemble(name: str, extra: Sequence[str | Path] = ()) -> Ensemble:
    """The ensemble called ``name`` (package or ``extra``), or the one a TOML file at path
    ``name`` defines (a file defining several: the one named like the file)."""
    extra = _paths(extra)
    if _looks_like_path(name):
        own = [d.name for d in _user_definitions(name)]
        known = ensembles((*extra, name))
        if len(own) == 1:
            return known[own[0]]
        if Path(name).stem in own:
            return known[Path(name).stem]
        raise InputError(f"defines {len(own)} ensembles ({', '.join(own)}) and none is named "
                         f"{Path(name).stem!r}; give one of them by name with the file as an "
                         f"extra ensemble file", name)
    known = ensembles(extra)
    if name not in known:
        raise InputError(f"unknown ensemble {name!r}; {_hint(name, list(known))}known: "
                         f"{', '.join(sorted(known))}")
    return known[name]


# -- keyswitch maps -----------------------------------------------------------------------


def _read_keyswitch_maps(data: dict, where: _Where) -> dict[str, KeyswitchMap]:
    data = where.table(data, ("libraries",), ("libraries",))
    libraries = where.at("[libraries]").mapping(data["libraries"])
    return {name: _read_keyswitch_map(name, table, where.at(f"[libraries.{name}]"))
            for name, table in libraries.items()}


def _read_keyswitch_map(name: str, table: Any, where: _Where) -> KeyswitchMap:
    table = where.table(table, ("source", "kind", "controller", "switches"), ("source", "switches"))
    kind = where.choice("kind", table.get("kind", "note"), SWITCH_KINDS)
    controller = None
    if kind == "cc":
        if "controller" not in table:
            raise where.fail("controller", 'missing (kind = "cc" needs the controller number)')
        controller = where.integer("controller", table["controller"])
    elif "controller" in table:
        raise where.fail("controller", "only for kind = \"cc\"")
    targets = [*SECTION_ORDER, *instruments()]
    switches, velocities = {}, {}
    for target, entries in where.table(table["switches"], targets).items():
        here = where.at(f"[libraries.{name}.switches.{target}]")
        notes, vels = {}, {}
        for articulation, value in here.table(entries, ARTICULATIONS).items():
            if isinstance(value, dict):
                value = here.at(f"{here.place} {articulation}").table(value, ("note", "velocity"), ("note",))
                if "velocity" in value and kind != "note":
                    raise here.fail(articulation, "a velocity only goes with kind = \"note\"")
                if "velocity" in value:
                    vels[articulation] = here.integer(f"{articulation}.velocity", value["velocity"], 1, 127)
                value = value["note"]
            notes[articulation] = here.integer(articulation, value)
        switches[target] = _frozen(notes)
        if vels:
            velocities[target] = _frozen(vels)
    return KeyswitchMap(name, where.text("source", table["source"]), _frozen(switches),
                        kind, controller, _frozen(velocities))


@functools.cache
def _package_keyswitch_maps() -> Mapping[str, KeyswitchMap]:
    return _read_keyswitch_maps(*_load("keyswitches.toml", package=True))


def keyswitch_maps(extra: Sequence[str | Path] = ()) -> Mapping[str, KeyswitchMap]:
    """The package's keyswitch maps and those of the user's TOML files ``extra`` (a later
    library of the same name replaces an earlier one)."""
    maps = dict(_package_keyswitch_maps())
    for path in _paths(extra):
        maps.update(_read_keyswitch_maps(*_load(path)))
    return _frozen(maps)
