"""Harmonizing the soprano of held-out Bach chorales, compared with Bach's own parts.

For every chorale of the held-out split (``bach_corpus.is_held_out``; none of
them was learned from, which the script checks), the soprano alone is written
as a one-track MIDI score and harmonized by ``harmonize_score`` in chorale
style. Alto, tenor and bass are then compared with Bach's on a grid of
sixteenth notes:

- ``atb_frame_error``: the share of (frame, voice) pairs, over A, T and B
  together, where the generated voice does not sound the same pitch as Bach's
  (a rest against a note counts as a difference; frames where both rest are
  not counted);
- ``bass_frame_match``: the share of bass frames that agree;
- ``bass_frames_by_cause``: every bass frame put under one heading, the first
  that applies: ``match``; ``octave`` (the right pitch class in another
  octave); ``rest`` (one of the two basses rests); ``bach_moves_in_beat``
  (Bach's bass has left the note it struck on the beat: a passing or
  neighbour eighth, which one chord a beat cannot match); ``inversion`` (Bach's
  bass pitch class sounds in one of our voices: the chord may be right, its
  bass is not); ``chord`` (a different harmony);
- ``by_tune``: the bass and A/T/B figures apart for held-out chorales whose tune
  the training chorales also sing, in another setting or version
  (``bach_corpus.tune_overlap``), and for those whose tune is new to the model.
  Bach harmonized many hymn tunes several times and the split is by chorale, so
  the first group flatters the model; a composer's own melody is in the second;
- parallel fifths and octaves (same direction) per 100 transitions, measured by
  the same checker (``voiceleading.check_voices``) on the same sixteenth grid
  for Bach's four parts and for ours;
- the time to harmonize a 32-bar melody (held-out chorale melodies joined to
  32 bars of 4/4) on one CPU core, each call reading the shipped model afresh;
- ``bach_against_bach``: how far Bach agrees with himself, as a yardstick for the
  bass target. Over the whole corpus, every two settings of one soprano (the same
  metre, note values and melodic intervals, so the only difference is Bach's
  harmony) are compared note by note of the soprano on the same sixteenth grid
  (``settings_agreement``); settings identical in every bass frame (one setting
  reused in two cantatas) are counted apart and left out.

    .venv/bin/python benchmarks/bench_harmonize.py            # held-out split
    .venv/bin/python benchmarks/bench_harmonize.py --split dev  # tuning split

``--split dev`` learns a model (progression tables, bass model and an ensemble
of three melody nets: about seven minutes on two cores) from the training chorales minus a
development eighth and scores that eighth: the harmonizer's weights were tuned
there (and on two more eighths split the same way), never on the test split.
Prints one JSON line.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import symusic  # noqa: E402

from scorefarm.symbolic.bach_corpus import KNOWN_TUNE, Chorale, load_chorales, note_at, tune_overlap  # noqa: E402
from scorefarm.symbolic.chorale_model import is_dev, learn, load_model, model_from_dict  # noqa: E402
from scorefarm.symbolic.chords import key_of_signature  # noqa: E402
from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_melody, harmonize_score  # noqa: E402
from scorefarm.symbolic.voiceleading import PARALLEL_KINDS, CheckOptions, check_voices  # noqa: E402
from scorefarm.symbolic.voices import Part, VNote, Voices, beat_length, voices_from_score  # noqa: E402

TPQ = 480
GRID = TPQ // 4  # sixteenth notes
VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")


def melody_score(chorale: Chorale, bars: int | None = None) -> symusic.Score:
    """The chorale's soprano alone, as a composer's MIDI sketch would hold it."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=80.0))
    score.time_signatures.append(symusic.TimeSignature(0, *chorale.time_signature))
    track = symusic.Track("Melody", 0, False)
    for on, dur, pitch in chorale.voices["Soprano"]:
        track.notes.append(symusic.Note(int(round(on * TPQ)), int(round(dur * TPQ)), pitch, 80))
    score.tracks.append(track)
    return score


def bach_voices(chorale: Chorale) -> Voices:
    parts = [Part(name, [VNote(int(round(on * TPQ)), int(round((on + dur) * TPQ)), p)
                         for on, dur, p in chorale.voices[name]]) for name in VOICE_NAMES]
    return Voices(TPQ, parts, [(0, *chorale.time_signature)])


def frames(part: Part, count: int) -> list[int | None]:
    out: list[int | None] = [None] * count
    for note in part.notes:
        for k in range(-(-note.start // GRID), -(-note.end // GRID)):
            if 0 <= k < count:
                out[k] = note.pitch
    return out


def compare(ours: Voices, bach: Voices) -> dict[str, tuple[int, int]]:
    """Per voice (A, T, B): (frames that differ, frames where either sounds); and under
    "Bass pitch class", the bass frames whose pitch classes differ (octaves forgiven)."""
    count = -(-max(ours.end_tick(), bach.end_tick()) // GRID)
    result = {}
    for v in (1, 2, 3):
        a, b = frames(ours.parts[v], count), frames(bach.parts[v], count)
        counted = [(x, y) for x, y in zip(a, b) if x is not None or y is not None]
        result[VOICE_NAMES[v]] = (sum(1 for x, y in counted if x != y), len(counted))
        if v == 3:
            pc_wrong = sum(1 for x, y in counted if x is None or y is None or x % 12 != y % 12)
            result["Bass pitch class"] = (pc_wrong, len(counted))
    return result


# Bach set many tunes more than once, and the split is by chorale: a held-out chorale whose
# tune the training set sings in another setting (bach_corpus.tune_overlap >= KNOWN_TUNE) is
# reported apart from one whose tune is new to the model, as a composer's melody is.
TUNE_GROUPS = ("tune_in_training", "tune_new")

BASS_CAUSES = ("match", "octave", "rest", "bach_moves_in_beat", "inversion", "chord")


def bass_causes(ours: Voices, bach: Voices, beat_frames: int) -> dict[str, int]:
    """Bass frames (where either bass sounds) counted under ``BASS_CAUSES`` (see the module doc)."""
    count = -(-max(ours.end_tick(), bach.end_tick()) // GRID)
    mine = [frames(part, count) for part in ours.parts]
    theirs = frames(bach.parts[3], count)
    out = dict.fromkeys(BASS_CAUSES, 0)
    for k, (x, y) in enumerate(zip(mine[3], theirs)):
        if x is None and y is None:
            continue
        if x == y:
            cause = "match"
        elif x is None or y is None:
            cause = "rest"
        elif x % 12 == y % 12:
            cause = "octave"
        elif theirs[k - k % beat_frames] != y:
            cause = "bach_moves_in_beat"
        elif any(voice[k] is not None and voice[k] % 12 == y % 12 for voice in mine):
            cause = "inversion"
        else:
            cause = "chord"
        out[cause] += 1
    return out


def _soprano_shape(chorale: Chorale) -> tuple:
    sop = chorale.voices["Soprano"]
    return chorale.time_signature, tuple((round(dur, 4), pitch - sop[0][2]) for _, dur, pitch in sop)


def settings_agreement(chorales: list[Chorale]) -> dict:
    """Bass frames where two of Bach's settings of one soprano agree (see the module doc):
    the frames of each soprano note compared in turn, the second setting transposed to the
    first's soprano, so that rests between phrases (an instrumental interlude in one
    setting) do not shift one against the other."""
    groups: dict[tuple, list[Chorale]] = {}
    for chorale in chorales:
        groups.setdefault(_soprano_shape(chorale), []).append(chorale)
    same = pitch_class = counted = pairs = identical = 0
    for group in groups.values():
        for i, first in enumerate(group):
            for second in group[:i]:
                sop_a, sop_b = first.voices["Soprano"], second.voices["Soprano"]
                shift = sop_a[0][2] - sop_b[0][2]
                bass_a, bass_b = first.voices["Bass"], second.voices["Bass"]
                on_a, on_b = [n[0] for n in bass_a], [n[0] for n in bass_b]
                s = p = n = 0
                for (start_a, dur, _), (start_b, _, _) in zip(sop_a, sop_b):
                    for k in range(round(dur * 4)):
                        x, y = note_at(bass_a, on_a, start_a + k / 4), note_at(bass_b, on_b, start_b + k / 4)
                        if x is None and y is None:
                            continue
                        n += 1
                        if x is not None and y is not None:
                            s += x[2] == y[2] + shift
                            p += (x[2] - y[2] - shift) % 12 == 0
                if s == n:
                    identical += 1
                    continue
                pairs += 1
                same, pitch_class, counted = same + s, pitch_class + p, counted + n
    return {"pairs": pairs, "identical_settings_left_out": identical,
            "bass_frame_match": round(same / counted, 4) if counted else None,
            "bass_pitch_class_frame_match": round(pitch_class / counted, 4) if counted else None}


def parallel_rate(voices: Voices) -> tuple[int, int, int, int]:
    """(parallels on the sixteenth grid, grid transitions, parallels at onsets, onset transitions)."""
    grid = check_voices(voices, CheckOptions(kinds=PARALLEL_KINDS, grid_ticks=GRID, key=(0, "major")))
    onsets = check_voices(voices, CheckOptions(kinds=PARALLEL_KINDS, key=(0, "major")))
    return grid.count(PARALLEL_KINDS), grid.transitions, onsets.count(PARALLEL_KINDS), onsets.transitions


def timing(chorales: list[Chorale], model, options: HarmonizeOptions) -> dict:
    """Harmonize a 32-bar 4/4 melody made of held-out chorale melodies end to end."""
    notes, offset = [], 0.0
    pool = [c for c in chorales if c.time_signature == (4, 4)]
    i = 0
    while offset < 128:
        c = pool[i % len(pool)]
        for on, dur, pitch in c.voices["Soprano"]:
            if offset + on + dur <= 128:
                notes.append((offset + on, dur, pitch))
        offset += -(-c.length_quarters // 4) * 4
        i += 1
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=90.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Melody", 0, False)
    for on, dur, pitch in notes:
        track.notes.append(symusic.Note(int(on * TPQ), int(dur * TPQ), pitch, 80))
    score.tracks.append(track)
    times = []
    for _ in range(3):
        _clear_caches(model)  # every call starts cold (the caches only help repeated melodies)
        start = time.perf_counter()
        if model is None:
            harmonize_score(score, options)
        else:
            harmonize_melody(score, options, model=model)
        times.append(time.perf_counter() - start)
    return {"bars": 32, "melody_notes": len(notes), "seconds_each_call": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3),
            "note": ("each call starts cold (" + ("shipped model read from JSON" if model is None else
                                                  "caches of the development model cleared")
                     + ", no cached features); interpreter start-up and imports not included")}


def _clear_caches(model) -> None:
    from scorefarm.symbolic.bass_model import _features_of

    _features_of.cache_clear()
    if model is None:
        load_model.cache_clear()  # the shipped model is read again, as a new process would
        return
    for mode_model in model.modes.values():
        if mode_model.net is not None:
            mode_model.net._hidden.clear()


def run(split: str, options: HarmonizeOptions) -> dict:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one CPU core
    except (AttributeError, OSError):
        pass
    chorales = load_chorales()
    if split == "dev":
        train = [c for c in chorales if not c.held_out and not is_dev(c.id)]
        evaluate = [c for c in chorales if not c.held_out and is_dev(c.id)]
        model = model_from_dict(learn(train, net=True))  # trains the melody nets too: minutes
    else:
        train = [c for c in chorales if not c.held_out]
        evaluate = [c for c in chorales if c.held_out]
        model = None
    timing_result = timing(evaluate, model, options)  # first: its first call loads the shipped model
    if model is None:
        leaked = set(load_model().chorales) & {c.id for c in evaluate}
        if leaked:
            raise SystemExit(f"held-out chorales were learned from: {sorted(leaked)}")
    causes = dict.fromkeys(BASS_CAUSES, 0)
    wrong = {v: 0 for v in (*VOICE_NAMES[1:], "Bass pitch class")}
    total = dict(wrong)
    ours_par = [0, 0, 0, 0]
    bach_par = [0, 0, 0, 0]
    key_right = 0
    by_tune = {group: {"chorales": 0, "bass": [0, 0], "atb": [0, 0]} for group in TUNE_GROUPS}
    for chorale in evaluate:
        melody = melody_score(chorale)
        if model is None:
            out, _ = harmonize_score(melody, options)
            ours = voices_from_score(out)
            key = None
        else:
            result = harmonize_melody(melody, options, model=model)
            ours, key = result.voices, result.key
        if key is None:
            key = _key_of(out)
        key_right += int(key == (chorale.tonic_pc, chorale.mode))
        bach = bach_voices(chorale)
        group = by_tune[TUNE_GROUPS[0] if tune_overlap(chorale, train) >= KNOWN_TUNE else TUNE_GROUPS[1]]
        group["chorales"] += 1
        for voice, (bad, count) in compare(ours, bach).items():
            wrong[voice] += bad
            total[voice] += count
            if voice in VOICE_NAMES:
                for name in ("atb", "bass") if voice == "Bass" else ("atb",):
                    group[name][0] += bad
                    group[name][1] += count
        beat_frames = beat_length(TPQ, *chorale.time_signature) // GRID
        for cause, n in bass_causes(ours, bach, beat_frames).items():
            causes[cause] += n
        for acc, voices in ((ours_par, ours), (bach_par, bach)):
            for k, value in enumerate(parallel_rate(voices)):
                acc[k] += value
    atb_error = sum(wrong[v] for v in VOICE_NAMES[1:]) / sum(total[v] for v in VOICE_NAMES[1:])
    return {
        "benchmark": "harmonize_bach_chorales",
        "split": split,
        "chorales": len(evaluate),
        "atb_frame_error": round(atb_error, 4),
        "atb_frame_error_target": "< 0.70",
        "frame_error_by_voice": {v: round(wrong[v] / total[v], 4) for v in VOICE_NAMES[1:]},
        "bass_frame_match": round(1 - wrong["Bass"] / total["Bass"], 4),
        "bass_frame_match_target": ">= 0.50",
        "by_tune": {name: {"chorales": g["chorales"],
                           "bass_frame_match": round(1 - g["bass"][0] / g["bass"][1], 4) if g["bass"][1] else None,
                           "atb_frame_error": round(g["atb"][0] / g["atb"][1], 4) if g["atb"][1] else None}
                    for name, g in by_tune.items()},
        "bass_pitch_class_frame_match": round(1 - wrong["Bass pitch class"] / total["Bass pitch class"], 4),
        "bass_frames_by_cause": {k: round(n / sum(causes.values()), 4) for k, n in causes.items()},
        "key_agreement_with_music21": round(key_right / len(evaluate), 4),
        "parallels_per_100_sixteenth_transitions": {
            "ours": round(100 * ours_par[0] / ours_par[1], 3), "bach": round(100 * bach_par[0] / bach_par[1], 3)},
        "parallels_per_100_onset_transitions": {
            "ours": round(100 * ours_par[2] / ours_par[3], 3), "bach": round(100 * bach_par[2] / bach_par[3], 3)},
        "parallels_count": {"ours": ours_par[0], "bach": bach_par[0]},
        "bach_against_bach": settings_agreement(chorales),
        "timing_32_bars": timing_result,
        "timing_target_s": 2.0,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "cores_used": 1, "processor": platform.processor()},
    }


def _key_of(score) -> tuple[int, str]:
    ks = score.key_signatures[0]
    return key_of_signature(ks.key, bool(ks.tonality))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    args = parser.parse_args()
    print(json.dumps(run(args.split, HarmonizeOptions()), sort_keys=False))


if __name__ == "__main__":
    main()
