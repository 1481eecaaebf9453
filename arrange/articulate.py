"""Articulations from the notes' lengths and context, and how General MIDI plays them.

Per part, in time order, each note gets one articulation (first rule that holds):

* tremolo — strings, four or more repeats of one pitch at most a sixteenth and at
  most 0.15 s apart (how a reduction writes a measured tremolo);
* pizzicato — strings, a bass line or accompaniment figure at mf or softer, in a run
  of three or more short detached notes;
* marcato — 15 or more velocity above the part's mean around it, at f or louder,
  in strings or brass, at least half a beat long; accent — the same lift otherwise;
* spiccato — strings, short (at most half a beat) and detached (at most 60% of the
  time to the next note) and fast (next note within 0.3 s); staccato — detached and
  at most a beat long;
* tenuto — held to the next note, which repeats the pitch; legato — held to the next
  note, a fifth or less away;
* sustain — everything else (the long, default articulation of sample libraries).

A wind or brass part that doubles others breathes (``breathe``): past ``BREATH_AFTER``
seconds without a gap of ``BREATH_GAP``, the longest doubled note (chord) of the
stretch's second half is cut short by an eighth (a shorter note by half), where the
player takes a breath. The
notes of a sketch's own wind track are never cut: its composer phrased them.

``gm_rendering`` turns an articulation into what General MIDI can do: length,
velocity, and the instrument's GM program variant (pizzicato strings 45, tremolo
strings 44) where the catalogue names one.
"""

from __future__ import annotations

import numpy as np

ARTICULATIONS = ("sustain", "legato", "staccato", "spiccato", "tenuto", "accent", "pizzicato", "tremolo",
                 "marcato")
_STRINGS = ("violin", "viola", "cello", "double-bass")
# articulation -> (length factor, velocity lift); legato is joined to the next note instead
_GM = {"staccato": (0.5, 4), "spiccato": (0.35, 6), "accent": (0.9, 15), "marcato": (0.8, 25),
       "pizzicato": (1.0, 0), "tremolo": (1.0, 0), "tenuto": (1.0, 2), "legato": (1.0, 0),
       "sustain": (1.0, 0)}


def _is_string(instrument) -> bool:
    return any(instrument.key == k or instrument.key.startswith(k + "-") for k in _STRINGS)


def windowed_mean(onsets: np.ndarray, values: np.ndarray, window: int) -> np.ndarray:
    """For each note, the mean of ``values`` over the notes with onsets within
    ``window`` ticks either side (``onsets`` sorted)."""
    cum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    lo = np.searchsorted(onsets, onsets - window, side="left")
    hi = np.searchsorted(onsets, onsets + window, side="right")
    return (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1)


def seconds_per_tick(score, ticks: np.ndarray) -> np.ndarray:
    """Seconds per tick at each tick through the score's tempo map (120 bpm without one)."""
    tempos = sorted((t.time, t.qpm) for t in score.tempos) or [(0, 120.0)]
    times = np.array([t for t, _ in tempos])
    qpm = np.array([q for _, q in tempos])
    at = np.clip(np.searchsorted(times, ticks, side="right") - 1, 0, None)
    return 60.0 / (qpm[at] * score.tpq)


# seconds a wind or brass player doubling a line plays on before taking a breath, and the
# gap that is a breath already: a project choice for phrases of about two to four bars at
# film tempi (wind players breathe at phrase ends; a doubling that never rests is unplayable)
BREATH_AFTER = 8.0
BREATH_GAP = 0.3


def articulate(ensemble, placed: list, score) -> None:
    """Set ``articulation`` and ``program`` on every placed note, part by part; then a
    doubling takes the articulation of the note it doubles, as far as its instrument
    plays it (``_as_doubled``): the basses under the cellos' staccato line are staccato
    too, not accented where their own part's velocities would say so."""
    tpq = score.tpq
    by_part: dict[int, list] = {}
    for note in placed:
        by_part.setdefault(note.part, []).append(note)
    for part_index, notes in by_part.items():
        notes.sort(key=lambda n: (n.time, -n.pitch))
        _articulate_part(ensemble.parts[part_index].instrument, notes, score, tpq)
    articulated = {id(note) for note in placed}
    for note in placed:
        if note.doubles is not None and id(note.doubles) in articulated:
            note.articulation = _as_doubled(ensemble.parts[note.part].instrument, note.doubles.articulation,
                                            note.articulation)
    for part_index, notes in by_part.items():
        instrument = ensemble.parts[part_index].instrument
        if instrument.section in ("woodwinds", "brass"):
            breathe(notes, score, tpq)
        for note in notes:
            note.program = instrument.variants.get(note.articulation, -1)


def breathe(notes: list, score, tpq: int) -> int:
    """Cut one doubled note (or chord) of a wind or brass part short by an eighth (a
    note under a quarter by half its length), a breath, wherever the part plays on past
    ``BREATH_AFTER`` seconds without a gap of ``BREATH_GAP``: the longest of the
    stretch's second half, the latest of equals.
    ``notes``: the part's notes in time order. Returns the breaths taken."""
    onsets = sorted({note.time for note in notes})
    if len(onsets) < 2:
        return 0
    chords: dict[int, list] = {}
    for note in notes:
        chords.setdefault(note.time, []).append(note)
    spt = seconds_per_tick(score, np.asarray(onsets, np.int64))
    clock = np.concatenate([[0.0], np.cumsum(np.diff(onsets) * spt[:-1])])  # seconds at each onset
    breaths, start = 0, 0  # the stretch runs from onsets[start]
    for k in range(1, len(onsets)):
        end = max(n.time + n.duration for n in chords[onsets[k - 1]])
        if (onsets[k] - end) * spt[k - 1] >= BREATH_GAP:
            start = k
            continue
        if clock[k] - clock[start] <= BREATH_AFTER:
            continue
        half = clock[start] + (clock[k] - clock[start]) / 2
        choices = [j for j in range(start, k) if clock[j] >= half
                   and all(n.source < 0 for n in chords[onsets[j]])
                   and min(n.duration for n in chords[onsets[j]]) >= max(1, tpq // 4)]
        if not choices:
            start = k
            continue
        j = max(choices, key=lambda j: (min(n.duration for n in chords[onsets[j]]), j))
        for note in chords[onsets[j]]:
            note.duration -= min(tpq // 2, note.duration // 2)
            if note.articulation in ("legato", "tenuto"):
                note.articulation = "sustain"
        breaths += 1
        start = j + 1
    return breaths


# what winds and brass play for a string articulation they do not have
_WIND_FOR = {"pizzicato": "staccato", "spiccato": "staccato"}
# how a note is struck and how long it sounds: a doubling plays it as its source does.
# Legato and tenuto say how a note joins the next one in its own part, and stay the part's
_STRUCK = frozenset({"staccato", "spiccato", "pizzicato", "accent", "marcato", "tremolo"})


def _as_doubled(instrument, theirs: str, own: str) -> str:
    """The articulation a doubling plays, from the doubled note's (``theirs``) and the one
    its own part gave it (``own``). How the note is struck and how long (``_STRUCK``) is the
    doubled note's, as far as the instrument has it: strings all of it; winds and brass
    play a staccato for a pizzicato or spiccato, brass a marcato and winds an accent for a
    marcato, and keep their own for a tremolo. Otherwise the doubling is not struck apart
    from its source: its own legato or tenuto stays, an accent or staccato of its own goes.
    The harp, keyboards, percussion and voices keep their own."""
    strings = _is_string(instrument)
    if not strings and instrument.section not in ("woodwinds", "brass"):
        return own
    if theirs not in _STRUCK:
        return own if own not in _STRUCK else "sustain"
    if strings:
        return theirs
    if theirs == "tremolo":
        return own
    if theirs == "marcato":
        return "marcato" if instrument.section == "brass" else "accent"
    return _WIND_FOR.get(theirs, theirs)


def _articulate_part(instrument, notes: list, score, tpq: int) -> None:
    n = len(notes)
    onsets = np.array([x.time for x in notes], np.int64)
    durations = np.array([max(x.duration, 1) for x in notes], np.int64)
    pitches = np.array([x.pitch for x in notes], np.int64)
    velocities = np.array([x.velocity for x in notes], np.float64)
    # the next onset later than each note's (a chord shares one)
    following = np.searchsorted(onsets, onsets, side="right")
    has_next = following < n
    nxt = np.minimum(following, n - 1)
    ioi = np.where(has_next, onsets[nxt] - onsets, 0)
    spt = seconds_per_tick(score, onsets)
    detached = has_next & (durations <= 0.6 * ioi)
    short = durations <= tpq / 2
    held = has_next & ~detached & (onsets + durations >= onsets[nxt] - tpq // 8)
    lift = velocities - windowed_mean(onsets, velocities, 4 * tpq)  # against the part around it
    strings = _is_string(instrument)
    tremolo = np.zeros(n, bool)
    if strings:
        fast_repeat = has_next & (pitches[nxt] == pitches) & (ioi <= max(1, tpq // 4)) & (ioi * spt <= 0.15)
        run = 0
        for i in range(n):  # runs of repeats: i..i+run all one pitch, fast
            run = run + 1 if fast_repeat[i] else 0
            if run >= 3:
                tremolo[i - run + 1: i + 2] = True
    short_detached = short & detached
    run_length = _run_lengths(short_detached)
    for i, note in enumerate(notes):
        choice = "sustain"
        if tremolo[i]:
            choice = "tremolo"
        elif strings and note.role in ("bass", "figure") and note.level <= 3 and short_detached[i] \
                and run_length[i] >= 3:
            choice = "pizzicato"
        elif lift[i] >= 15 and note.level >= 4 and (strings or instrument.section == "brass") \
                and durations[i] >= tpq / 2:
            choice = "marcato"
        elif lift[i] >= 15:
            choice = "accent"
        elif strings and short[i] and detached[i] and ioi[i] * spt[i] <= 0.3:
            choice = "spiccato"
        elif detached[i] and durations[i] <= tpq:
            choice = "staccato"
        elif held[i] and pitches[nxt[i]] == pitches[i]:
            choice = "tenuto"
        elif held[i] and abs(pitches[nxt[i]] - pitches[i]) <= 7:
            choice = "legato"
        note.articulation = choice


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """For each flagged note, the length of the run of flagged neighbours it is in."""
    lengths = np.zeros(len(flags), np.int64)
    start = 0
    for i in range(len(flags) + 1):
        if i == len(flags) or not flags[i]:
            lengths[start:i] = i - start
            start = i + 1
    return lengths


def gm_rendering(note, next_onset: int | None, tpq: int) -> tuple[int, int]:
    """(duration, velocity) a General MIDI synth plays ``note`` with."""
    factor, lift = _GM[note.articulation]
    duration = max(1, round(note.duration * factor), min(note.duration, tpq // 8))
    if note.articulation == "legato" and next_onset is not None:
        duration = max(duration, next_onset - note.time + tpq // 32)  # a slight overlap joins the notes
    return duration, int(min(127, max(1, note.velocity + lift)))
