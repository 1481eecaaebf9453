"""Writes the demo film's sketches (the project's own music) as MIDI files.

Run: .venv/bin/python corpora/demo/make_sketches.py  (the .mid files are committed;
rerunning rewrites them byte for byte). Four cues show the toolkit's range:
different metres (4/4, 6/8, 3/4, 5/4), keys, tempi, a tempo change, piano alone, and a
melody alone for the harmonizer.
"""

from __future__ import annotations

from pathlib import Path

import symusic

TPQ = 480
HERE = Path(__file__).resolve().parent / "sketches"

# note names -> MIDI numbers (C4 = 60)
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def p(name: str) -> int:
    """'C#4' / 'Bb2' / 'D5' -> MIDI pitch."""
    letter, rest = name[0], name[1:]
    acc = 0
    while rest and rest[0] in "#b":
        acc += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + _STEPS[letter] + acc


def line(track: symusic.Track, start_beats: float, spec: str, vel: int = 80, beat: int = TPQ) -> float:
    """Append a melodic line written as 'pitch:beats' tokens ('r:1' is a rest);
    returns the beat after the last note. Chords: 'D3+A3+F4:2'."""
    t = start_beats
    for token in spec.split():
        pitch_part, dur_part = token.split(":")
        dur = float(dur_part)
        if pitch_part != "r":
            for name in pitch_part.split("+"):
                track.notes.append(symusic.Note(int(round(t * beat)), int(round(dur * beat * 0.95)), p(name), vel))
        t += dur
    return t


def new_score(bpm: float, ts: tuple[int, int], key: tuple[int, int]) -> symusic.Score:
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, bpm))
    score.time_signatures.append(symusic.TimeSignature(0, *ts))
    score.key_signatures.append(symusic.KeySignature(0, key[0], key[1]))  # (sharps/flats, 0 major / 1 minor)
    return score


def track(score: symusic.Score, name: str, program: int, drum: bool = False) -> symusic.Track:
    t = symusic.Track(name, program, drum)
    score.tracks.append(t)
    return t


def harbour_dawn() -> symusic.Score:
    """1M1 — D minor, 4/4, 72 bpm: a horn call over low strings, 8 bars."""
    s = new_score(72, (4, 4), (-1, 1))
    line(track(s, "Horn in F", 60), 0, "r:2 A3:1 D4:1 F4:3 E4:1 D4:2 C4:1 A3:1 "
         "Bb3:3 A3:1 G3:2 A3:2 D4:4 r:4 A3:1 D4:1 E4:1 F4:1 G4:3 F4:1 E4:4", 72)
    line(track(s, "Violins I", 48), 0, "F4+A4:4 F4+A4:4 G4+Bb4:4 E4+A4:4 "
         "F4+A4:4 D4+G4:4 F4+Bb4:4 E4+A4:4", 58)
    line(track(s, "Violas", 48), 0, "D4:4 C4:4 D4:4 C#4:4 D4:4 Bb3:4 D4:4 C#4:4", 56)
    line(track(s, "Violoncellos", 42), 0, "D3:4 F3:4 G3:4 A3:4 D3:4 G3:4 Bb2:4 A2:4", 64)
    line(track(s, "Contrabasses", 43), 0, "D2:4 F2:4 G2:4 A2:4 D2:4 G2:4 Bb1:4 A1:4", 64)
    return s


def the_chase() -> symusic.Score:
    """1M2 — E minor, 6/8, 138 then 152 bpm (the chase picks up at bar 5):
    string ostinato, brass stabs, timpani and drums, 8 bars."""
    s = new_score(138, (6, 8), (1, 1))
    # 6/8 bar = 3 quarter notes; eighth = 0.5 beat
    s.tempos.append(symusic.Tempo(4 * 3 * TPQ, 152))
    ost = track(s, "Violins I", 48)
    for bar in range(8):
        root = ["E4", "E4", "C4", "D4", "E4", "E4", "C4", "B3"][bar]
        base = p(root)
        for i, off in enumerate([0, 7, 12, 7, 0, 7]):
            ost.notes.append(symusic.Note(int((bar * 3 + i * 0.5) * TPQ), int(0.45 * TPQ), base + off, 84 if i % 3 == 0 else 66))
    line(track(s, "Violoncellos", 42), 0, "E2+E3:3 E2+E3:3 C2+C3:3 D2+D3:3 E2+E3:3 E2+E3:3 C2+C3:3 B1+B2:3", 88)
    line(track(s, "Trumpets", 56), 0, "r:1.5 E4+G4+B4:0.5 r:1 r:1.5 E4+G4+B4:0.5 r:1 r:1.5 E4+G4+C5:0.5 r:1 "
         "r:1.5 F#4+A4+D5:0.5 r:1 E4+G4+B4:1.5 G4+B4+E5:1.5 E4+G4+B4:1.5 G4+B4+E5:1.5 "
         "E4+G4+C5:3 D#4+F#4+B4:3", 96)
    line(track(s, "Horns", 60), 12, "B3:1.5 E4:1.5 G4:3 A4:1.5 G4:1.5 F#4:3", 92)
    timp = track(s, "Timpani", 47)
    line(timp, 0, "E2:1.5 E2:1.5 E2:1.5 B1:1.5 C2:1.5 C2:1.5 D2:1.5 D2:1.5 "
         "E2:0.5 E2:0.5 E2:0.5 E2:1.5 E2:0.5 E2:0.5 E2:0.5 B1:1.5 C2:3 B1:3", 90)
    drums = track(s, "Drums", 0, drum=True)
    for bar in range(8):
        t0 = bar * 3
        drums.notes.append(symusic.Note(int(t0 * TPQ), int(0.25 * TPQ), 36, 100))      # bass drum
        drums.notes.append(symusic.Note(int((t0 + 1.5) * TPQ), int(0.25 * TPQ), 38, 90))  # snare
        if bar >= 4:
            drums.notes.append(symusic.Note(int((t0 + 2.5) * TPQ), int(0.25 * TPQ), 38, 70))
    drums.notes.append(symusic.Note(int(21 * TPQ), int(2 * TPQ), 49, 110))  # crash on bar 8
    return s


def letters() -> symusic.Score:
    """2M1 — piano alone, Ab major, 3/4, 84 bpm with a ritardando in the last two bars."""
    s = new_score(84, (3, 4), (-4, 0))
    s.tempos.append(symusic.Tempo(6 * 3 * TPQ, 76))
    s.tempos.append(symusic.Tempo(7 * 3 * TPQ, 66))
    piano = track(s, "Piano", 0)
    line(piano, 0, "Eb5:2 C5:1 Db5:1.5 C5:0.5 Bb4:1 C5:2 Ab4:1 F4:3 "
         "Gb4:1 Bb4:1 Db5:1 C5:1.5 Bb4:0.5 Ab4:1 G4:1 Bb4:1 Eb5:1 Ab4:3", 70)
    left = "Ab2 Eb3 C4 F2 C3 Ab3 Db3 Ab3 F4 F2 C3 Ab3 Gb2 Db3 Bb3 Ab2 Eb3 C4 Eb2 Bb2 G3 Ab2 Eb3 C4"
    pitches = left.split()
    for i, name in enumerate(pitches):
        piano.notes.append(symusic.Note(int(i * TPQ), int(0.9 * TPQ), p(name), 52))
    piano.notes.append(symusic.Note(int(24 * TPQ), int(3 * TPQ), p("Ab2"), 48))
    piano.notes.append(symusic.Note(int(24 * TPQ), int(3 * TPQ), p("Ab3"), 48))
    piano.controls.append(symusic.ControlChange(0, 64, 127))
    for bar in range(1, 9):
        piano.controls.append(symusic.ControlChange(int(bar * 3 * TPQ) - 10, 64, 0))
        piano.controls.append(symusic.ControlChange(int(bar * 3 * TPQ) + 10, 64, 127))
    return s


def homecoming() -> symusic.Score:
    """3M1 — Bb major, 5/4, 96 bpm: flute and clarinet over harp and strings, 6 bars."""
    s = new_score(96, (5, 4), (-2, 0))
    line(track(s, "Flute", 73), 0, "F5:2 D5:1 Eb5:1 F5:1 G5:3 F5:2 Eb5:2 D5:1 C5:2 "
         "Bb4:3 C5:1 D5:1 Eb5:2 C5:1 A4:2 Bb4:5", 74)
    line(track(s, "Clarinet in Bb", 71), 0, "D4:5 Eb4:5 F4:5 G4:5 Eb4:5 D4:5", 60)
    harp = track(s, "Harp", 46)
    for bar, chord in enumerate(["Bb2 F3 Bb3 D4 F4", "Eb2 Bb2 Eb3 G3 Bb3", "Bb2 F3 Bb3 D4 F4",
                                 "G2 D3 G3 Bb3 D4", "Eb2 Bb2 Eb3 G3 C4", "Bb2 F3 Bb3 D4 F4"]):
        for i, name in enumerate(chord.split()):
            harp.notes.append(symusic.Note(int((bar * 5 + i) * TPQ), int((5 - i) * TPQ * 0.95), p(name), 64))
    line(track(s, "Violas", 48), 0, "F3:5 G3:5 F3:5 G3:5 G3:5 F3:5", 50)
    line(track(s, "Violoncellos", 42), 0, "Bb2:5 Eb3:5 D3:5 G2:5 C3:2.5 F2:2.5 Bb2:5", 56)
    return s


def lullaby() -> symusic.Score:
    """4M1 — a melody alone (G major, 3/4, 80 bpm), for `harmonize = true`: the
    pipeline writes alto, tenor and bass under it before rendering."""
    s = new_score(80, (3, 4), (1, 0))
    line(track(s, "Melody", 48), 0, "D5:2 B4:1 G4:2 A4:1 B4:1 C5:1 D5:1 E5:2 D5:1 "
         "C5:2 A4:1 B4:2 G4:1 A4:1 B4:1 G4:1 F#4:2 r:1 "
         "D5:2 B4:1 G4:2 A4:1 B4:1 C5:1 D5:1 E5:2 G5:1 "
         "F#5:1 E5:1 D5:1 C5:1 B4:1 A4:1 G4:3", 72)
    return s


SKETCHES = {
    "1m1_harbour_dawn.mid": harbour_dawn,
    "1m2_the_chase.mid": the_chase,
    "2m1_letters.mid": letters,
    "3m1_homecoming.mid": homecoming,
    "4m1_lullaby.mid": lullaby,
}


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, build in SKETCHES.items():
        build().dump_midi(str(HERE / name))
        print(HERE / name)


if __name__ == "__main__":
    main()
