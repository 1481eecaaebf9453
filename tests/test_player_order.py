"""Players of one instrument in score order: the 1st at or above the 2nd (``players``), struck
together or entering while the other holds."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import symusic

from scorefarm.arrange.catalogue import load_ensemble
from scorefarm.arrange.doubling import add_doublings
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.placement import Occupancy, Placed
from scorefarm.arrange.players import player_groups, players_top_down
from scorefarm.symbolic.score_io import load_score

TUNE = [79, 77, 79, 77, 81, 79, 81, 79, 79, 77, 79, 77, 81, 79, 81, 79]  # G5 F5 ... (the QA sketch's flute)


def _flute_over_piano() -> symusic.Score:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    flute = symusic.Track("Flute", 73, False)
    piano = symusic.Track("Piano", 0, False)
    for beat, pitch in enumerate(TUNE):
        flute.notes.append(symusic.Note(beat * 480, 480, pitch, 96))
        for chord_note in ((64, 67, 48) if beat % 4 < 2 else (62, 65, 43)):
            piano.notes.append(symusic.Note(beat * 480, 480, chord_note, 90))
    score.tracks.extend([flute, piano])
    return score


def _pairs(result, first: str, second: str) -> list[tuple[int, int]]:
    """(1st player's pitch, 2nd player's pitch) wherever both sound at once."""
    labels = [p.label for p in result.ensemble.parts]
    a, b = labels.index(first), labels.index(second)
    ones = [n for n in result.placed if n.part == a]
    return [(one.pitch, two.pitch) for two in result.placed if two.part == b for one in ones
            if one.time < two.time + two.duration and two.time < one.time + one.duration]


def test_a_second_player_doubling_the_first_players_tune_takes_the_octave_below():
    result = orchestrate(_flute_over_piano(), OrchestrateOptions(ensemble="full-orchestra"))
    assert any("on Flute 1" in line for line in result.notes)  # the flute's track is seated on Flute 1
    pairs = _pairs(result, "Flute 1", "Flute 2")
    assert len(pairs) >= len(TUNE) // 2  # Flute 2 doubles the tune (the flute rule, from mp)
    assert all(two <= one for one, two in pairs)
    assert sum(two == one - 12 for one, two in pairs) >= len(pairs) // 2  # the rule's octave, turned down


def test_doublings_struck_together_go_top_down_in_score_order():
    # two melody notes struck together on the first violins, a fourth apart, the lower placed
    # first: the flute rule doubles the chord at one octave (the octave up would put the upper
    # note in the extreme register: unison), the first flute free takes the first doubling,
    # and the dealing gives Flute 1 the higher one
    ensemble = load_ensemble("full-orchestra")
    labels = [p.label for p in ensemble.parts]
    violins = labels.index("Violins I")
    occupancy, placed = Occupancy(ensemble.parts), []
    for k, pitch in enumerate((81, 86)):
        placed.append(Placed(0, 480, pitch, 100, violins, k, "melody", 3))
        occupancy.take(violins, 0, 480, k)
    lanes = [labels.index(name) for name in ("Violins I", "Violins II", "Violas", "Cellos")]
    add_doublings(ensemble, occupancy, placed, lanes, 480, 4.0, (0, 7))
    flutes = {labels[n.part]: n.pitch for n in placed if labels[n.part].startswith("Flute")}
    assert sorted(flutes.values()) == [81, 86]  # both doublings, at one octave ...
    assert flutes["Flute 1"] > flutes["Flute 2"]  # ... the higher by the 1st player


# -- staggered entries: one player enters while the other holds (``players``)

DEMO = Path(__file__).resolve().parents[1] / "corpora" / "demo" / "sketches"


def _crossing_quarters(result) -> float:
    """Quarters during which a later player of an instrument (score order) sounds above the
    earlier one: the top of the 2nd over the top of the 1st, both sounding."""
    parts, tpq = result.ensemble.parts, result.source.tpq
    total = 0
    for group in player_groups(parts):
        for first, second in zip(group, group[1:]):
            ones = [n for n in result.placed if n.part == first]
            twos = [n for n in result.placed if n.part == second]
            edges = sorted({n.time for n in ones + twos} | {n.time + n.duration for n in ones + twos})
            for tick, following in zip(edges, edges[1:]):
                up = [n.pitch for n in ones if n.time <= tick < n.time + n.duration]
                down = [n.pitch for n in twos if n.time <= tick < n.time + n.duration]
                total += (following - tick) * bool(up and down and max(down) > max(up))
    return total / tpq


def _playable(result) -> None:
    """Every part within its range and its notes at once; each source note's part is the
    part of the placed note playing it."""
    for index, part in enumerate(result.ensemble.parts):
        notes = [n for n in result.placed if n.part == index]
        assert all(part.instrument.in_range(n.pitch) for n in notes if not part.instrument.unpitched)
        edges = sorted([(n.time, 1) for n in notes] + [(n.time + max(n.duration, 1), -1) for n in notes])
        assert max(itertools.accumulate(step for _, step in edges), default=0) <= part.max_notes, part.label
    for note in result.placed:
        if note.source >= 0:
            assert result.part_of_source[note.source] == note.part


@pytest.mark.parametrize("ensemble", ["string-quartet", "strings", "full-orchestra"])
def test_the_demos_letters_sketch_has_no_second_player_above_the_first(ensemble):
    # 2M1's piano, bar 5: G flat 4 held under the pedal, B flat 4 and D flat 5 struck on the
    # next beats: the violins, and the flutes and oboes doubling them, put the 2nd player above
    # the 1st (before: 2 quarters in all for the quartet, 11.4 for the orchestra)
    score = load_score(DEMO / "2m1_letters.mid")
    result = orchestrate(score, OrchestrateOptions(ensemble=ensemble))
    assert _crossing_quarters(result) == 0
    _playable(result)


def _ensemble_notes(ensemble, notes: list[tuple[str, int, int, int]]) -> tuple[list, list[str]]:
    labels = [p.label for p in ensemble.parts]
    return [Placed(start, length, pitch, 80, labels.index(label), -1, "melody", 3)
            for label, start, length, pitch in notes], labels


def test_a_held_note_under_a_later_entry_changes_player():
    # Flute 1 holds C6 for two beats, Flute 2 enters on E6 on the second: the players exchange
    ensemble = load_ensemble("full-orchestra")
    placed, labels = _ensemble_notes(ensemble, [("Flute 1", 0, 960, 84), ("Flute 2", 480, 480, 88)])
    assert players_top_down(ensemble.parts, placed, frozenset(), 480)
    assert [(labels[n.part], n.pitch) for n in placed] == [("Flute 2", 84), ("Flute 1", 88)]


def test_a_part_playing_one_note_takes_only_one_in_the_exchange():
    # Trumpets 2–3 hold G4 and C5, Trumpet 1 enters on B flat 4 between them: Trumpet 1 (one
    # note at once) cannot take both held notes; it takes the C5, and the B flat joins the G
    ensemble = load_ensemble("full-orchestra")
    placed, labels = _ensemble_notes(ensemble, [("Trumpets 2–3", 0, 960, 67), ("Trumpets 2–3", 0, 960, 72),
                                                ("Trumpet 1", 480, 480, 70)])
    players_top_down(ensemble.parts, placed, frozenset(), 480)
    assert sorted((labels[n.part], n.pitch) for n in placed) == [
        ("Trumpet 1", 72), ("Trumpets 2–3", 67), ("Trumpets 2–3", 70)]


def test_a_doubling_held_over_an_entry_it_cannot_swap_with_lets_go():
    # Clarinet 1 holds an A4 doubling for four bars while Clarinet 2 doubles a line that rises
    # above it: no dealing of one held note and a line can put the 2nd under it, so the held
    # doubling ends where the line crosses it
    ensemble = load_ensemble("full-orchestra")
    line = [("Clarinet in B♭ 2", k * 480, 480, pitch) for k, pitch in enumerate((62, 64, 65, 67, 72, 74, 72, 67))]
    placed, labels = _ensemble_notes(ensemble, [("Clarinet in B♭ 1", 0, 16 * 480, 69)] + line)
    players_top_down(ensemble.parts, placed, frozenset(), 480)
    held = placed[0]
    assert labels[held.part] == "Clarinet in B♭ 1" and held.duration == 4 * 480  # until the C5
    assert all(labels[n.part] == "Clarinet in B♭ 2" for n in placed[1:])


def test_a_track_seated_on_its_desk_keeps_the_crossing_its_composer_wrote(make_score):
    # "Violin II" enters above a held "Violin I" note: each track stays on its desk
    first = make_score([(0, 2.0, 67, 80), (2, 2.0, 69, 80)], name="Violin I", program=40)
    second = make_score([(1, 1.0, 72, 80), (2, 2.0, 65, 80)], name="Violin II", program=40)
    first.tracks.append(second.tracks[0])
    for ensemble, desks in (("string-quartet", ("Violin I", "Violin II")), ("strings", ("Violins I", "Violins II"))):
        result = orchestrate(first, OrchestrateOptions(ensemble=ensemble))
        labels = [p.label for p in result.ensemble.parts]
        for track, desk in enumerate(desks):
            assert {labels[i] for i in result.part_of_source[result.track_of_source == track].tolist()} == {desk}
        assert _crossing_quarters(result) == 1.0


def test_dealing_thick_chords_between_two_keyboards_stays_bounded():
    """Two parts of one instrument playing thick chords: the dealing's search keeps its
    cheapest states (``players.BEAM``), and leaves a stretch in which more than
    ``players.MAX_STRUCK`` notes start at once as placed. Before, two pianos' six-note chords
    every eighth ran for minutes and gigabytes."""
    from scorefarm.arrange import players

    def rows(chords):
        out = []
        for k, (side, pitches) in enumerate(chords):
            for pitch in pitches:
                out.append(players._Note(side, k * 240, k * 240 + 720, k * 240 + 660, pitch, True, True))
        return sorted(out, key=lambda r: (r.start, r.pitch))

    struck = rows([(0, range(60, 67)), (1, range(70, 72))])  # 7 notes at once on the 1st part
    assert players._deal(struck, (8, 8), [False, False]) == [0] * len(struck)
    # 48 chords of 3 notes, the 2nd part's above the 1st's every other eighth, each held three
    # eighths: the dealing finishes, and puts the 2nd under the 1st no less than it was
    chords = [(k % 2, [48 + 12 * (k % 2) + 4 * j + (k % 3) for j in range(3)]) for k in range(48)]
    stretch = rows(chords)
    labels = players._deal(stretch, (6, 6), [False, False])
    dealt = [r._replace(side=r.side ^ label) for r, label in zip(stretch, labels)]
    assert players._crossing(dealt) < players._crossing(stretch)
