"""Harmonic analysis: keys by windows, chords and Roman numerals per beat."""

from __future__ import annotations

import json

import pytest
import symusic

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


def test_json_and_table(make_score):
    result = analyze_score(make_score(block_chords(CADENCE)))
    data = json.loads(result.to_json())
    assert data["beats"][3]["roman"] == "V7" and data["keys"][0]["key"] == "C major"
    rows = result.table()
    assert rows[0] == ("1", "1", "C major", "C", "I") and rows[1][2] == ""  # key shown where it changes


def test_silence_is_no_chord(make_score):
    notes = block_chords([["C5", "G4", "E4", "C3"]]) + [(3, 1, 60, 80)]
    result = analyze_score(make_score(notes))
    assert result.beats[1].chord == "" and result.beats[1].roman == ""


def test_no_pitched_notes_is_an_input_error(make_score):
    with pytest.raises(ScoreError, match="no pitched notes"):
        analyze_score(make_score([(0, 1, 36, 80)], is_drum=True))


def test_analyze_file_reads_midi(tmp_path, make_score):
    path = tmp_path / "cadence.mid"
    make_score(block_chords(CADENCE)).dump_midi(str(path))
    assert [b.roman for b in analyze_file(path).beats] == ["I", "IV", "V", "V7", "I"]


def test_roman_numerals_builtin_and_music21_agree_on_diatonic_chords():
    from scorefarm.symbolic.analysis import roman_of

    for label, want in [(ChordLabel(7, "dominant-seventh", 11), "V65"), (ChordLabel(2, "minor", 5), "ii6"),
                        (ChordLabel(11, "diminished", 11), "viio"), (ChordLabel(0, "major", 7), "I64")]:
        assert roman_of(label, 0, "major", "builtin") == want
        assert roman_of(label, 0, "major", "music21") == want
    assert roman_of(ChordLabel(2, "dominant-seventh", 2), 0, "major", "music21") == "V7/V"
    assert roman_of(ChordLabel(8, "major", 8), 0, "major", "music21") == "bVI"


def test_identify_needs_root_and_third():
    assert identify({0, 4, 7}, 4).name == "C/E"
    assert identify({7, 11, 5}, 7).quality == "dominant-seventh"  # fifth missing is fine
    assert identify({0, 7}, 0) is None
    assert identify({0, 1, 4, 7}, 0) is None  # a non-chord tone


@pytest.mark.parametrize("text, want", [("D minor", (2, "minor")), ("d", (2, "minor")), ("F#", (6, "major")),
                                        ("Bbm", (10, "minor")), ("Eb major", (3, "major"))])
def test_parse_key(text, want):
    assert parse_key(text) == want


@pytest.mark.parametrize("text", ["H", "C lydian", "", "C##x"])
def test_parse_key_refuses(text):
    with pytest.raises(ValueError):
        parse_key(text)


def test_minor_key_figures_drop_the_raised_leading_tone_music21_spells_out():
    from scorefarm.symbolic.analysis import roman_of

    # E7 in A minor, root position and its three inversions; G#dim(7) above B
    for bass, want in [(4, "V7"), (8, "V65"), (11, "V43"), (2, "V42")]:
        assert roman_of(ChordLabel(4, "dominant-seventh", bass), 9, "minor") == want
    assert roman_of(ChordLabel(8, "diminished", 11), 9, "minor") == "viio6"
    assert roman_of(ChordLabel(8, "diminished-seventh", 11), 9, "minor") == "viio65"
    # the natural sixth and seventh degrees are VI and VII, as RomanText writes them (not bVI)
    assert [roman_of(ChordLabel(r, "major", r), 9, "minor") for r in (5, 7)] == ["VI", "VII"]


def test_minor_key_dominant_sevenths_through_analyze(make_score):
    chords = [["C5", "A4", "E4", "A2"], ["D5", "B4", "G#4", "E3"], ["C5", "A4", "E4", "A3"], ["B4", "E4", "D4", "G#3"],
              ["A4", "E4", "C4", "A3"]]
    result = analyze_score(make_score(block_chords(chords + [["A4", "E4", "C4", "A3"]] * 3)),
                           AnalyzeOptions(key=(9, "minor")))
    assert [b.roman for b in result.beats[:5]] == ["i", "V7", "i", "V65", "i"]


@pytest.mark.parametrize("chords, key, want", [
    ([["E5", "G4", "C4", "C3"], ["D5", "G4", "F4", "B2"], ["C5", "G4", "E4", "C3"]], (0, "major"), ("G7/B", "V65")),
    ([["E5", "G4", "C4", "C3"], ["D5", "A4", "C4", "F3"], ["D5", "G4", "B3", "G3"]], (0, "major"), ("Dm7/F", "ii65")),
    ([["A4", "E4", "C4", "A3"], ["B4", "E4", "D4", "G#3"], ["A4", "E4", "C4", "A3"]], (9, "minor"), ("E7/G#", "V65")),
])
def test_first_inversion_sevenths_are_not_the_triad_on_their_bass(make_score, chords, key, want):
    result = analyze_score(make_score(block_chords(chords + [chords[0]] * 5)), AnalyzeOptions(key=key))
    assert (result.beats[1].chord, result.beats[1].roman) == want


def test_smoothing_keeps_a_complete_triad_from_a_neighbour_it_contradicts(make_score):
    # I vi viio6 ii: D F B is complete; Dm beside it would lack its A and leave the B unexplained
    chords = [["E5", "C5", "G4", "C3"], ["E5", "C5", "A4", "A2"], ["D5", "B4", "F4", "D3"], ["D5", "A4", "F4", "D3"]]
    result = analyze_score(make_score(block_chords(chords * 2)), AnalyzeOptions(key=(0, "major")))
    assert [(b.chord, b.roman) for b in result.beats[2:4]] == [("Bdim/D", "viio6"), ("Dm", "ii")]


@pytest.mark.parametrize("label, key, want", [
    (ChordLabel(6, "diminished-seventh", 6), (0, "major"), "viio7/V"),  # F#dim7 in C
    (ChordLabel(6, "half-diminished-seventh", 4), (0, "major"), "viiø42/V"),
    (ChordLabel(11, "diminished", 11), (5, "major"), "viio/V"),  # Bdim in F
    (ChordLabel(3, "diminished-seventh", 3), (9, "minor"), "viio7/V"),  # D#dim7 in A minor
    (ChordLabel(6, "diminished-seventh", 6), (7, "major"), "viio7"),  # F#dim7 in G: its own leading tone
    (ChordLabel(2, "major", 2), (9, "minor"), "IV"),  # D major in A minor: the raised sixth, not V/VII
    (ChordLabel(11, "major", 11), (6, "minor"), "IV"),  # B major in F# minor
    (ChordLabel(2, "dominant-seventh", 2), (9, "minor"), "V7/VII"),
])
def test_applied_leading_tone_chords_and_major_iv_in_minor(label, key, want):
    from scorefarm.symbolic.analysis import roman_of

    assert roman_of(label, *key) == want


def test_no_rows_before_a_pickup(make_score):
    notes = [(3 + n[0], *n[1:]) for n in block_chords([["D5", "B4", "G4", "G3"]] + CADENCE)]  # a pickup on beat 4
    result = analyze_score(make_score(notes))
    assert [(b.bar, b.beat, b.chord) for b in result.beats[:2]] == [(1, 4.0, "G"), (2, 1.0, "C")]
    assert result.table()[0] == ("1", "4", "C major", "G", "V")


def test_a_bass_outside_the_chord_is_named_beside_the_numeral(make_score):
    chords = [["C#5", "A4", "F#4", "F#3"], ["D5", "B4", "F#4", "B2"], ["D5", "B4", "F#4", "C#3"],
              ["D5", "B4", "F#4", "D3"], ["C#5", "G#4", "E#4", "C#3"], ["C#5", "A4", "F#4", "F#3"]]
    result = analyze_score(make_score(block_chords(chords)), AnalyzeOptions(key=(6, "minor")))
    assert result.beats[2].roman == "iv"  # the harmony's numeral, as the JSON gives it
    assert [row[3:] for row in result.table()[1:4]] == [("Bm", "iv"), ("Bm/C#", "iv (bass C#)"), ("Bm/D", "iv6")]


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


def test_bar_lines_follow_every_time_signature():
    from scorefarm.symbolic.voices import bar_starts_of

    assert bar_starts_of([(0, 4, 4)], 480, 4 * 1920) == [0, 1920, 3840, 5760]
    # a pickup written as a bar of 1/4, then 4/4
    assert bar_starts_of([(0, 1, 4), (480, 4, 4)], 480, 480 + 2 * 1920) == [0, 480, 2400]
    # 4/4 before a first signature that stands late; 6/8 bars of a dotted half
    assert bar_starts_of([(3840, 6, 8)], 480, 3840 + 2 * 1440) == [0, 1920, 3840, 5280]
    assert bar_starts_of([], 480, 100) == [0]


# C minor: i iv6, then each augmented sixth going to V, and i: It6, Fr43, Ger65 over Ab, Ger43 over C
SIXTHS = [["G4", "Eb4", "C4", "C3"], ["F4", "C4", "Ab3", "Ab2"],
          ["F#4", "C4", "C3", "Ab2"], ["G4", "B3", "D3", "G2"],
          ["F#4", "D4", "C3", "Ab2"], ["G4", "B3", "D3", "G2"],
          ["F#4", "C4", "Eb3", "Ab2"], ["G4", "B3", "D3", "G2"],
          ["F#4", "Ab3", "Eb3", "C3"], ["G4", "B3", "D3", "G2"], ["G4", "Eb4", "C4", "C3"]]


def test_augmented_sixths_are_named_by_nationality(make_score):
    result = analyze_score(make_score(block_chords(SIXTHS + [SIXTHS[0]] * 5)), AnalyzeOptions(key=(0, "minor")))
    rows = [(b.chord, b.roman) for b in result.beats[2:10:2]]
    assert rows == [("Ab7", "It6"), ("Ab7b5", "Fr43"), ("Ab7", "Ger65"), ("Ab7/C", "Ger43")]
    assert [b.roman for b in result.beats[3:11:2]] == ["V"] * 4
    # the same numerals in the keys found by windows, and through the builtin numerals
    found = analyze_score(make_score(block_chords(SIXTHS + [SIXTHS[0]] * 5)), AnalyzeOptions(roman="builtin"))
    assert {b.key for b in found.beats} == {"c minor"}
    assert [b.roman for b in found.beats[2:10:2]] == ["It6", "Fr43", "Ger65", "Ger43"]


def test_augmented_sixth_numerals_read_back_by_music21_as_the_chords_sounding(make_score):
    # RomanText's numerals, as the corpus analyses write them (BWV 351: It6): music21 reads them back
    from music21 import key, roman

    result = analyze_score(make_score(block_chords(SIXTHS + [SIXTHS[0]] * 5)), AnalyzeOptions(key=(0, "minor")))
    for i in (2, 4, 6, 8):
        sounding = {parse_pitch(p) % 12 for p in SIXTHS[i]}
        rn = roman.RomanNumeral(result.beats[i].roman, key.Key("c"))
        assert {p.pitchClass for p in rn.pitches} == sounding and rn.bass().pitchClass == parse_pitch(SIXTHS[i][3]) % 12


def test_a_german_sixth_to_the_cadential_six_four_and_ab7_as_v7_in_d_flat(make_score):
    to_six_four = SIXTHS[:2] + [["F#4", "C4", "Eb3", "Ab2"], ["G4", "C4", "Eb3", "G2"], ["F4", "B3", "D3", "G2"],
                                ["Eb4", "C4", "G3", "C3"]]
    result = analyze_score(make_score(block_chords(to_six_four + [SIXTHS[0]] * 4)), AnalyzeOptions(key=(0, "minor")))
    assert [b.roman for b in result.beats[2:5]] == ["Ger65", "i64", "V7"]
    # Ab7 going to D-flat is its dominant seventh, in D-flat major as in C minor (VI7 there, not a German sixth)
    to_d_flat = [["Ab4", "F4", "Db4", "Db3"], ["Gb4", "C4", "Eb3", "Ab2"], ["F4", "Db4", "Ab3", "Db3"]]
    result = analyze_score(make_score(block_chords(to_d_flat * 3)), AnalyzeOptions(key=(1, "major")))
    assert [(b.chord, b.roman) for b in result.beats[:3]] == [("Db", "I"), ("Ab7", "V7"), ("Db", "I")]
    result = analyze_score(make_score(block_chords(SIXTHS[:2] + to_d_flat[1:] + [SIXTHS[0]] * 4)),
                           AnalyzeOptions(key=(0, "minor")))
    assert result.beats[2].roman == "VI7"


def test_the_key_signature_settles_the_key_the_notes_leave_open(make_score):
    # D major: a tune D E F# G | A G F# | E D C# | D over D G A D in the bass, one C# in four
    # bars. By the notes alone G major correlates best (its tonic is long in the bass); the file's
    # two sharps (D major) settle it, and a signature naming other keys does not override notes
    # that clearly deny them
    tune = [74, 76, 78, 79, 81, 79, 78, 76, 74, 73, 74, 74]
    notes = [(i * 1.0, 1.0, p, 80) for i, p in enumerate(tune)]
    notes += [(bar * 3.0, 3.0, p, 80) for bar, p in enumerate([50, 43, 45, 50])]

    def keys(signature):
        score = make_score(notes, time_signature=(3, 4))
        if signature is not None:
            score.key_signatures.append(symusic.KeySignature(0, *signature))
        return {(b.tonic, b.mode) for b in analyze_score(score).beats}

    assert keys(None) == {(7, "major")}
    assert keys((2, 0)) == {(2, "major")}
    assert keys((-3, 0)) == keys(None)  # three flats: E-flat major's notes are not these
    assert analyze_score(make_score(notes, time_signature=(3, 4)),
                         AnalyzeOptions(key_signature_weight=0.0)).beats[0].tonic == 7


def test_only_key_signatures_a_file_can_mean_are_heard():
    from scorefarm.symbolic.analysis import usable_key_signatures

    score = symusic.Score(480)
    for tick, key, tonality in [(0, -2, 0), (0, 0, 0), (960, 8, 0), (1920, 1, 2), (2880, -7, 1)]:
        score.key_signatures.append(symusic.KeySignature(tick, key, tonality))
    # of two at one tick the first (the first track's), no eight sharps, no third mode
    assert usable_key_signatures(score) == ((0, -2, 0), (2880, -7, 1))
