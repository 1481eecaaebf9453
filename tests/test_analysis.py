"""Harmonic analysis: keys by windows, chords and Roman numerals per beat."""

from __future__ import annotations

import json

import pytest

from scorefarm.errors import ScoreError
from scorefarm.symbolic.analysis import AnalyzeOptions, analyze_file, analyze_score
from scorefarm.symbolic.chords import ChordLabel, identify, parse_key, parse_pitch
from scorefarm.symbolic.keyfinding import bar_keys
from scorefarm.symbolic.voices import Part, VNote, Voices


def block_chords(chords: list[list[str]], beats: float = 1.0):
    """(start, dur, pitch, vel) tuples of block chords, one per ``beats``."""
    return [(i * beats, beats, parse_pitch(p), 80) for i, chord in enumerate(chords) for p in chord]


CADENCE = [["C5", "G4", "E4", "C3"], ["C5", "A4", "F4", "F3"], ["B4", "G4", "D4", "G2"], ["D5", "F4", "B3", "G2"],
           ["C5", "G4", "E4", "C3"]]


def test_cadence_in_c_major_is_labelled(make_score):
    result = analyze_score(make_score(block_chords(CADENCE + [["C5", "G4", "E4", "C3"]] * 3)))
    first = result.beats[:5]
    assert [b.chord for b in first] == ["C", "F", "G", "G7", "C"]
    assert [b.roman for b in first] == ["I", "IV", "V", "V7", "I"]
    assert {b.key for b in result.beats} == {"C major"}
    assert [(b.bar, b.beat) for b in first] == [(1, 1.0), (1, 2.0), (1, 3.0), (1, 4.0), (2, 1.0)]


def test_inversions_and_minor_keys(make_score):
    chords = [["A4", "E4", "C4", "A2"], ["A4", "F4", "D4", "D3"], ["G#4", "E4", "B3", "E3"], ["A4", "E4", "C4", "C3"]]
    result = analyze_score(make_score(block_chords(chords * 3)), AnalyzeOptions(key=(9, "minor")))
    assert [b.roman for b in result.beats[:4]] == ["i", "iv", "V", "i6"]
    assert result.beats[3].chord == "Am/C"


def test_passing_notes_do_not_make_chords(make_score):
    notes = block_chords([["C4", "G3", "C3"]] * 4, beats=1.0)
    notes += [(0.0, 0.5, 76, 80), (0.5, 0.5, 77, 80), (1.0, 1.0, 79, 80)]  # E5 F5 G5 over C major
    result = analyze_score(make_score(notes), AnalyzeOptions(key=(0, "major")))
    assert result.beats[0].chord == "C"


def test_modulation_is_found_by_windows():
    # four bars of C major cadences, then four of E major (far enough to need a new key)
    def bars(tonic_shift: int, start_bar: int) -> list[list[VNote]]:
        voices = [[] for _ in range(4)]
        for bar in range(4):
            for beat, chord in enumerate(CADENCE[:4]):
                tick = ((start_bar + bar) * 4 + beat) * 480
                for v, name in enumerate(chord):
                    voices[v].append(VNote(tick, tick + 480, parse_pitch(name) + tonic_shift))
        return voices
    first, second = bars(0, 0), bars(4, 4)
    parts = [Part(str(v), first[v] + second[v]) for v in range(4)]
    keys = bar_keys(Voices(480, parts))
    assert [k[1:] for k in keys] == [(0, "major")] * 4 + [(4, "major")] * 4


def test_a_key_window_spans_exactly_its_bars(monkeypatch):
    import scorefarm.symbolic.keyfinding as keyfinding

    # one bar each of the C, D, E, F and G major triads, twice: the window sums its bars' notes
    parts = [Part("1", [VNote(bar * 1920, (bar + 1) * 1920, 60 + (0, 2, 4, 5, 7)[bar % 5] + step)
                        for bar in range(10)]) for step in (0, 4, 7)]
    voices = Voices(480, parts)
    hist = keyfinding.bar_histograms(voices, keyfinding.bar_starts(voices), 0.0)
    seen = []
    real = keyfinding.key_correlations
    monkeypatch.setattr(keyfinding, "key_correlations", lambda windows, profile: seen.append(windows)
                        or real(windows, profile))
    for bars in (1, 2, 3, 4):
        keyfinding.bar_keys(voices, keyfinding.KeyOptions(window_bars=bars))
        before, after = (bars - 1) // 2, bars // 2  # an even window reaches one bar further ahead
        assert seen[-1][5] == pytest.approx(hist[5 - before:5 + after + 1].sum(axis=0))
