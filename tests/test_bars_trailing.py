"""A time signature (or tempo) standing after the last note makes no bar in the MusicXML
we write: the score ends on the bar line after the last note, as a notation program
should show it. Before, a signature past that bar line added empty bars (up to the
signature, and a short one cut by it); the MIDI keeps every event as it was."""

from __future__ import annotations

import re
from fractions import Fraction

import music21
import pytest
import symusic

from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.symbolic.voices import bar_beat

TPQ = 480
Q = TPQ


def _sketch(quarters: int, signatures=((0, 4, 4),), tempos=((0, 100.0),)) -> symusic.Score:
    """A tune over a bass, one note a quarter for ``quarters`` quarters."""
    score = symusic.Score(TPQ)
    for tick, qpm in tempos:
        score.tempos.append(symusic.Tempo(tick, qpm=qpm))
    for sig in signatures:
        score.time_signatures.append(symusic.TimeSignature(*sig))
    tune, bass = symusic.Track("Violin", 40, False), symusic.Track("Cello", 42, False)
    for i in range(quarters):
        tune.notes.append(symusic.Note(i * Q, Q, [72, 74, 76, 77, 79][i % 5], 80))
        bass.notes.append(symusic.Note(i * Q, Q, [48, 53, 55][i % 3], 70))
    score.tracks.extend([tune, bass])
    return score


def _xml(score) -> bytes:
    return musicxml_bytes(orchestrate(score, OrchestrateOptions(ensemble="string-quartet")))


def _measures(data: bytes) -> list[tuple[int, Fraction, Fraction]]:
    """(number, offset, length) of the first staff's measures, in quarters."""
    part = music21.converter.parseData(data.decode("utf-8"), format="musicxml").parts[0]
    return [(m.number, Fraction(m.offset), Fraction(m.duration.quarterLength))
            for m in part.getElementsByClass(music21.stream.Measure)]


# the notes end on the bar line at 12 quarters; each of these stands there or after it
@pytest.mark.parametrize("signatures, tempos", [
    ([(0, 4, 4), (12 * Q, 3, 4)], [(0, 100.0)]),  # on the last bar line
    ([(0, 4, 4), (14 * Q, 3, 4)], [(0, 100.0)]),  # mid-bar after it (was an empty bar of two beats)
    ([(0, 4, 4), (25 * Q, 3, 4)], [(0, 100.0)]),  # bars later (was four empty bars, the last a beat long)
    ([(0, 4, 4), (14 * Q, 3, 4), (20 * Q, 6, 8)], [(0, 100.0)]),
    ([(0, 4, 4)], [(0, 100.0), (14 * Q, 80.0)]),  # a tempo after the last note (was an empty bar)
])
def test_nothing_after_the_last_note_makes_a_bar(signatures, tempos):
    plain = _xml(_sketch(12))
    data = _xml(_sketch(12, signatures, tempos))
    assert [number for number, _, _ in _measures(data)] == [1, 2, 3]
    assert data.count(b"<beats>3</beats>") == 0 and data.count(b"<sound tempo=") == 1
    assert data == plain  # the score as if the late events were not there


def test_a_signature_ending_the_last_bar_short_keeps_it_short():
    # the notes end a beat into bar 3, where 3/4 stands: bar 3 is one beat long, and it is the last
    signatures = [(0, 4, 4), (9 * Q, 3, 4)]
    measures = _measures(_xml(_sketch(9, signatures)))
    assert measures == [(1, 0, 4), (2, 4, 4), (3, 8, 1)]
    assert bar_beat(8 * Q, TPQ, signatures) == (3, 1.0)  # numbered as check numbers it
    # with a note in the 3/4 the signature is written, and the bar after it is whole
    measures = _measures(_xml(_sketch(10, signatures)))
    assert measures == [(1, 0, 4), (2, 4, 4), (3, 8, 1), (4, 9, 3)]


def test_signatures_before_the_last_note_are_all_written():
    signatures = [(0, 4, 4), (6 * Q, 3, 4), (12 * Q, 2, 4)]
    data = _xml(_sketch(14, signatures))
    assert [(number, length) for number, _, length in _measures(data)] == [(1, 4), (2, 2), (3, 3), (4, 3), (5, 2)]
    # 2/4 twice on each of the quartet's staves: bar 2, two beats of 4/4 cut short by the 3/4,
    # is written in a signature of its length, and bar 5 starts the sketch's 2/4
    assert len(re.findall(rb"<beats>2</beats>", data)) == 2 * 4
