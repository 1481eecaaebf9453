"""The harmonizer's key from the file's key signature, and a chord for a last note struck off the beat."""

from __future__ import annotations

import pytest
import symusic

from scorefarm.symbolic.chorale_model import load_model
from scorefarm.symbolic.chord_search import find_key, held_note_kind, key_scores
from scorefarm.symbolic.chords import key_signature
from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_melody
from scorefarm.symbolic.melody import extract_melody, melody_slots
from scorefarm.symbolic.voices import voice_ranges

TPQ = 480


def _tune(number: int, metre: tuple[int, int], signature: int | None = None) -> symusic.Score:
    """Tune ``number`` of Aird's Airs book 1 (music21 corpus) as a one-track MIDI melody."""
    from music21 import corpus

    tune = corpus.parse("airdsAirs/book1.abc", number=number)
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, *metre))
    if signature is not None:
        score.key_signatures.append(symusic.KeySignature(0, signature, 0))
    track = symusic.Track("Melody", 0, False)
    for n in tune.flatten().notes:
        track.notes.append(symusic.Note(int(round(n.offset * TPQ)), int(round(n.quarterLength * TPQ)),
                                        n.pitch.midi, 80))
    score.tracks.append(track)
    return score


def _jig(signature: int | None) -> symusic.Score:
    """'A Spanish Jigg' (no. 78): a G-major 6/8 tune whose last G is struck on a beat's second
    eighth, after an F#."""
    return _tune(78, (6, 8), signature)


def test_the_key_signature_decides_between_keys_the_tune_fits_about_equally():
    melody = extract_melody(_jig(None), voice_ranges("chorale")["Soprano"])
    slots, model = melody_slots(melody), load_model()
    scores = key_scores(model, slots, HarmonizeOptions(), None, melody.notes)
    (first, best), (second, runner_up) = sorted(scores.items(), key=lambda kv: -kv[1])[:2]
    assert first == (7, "major")
    margin = best - runner_up
    signature = (key_signature(*second), second[1] == "minor")  # the runner-up's own signature
    for weight, expected in ((margin * 1.5, second), (margin * 0.5, first)):
        options = HarmonizeOptions(key_signature_weight=weight)
        assert find_key(model, slots, options, signature, melody.notes) == expected
    # read from the file, said in the notes
    result = harmonize_melody(_jig(1), HarmonizeOptions())
    assert result.key == (7, "major")
    assert any(note.endswith("(found from the melody and its key signature, 1 sharp)") for note in result.notes)


def test_a_minor_signature_favours_the_minor_key_alone():
    melody = extract_melody(_jig(None), voice_ranges("chorale")["Soprano"])
    slots, model = melody_slots(melody), load_model()
    plain = key_scores(model, slots, HarmonizeOptions(), None, melody.notes)
    said_minor = key_scores(model, slots, HarmonizeOptions(), (1, True), melody.notes)
    said_major = key_scores(model, slots, HarmonizeOptions(), (1, False), melody.notes)
    weight = HarmonizeOptions().key_signature_weight
    assert said_minor[(4, "minor")] == pytest.approx(plain[(4, "minor")] + weight)
    assert said_minor[(7, "major")] == pytest.approx(plain[(7, "major")])
    assert said_major[(7, "major")] == pytest.approx(plain[(7, "major")] + weight)
    assert said_major[(4, "minor")] == pytest.approx(plain[(4, "minor")] + weight)


def test_a_signature_does_not_overrule_a_melody_that_fits_another_key_well():
    score = _jig(-3)  # three flats: E-flat major / C minor, which the tune does not fit
    assert harmonize_melody(score, HarmonizeOptions()).key == (7, "major")


def test_the_last_note_struck_inside_a_beat_gets_a_chord_of_its_own():
    score = _jig(1)
    last = max(n.time for n in score.tracks[0].notes)
    melody = extract_melody(score, voice_ranges("chorale")["Soprano"])
    slots = melody_slots(melody)
    assert slots[-1].start == last and slots[-2].end == last  # the beat is cut at the last note
    for style in ("chorale", "film"):
        result = harmonize_melody(score, HarmonizeOptions(style=style))
        assert result.chords[-1].start == last
        bass = [n for n in result.voices.parts[3].notes if n.start <= last < n.end]
        assert bass and bass[0].pitch % 12 == 7 and bass[0].start == last  # G under the final G, struck with it


def _reel() -> symusic.Score:
    """'Lord Kelly's Reel' (no. 170): A major, 2/4, running sixteenths."""
    return _tune(170, (2, 4))


def test_no_melody_note_inside_a_beat_makes_a_cross_relation_with_its_chord():
    """A chord a beat (film style in 2/4 changes chord every beat) is chosen against every
    melody note of its beat: no borrowed D minor under a passing F#5."""
    score = _reel()
    melody = [(n.time, n.time + n.duration, n.pitch) for n in score.tracks[0].notes]
    for style in ("film", "chorale"):
        result = harmonize_melody(score, HarmonizeOptions(style=style))
        tonic = result.key[0]
        for chord, (_, pcs) in zip(result.chords, result.states):
            for start, end, pitch in melody:
                if start < chord.end and end > chord.start:
                    assert held_note_kind((pitch - tonic) % 12, pcs) != "cross_relation", (style, chord, pitch)
