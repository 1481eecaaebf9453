"""Fixing voice leading by re-voicing the inner voices.

The fixer never touches the top voice, and the bass only when asked (then only
by octaves). At every verticality the inner voices may take any pitch of the
pitch classes sounding there, within their ranges and without crossing, as
long as the verticality keeps all its pitch classes: the harmony stays what it
was, only who sings which note changes. A note that was held keeps its pitch
while it is held, so the rhythm stays. Among all such re-voicings one
dynamic programme picks the one with the fewest faults (the checker's rules,
``vl_cost``), then the fewest changed notes and the smallest steps. The
result is checked again and whatever could not be fixed is said.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np

from .voiceleading import CheckOptions, CheckReport, Slices, check_voices, is_dominant, key_at
from .voices import Part, VNote, Voices, voice_ranges
from .vl_cost import PenaltyWeights, motion_penalties
from .voicing import best_path, Candidates

CHANGE_COST = 1.0  # per inner note moved away from what was written
STEP_COST = 0.05  # per semitone of melodic motion
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class FixOptions:
    move_bass: bool = False  # may the bass move by octaves?
    check: CheckOptions = field(default_factory=CheckOptions)
    penalties: PenaltyWeights = field(default_factory=lambda: PenaltyWeights(
        parallel=100.0, antiparallel=60.0, hidden=30.0, overlap=30.0, crossing=80.0, spacing=30.0))
    resolution_penalty: float = 30.0  # unresolved leading tone or seventh


@dataclass
class FixResult:
    voices: Voices
    before: CheckReport
    after: CheckReport
    notes: list[str]

    @property
    def fixed(self) -> int:
        return max(0, len(self.before.faults) - len(self.after.faults))

    def to_json(self, out: str | None = None) -> str:
        return json.dumps({
            "output": out,
            "before": json.loads(self.before.to_json()),
            "after": json.loads(self.after.to_json()),
            "notes": self.notes,
        }, indent=2)


def fix_voices(voices: Voices, options: FixOptions = FixOptions()) -> FixResult:
    before = check_voices(voices, options.check)
    count = len(voices.parts)
    if count < 2 or (count < 3 and not options.move_bass):
        notes = [f"only {count} voice(s): there are no inner voices to re-voice"]
        return FixResult(voices, before, before, notes)
    if not before.faults:
        return FixResult(voices, before, before, ["no faults to fix"])
    slices = Slices(voices, options.check.grid_ticks)
    movable = list(range(1, count - 1)) + ([count - 1] if options.move_bass else [])
    lattice = [_candidates(voices, slices, k, movable, options) for k in range(len(slices.ticks))]
    held = [_held(slices, k) for k in range(len(slices.ticks))]
    rules = _resolution_rules(slices, before.keys or [(0, 0, "major")], count)

    def moves(k: int) -> np.ndarray:
        P, Q = lattice[k - 1].pitches, lattice[k].pitches
        score = -motion_penalties(P, Q, options.penalties)
        steps = np.abs(np.where((P[:, None, :] >= 0) & (Q[None, :, :] >= 0), Q[None, :, :] - P[:, None, :], 0))
        score = score - STEP_COST * steps[..., movable].sum(-1)
        for v in movable:
            if held[k][v]:  # a held note keeps its pitch
                score = np.where(P[:, None, v] != Q[None, :, v], -1e6, score)
        return score - options.resolution_penalty * _resolution_faults(P, Q, rules[k], count)

    path = best_path(lattice, moves)
    chosen = [lattice[k].pitches[i] for k, i in enumerate(path)]
    fixed = voices.with_parts(_rebuild(voices, slices, chosen, movable))
    after = check_voices(fixed, options.check)
    notes = _summary(before, after, movable, voices)
    return FixResult(fixed, before, after, notes)


def _resolution_rules(slices: Slices, keys, count: int) -> list[tuple[int, int, int]]:
    """Per verticality k: (leading-tone pc that must rise into k or -1, the key's fifth pc,
    seventh pc that must fall into k or -1)."""
    rules = [(-1, -1, -1)]
    chords = [slices.chord(k) for k in range(len(slices.ticks))]
    for k in range(1, len(slices.ticks)):
        prev, cur = chords[k - 1], chords[k]
        tonic, mode = key_at(keys, slices.ticks[k])
        lt = -1
        if prev is not None and cur is not None and is_dominant(prev, tonic):
            six = (tonic + (8 if mode == "minor" else 9)) % 12
            if (cur.root == tonic and cur.triad in ("major", "minor")) or cur.root == six:
                lt = (tonic + 11) % 12
        seventh = -1
        if prev is not None and cur is not None and prev.seventh_pc() is not None and cur.root != prev.root:
            seventh = prev.seventh_pc()
        rules.append((lt, (tonic + 7) % 12, seventh))
    return rules


def _resolution_faults(P: np.ndarray, Q: np.ndarray, rule: tuple[int, int, int], count: int) -> np.ndarray:
    lt, fifth, seventh = rule
    shape = (P.shape[0], Q.shape[0])
    if lt < 0 and seventh < 0:
        return np.zeros(shape)
    P3, Q3 = P[:, None, :], Q[None, :, :]
    ok = (P3 >= 0) & (Q3 >= 0)
    step = np.where(ok, Q3 - P3, 0)
    faults = np.zeros(shape)
    if lt >= 0:
        has = ok & (P3 % 12 == lt) & (step != 1)
        inner = np.zeros(count, dtype=bool)
        inner[1:-1] = True
        frustrated = inner & (step >= -4) & (step <= -3) & (Q3 % 12 == fifth)
        faults = faults + (has & ~frustrated).sum(-1)
    if seventh >= 0:
        moved = step != 0
        faults = faults + (ok & moved & (P3 % 12 == seventh) & ~((step == -1) | (step == -2))).sum(-1)
    return faults


def fix_file(source, out, options: FixOptions = FixOptions()) -> FixResult:
    """Re-voice the inner voices of ``source`` (MIDI or MusicXML) and write ``out`` (MIDI)."""
    from .score_io import save_score
    from .voices import check_midi_output, load_voices, voices_to_score

    out = check_midi_output(out)
    voices, score = load_voices(source)
    result = fix_voices(voices, options)
    save_score(voices_to_score(result.voices, score, programs=_programs(score, voices)), out)
    return result


def _programs(score, voices: Voices) -> dict[str, int]:
    """Keep each voice's GM program when it came from a track of its own."""
    by_name = {t.name: t.program for t in score.tracks}
    return {p.name: by_name.get(p.name, 52) for p in voices.parts}


def _held(slices: Slices, k: int) -> list[bool]:
    """Per voice: does it hold the note of the previous verticality?"""
    out = []
    for v in range(len(slices.pitch)):
        idx = slices.note_index[v]
        out.append(k > 0 and idx[k] is not None and idx[k] == idx[k - 1])
    return out


def _candidates(voices: Voices, slices: Slices, k: int, movable: list[int], options: FixOptions) -> Candidates:
    original = [row[k] for row in slices.pitch]
    sounding = [p for p in original if p is not None]
    pcs = {p % 12 for p in sounding}
    table = voice_ranges(options.check.range_table)
    choices: list[list[int]] = []
    for v, pitch in enumerate(original):
        if pitch is None:
            choices.append([-1])
        elif v not in movable:
            choices.append([pitch])
        elif v == len(original) - 1:  # the bass keeps its pitch class
            low, high = _range(voices.parts[v].name, pitch, table)
            choices.append(sorted({p for p in range(low, high + 1) if p % 12 == pitch % 12} | {pitch}))
        else:
            low, high = _range(voices.parts[v].name, pitch, table)
            choices.append(sorted({p for p in range(low, high + 1) if p % 12 in pcs} | {pitch}))
    rows, costs = [], []
    for combo in itertools.product(*choices):
        if {p % 12 for p in combo if p >= 0} != pcs:
            continue  # the harmony must stay whole
        playing = [p for p in combo if p >= 0]
        if any(a < b for a, b in zip(playing, playing[1:])) and combo != tuple(p if p is not None else -1 for p in original):
            continue  # no new crossings
        changed = sum(1 for v in movable if combo[v] != (original[v] if original[v] is not None else -1))
        rows.append(combo)
        costs.append(-CHANGE_COST * changed - _static_faults(combo, voices, table, options))
    original_row = tuple(-1 if p is None else p for p in original)
    if original_row not in rows:
        rows.append(original_row)
        costs.append(-_static_faults(original_row, voices, table, options))
    order = np.argsort(-np.asarray(costs), kind="stable")[:MAX_CANDIDATES]
    pitches = np.asarray([rows[i] for i in order], dtype=np.int64)
    return Candidates(np.zeros(len(order), dtype=np.int64), pitches, np.asarray([costs[i] for i in order]))


def _static_faults(combo, voices: Voices, table, options: FixOptions) -> float:
    """Penalty for what one verticality can be wrong in by itself: each note out of
    range and each too-wide upper spacing costs ``penalties.spacing``."""
    bad = 0
    for v, pitch in enumerate(combo):
        name = voices.parts[v].name
        if pitch >= 0 and name in table and not table[name][0] <= pitch <= table[name][1]:
            bad += 1
    for v in range(len(combo) - 2):
        a, b = combo[v], combo[v + 1]
        if a >= 0 and b >= 0 and a - b > options.check.max_upper_spacing:
            bad += 1
    return options.penalties.spacing * bad


def _range(name: str, pitch: int, table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    if name in table:
        low, high = table[name]
        return min(low, pitch), max(high, pitch)
    return pitch - 12, pitch + 12


def _rebuild(voices: Voices, slices: Slices, chosen, movable: list[int]) -> list[Part]:
    parts = []
    ticks = slices.ticks
    for v, part in enumerate(voices.parts):
        if v not in movable:
            parts.append(Part(part.name, list(part.notes)))
            continue
        notes: list[VNote] = []
        for k, tick in enumerate(ticks):
            idx = slices.note_index[v][k]
            if idx is None:
                continue
            original = part.notes[idx]
            pitch = int(chosen[k][v])
            end = min(original.end, ticks[k + 1]) if k + 1 < len(ticks) else original.end
            start = tick
            if notes and notes[-1].end == start and notes[-1].pitch == pitch and idx == slices.note_index[v][k - 1]:
                notes[-1] = VNote(notes[-1].start, end, pitch)
            else:
                notes.append(VNote(start, end, pitch))
        parts.append(Part(part.name, notes))
    return parts


def _summary(before: CheckReport, after: CheckReport, movable: list[int], voices: Voices) -> list[str]:
    names = ", ".join(voices.parts[v].name for v in movable)
    fixed = len(before.faults) - len(after.faults)
    notes = [f"re-voiced {names}: {len(before.faults)} fault(s) before, {len(after.faults)} after"]
    if fixed < 0:
        notes.append("re-voicing could not avoid new faults elsewhere")
    for fault in after.faults:
        notes.append(f"could not fix: {fault.describe()}")
    return notes
