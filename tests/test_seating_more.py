"""Seating lines without an instrument of their own: a bass line on the cellos that dips
under their C string, and more lines than a solo string section has parts."""

from __future__ import annotations

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.cli.main import cli

TPQ = 480

# Four lines named for voices (no instrument of their own), one note a beat; the bass
# dips under the cello's C2 (36) for three beats: B1, A1, G1.
SOPRANO = [79, 77, 76, 74, 76, 74, 72, 71, 72, 74, 76, 79, 77, 76, 74, 72]
ALTO = [71, 72, 72, 71, 67, 67, 69, 67, 67, 69, 71, 72, 71, 69, 67, 67]
TENOR = [62, 64, 64, 62, 60, 62, 60, 62, 60, 62, 62, 64, 62, 60, 62, 64]
LOW_BASS = [43, 45, 48, 43, 40, 35, 33, 31, 36, 38, 43, 48, 43, 41, 43, 36]

# Six lines, one note a beat, each stepping down from its top: more lines than the
# chamber ensemble's string quintet has parts above the basses.
SIX = {"Soprano": 79, "Mezzo": 74, "Alto": 69, "Tenor": 64, "Baritone": 57, "Bass": 45}


def multitrack(make_score, lines: dict[str, list[int]]) -> symusic.Score:
    """One track per line (name -> a pitch a beat), program 0: no instrument named."""
    tracks = [(name, [(beat, 0.95, pitch, 80) for beat, pitch in enumerate(pitches)])
              for name, pitches in lines.items()]
    score = make_score(tracks[0][1], name=tracks[0][0])
    for name, notes in tracks[1:]:
        score.tracks.append(make_score(notes, name=name).tracks[0])
    return score


def low_bass(make_score) -> symusic.Score:
    return multitrack(make_score, {"Soprano": SOPRANO, "Alto": ALTO, "Tenor": TENOR, "Bass": LOW_BASS})


def six_lines(make_score) -> symusic.Score:
    return multitrack(make_score, {name: [top - beat % 3 for beat in range(16)] for name, top in SIX.items()})


def on_key(result, key: str) -> list:
    """The notes the parts of instrument ``key`` play."""
    return [p for p in result.placed if result.ensemble.parts[p.part].instrument.key == key]


def seated(result) -> dict[str, str]:
    line = next(n for n in result.notes if n.startswith("tracks seated: "))
    return dict(entry.split(" on ") for entry in line[len("tracks seated: "):].split("; "))


def most_at_once(notes) -> int:
    edges = sorted([(n.time, 1) for n in notes] + [(n.time + max(n.duration, 1), -1) for n in notes])
    count = best = 0
    for _, step in edges:
        count += step
        best = max(best, count)
    return best


@pytest.mark.parametrize("ensemble", ["strings", "chamber", "full-orchestra"])
def test_a_bass_line_on_the_cellos_stays_there_an_octave_up_under_their_c(make_score, ensemble):
    result = orchestrate(low_bass(make_score), OrchestrateOptions(ensemble=ensemble))
    cellos = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "cello")
    assert seated(result)["Bass"] == result.ensemble.parts[cellos].label
    # the basses play the low notes at pitch: they are the sketch's notes
    low = {(beat * TPQ, pitch) for beat, pitch in enumerate(LOW_BASS) if pitch < 36}
    basses = {(p.time, p.pitch) for p in on_key(result, "double-bass") if p.source >= 0}
    assert low <= basses
    # the cellos keep the line: every beat, the rest at pitch, those an octave up
    line = sorted((beat * TPQ, pitch + 12 * (pitch < 36)) for beat, pitch in enumerate(LOW_BASS))
    assert sorted((p.time, p.pitch) for p in on_key(result, "cello")) == line
    # and double nothing but their own line's notes they could not play
    for p in on_key(result, "cello"):
        if p.source < 0:
            assert (p.time, p.pitch - 12) in low and p.doubles.part != cellos


def test_strict_mode_keeps_the_low_notes_on_the_basses_and_adds_nothing(make_score):
    result = orchestrate(low_bass(make_score), OrchestrateOptions(ensemble="strings", strict=True))
    assert all(p.source >= 0 for p in result.placed)
    assert sorted((p.time, p.pitch) for p in on_key(result, "double-bass")) == \
        sorted((beat * TPQ, pitch) for beat, pitch in enumerate(LOW_BASS) if pitch < 36)
    assert sorted((p.time, p.pitch) for p in on_key(result, "cello")) == \
        sorted((beat * TPQ, pitch) for beat, pitch in enumerate(LOW_BASS) if pitch >= 36)


def test_the_other_lines_parts_take_no_doublings(make_score):
    # the rule stands for every line's part: only notes sent off it come back as doublings
    result = orchestrate(low_bass(make_score), OrchestrateOptions(ensemble="full-orchestra"))
    labels = [p.label for p in result.ensemble.parts]
    for label in ("Violins I", "Violins II", "Violas"):
        assert all(p.source >= 0 for p in result.placed if labels[p.part] == label), label


def test_six_lines_for_a_chamber_ensemble_give_the_extra_lines_to_winds(make_score):
    # the string quintet's soloists do not play double stops all through: the two lines
    # the strings above the basses cannot take alone go to the clarinet and the horn,
    # by register; the bass keeps the cello, doubled by the double bass an octave down
    result = orchestrate(six_lines(make_score), OrchestrateOptions(ensemble="chamber"))
    assert seated(result) == {"Soprano": "Violin I", "Mezzo": "Violin II", "Alto": "Clarinet in B♭",
                              "Tenor": "Viola", "Baritone": "Horn in F", "Bass": "Cello"}
    labels = [p.label for p in result.ensemble.parts]
    for label in ("Violin I", "Violin II", "Viola", "Cello", "Clarinet in B♭", "Horn in F"):
        assert most_at_once([p for p in result.placed if labels[p.part] == label]) == 1, label
    bass = sorted((beat * TPQ, SIX["Bass"] - beat % 3) for beat in range(16))
    assert sorted((p.time, p.pitch + 12) for p in on_key(result, "double-bass")) == bass
    # every line is played whole on its own part
    tracks = {name: k for k, name in enumerate(SIX)}
    for name, label in seated(result).items():
        mine = [p for p in result.placed if p.source >= 0 and result.track_of_source[p.source] == tracks[name]]
        assert len(mine) == 16 and {labels[p.part] for p in mine} == {label}, name


@pytest.mark.parametrize("voices", [{"Soprano 1": 79, "Soprano 2": 76, "Alto": 72, "Tenor": 64, "Baritone": 57,
                                     "Bass": 45},
                                    {"Soprano": 79, "Alto": 72, "Tenor": 64, "Baritone": 57, "Bass": 45},
                                    {"S": 84, "M": 79, "A": 74, "T1": 69, "T2": 64, "Bar": 57, "B": 48, "B2": 43}])
def test_in_a_chamber_ensemble_no_part_takes_two_lines_while_a_wind_is_free(make_score, voices):
    score = multitrack(make_score, {name: [top - beat % 3 for beat in range(16)] for name, top in voices.items()})
    result = orchestrate(score, OrchestrateOptions(ensemble="chamber"))
    where = seated(result)
    order = [p.label for p in result.ensemble.parts]
    strings = [order.index(where[name]) for name in voices if result.ensemble.parts[order.index(where[name])]
               .instrument.section == "strings"]
    assert len(set(where.values())) == len(voices)  # a part to each line
    assert strings == sorted(strings) and where[list(voices)[-1]] == "Cello"  # in order, the bass on the cello
    assert "Double Bass" not in where.values()  # which doubles the bass, and nothing else
    bass = sorted((beat * TPQ, list(voices.values())[-1] - beat % 3) for beat in range(16))
    assert sorted((p.time, p.pitch + 12) for p in on_key(result, "double-bass")) == bass


@pytest.mark.parametrize("ensemble, shared", [("strings", {"Violins II": 2, "Violas": 2}),
                                              ("string-quartet", {"Violin II": 2, "Viola": 2})])
def test_sections_divide_and_a_quartet_without_winds_double_stops(make_score, ensemble, shared):
    # a section of strings divides as before; a quartet has no other section to turn to
    result = orchestrate(six_lines(make_score), OrchestrateOptions(ensemble=ensemble))
    where = list(seated(result).values())
    assert {label: where.count(label) for label in shared} == shared
    assert all(result.ensemble.parts[[p.label for p in result.ensemble.parts].index(label)].instrument.section
               == "strings" for label in where)


def test_cli_writes_the_chamber_winds_lines(make_score, tmp_path):
    sketch, out = tmp_path / "six.mid", tmp_path / "six.chamber.mid"
    six_lines(make_score).dump_midi(str(sketch))
    result = CliRunner().invoke(cli, ["orchestrate", str(sketch), "--ensemble", "chamber", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Alto on Clarinet in B♭" in result.output and "Baritone on Horn in F" in result.output
    tracks = {t.name: t for t in symusic.Score(str(out)).tracks}
    for name in ("Violin II", "Viola"):
        assert most_at_once(tracks[name].notes) == 1, name
    assert tracks["Horn in F"].note_num() == 16


def _ensemble_file(tmp_path, name: str, parts: list[tuple[str, str]], players: int = 1) -> str:
    """A TOML file defining ensemble ``name`` of (label, instrument) parts."""
    rows = "\n".join(f'    {{ label = "{label}", instrument = "{instrument}", players = {players} }},'
                     for label, instrument in parts)
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[ensembles.{name}]\ndescription = "test"\nparts = [\n{rows}\n]\n')
    return str(path)


def _lane_labels(tmp_path, name: str, parts: list[tuple[str, str]]) -> list[str]:
    from scorefarm.arrange.catalogue import load_ensemble
    from scorefarm.arrange.orchestrate import _lanes

    ensemble = load_ensemble(_ensemble_file(tmp_path, name, parts))
    return [ensemble.parts[i].label for i in _lanes(ensemble)]


def test_the_bass_lane_is_the_lowest_part_at_pitch_not_the_fourth_from_the_top(tmp_path):
    divided = [("Violins I", "violin"), ("Violins II", "violin"), ("Violas I", "viola"), ("Violas II", "viola"),
               ("Cellos", "cello"), ("Basses", "double-bass")]
    assert _lane_labels(tmp_path, "divided", divided) == ["Violins I", "Violins II", "Violas I", "Cellos"]
    brass = [("Trumpet 1", "trumpet"), ("Trumpet 2", "trumpet"), ("Horn 1", "horn"), ("Horn 2", "horn"),
             ("Trombone", "trombone"), ("Tuba", "tuba")]
    lanes = _lane_labels(tmp_path, "brass", brass)
    assert lanes[0] == "Trumpet 1" and lanes[3] == "Tuba"
    # five string parts and a quartet, as before: the cellos lead the bass, the basses double it
    assert _lane_labels(tmp_path, "five", divided[:3] + divided[4:]) == ["Violins I", "Violins II", "Violas I",
                                                                          "Cellos"]
    assert _lane_labels(tmp_path, "four", [divided[0], divided[1], divided[2], divided[4]]) == [
        "Violins I", "Violins II", "Violas I", "Cellos"]


def test_six_lines_on_a_section_with_divided_violas_use_both_viola_parts(make_score, tmp_path):
    # the basses double the cellos' line: only they are left out of the lines' parts, not
    # every part outside the four lanes (the second violas had been)
    parts = [("Violins I", "violin"), ("Violins II", "violin"), ("Violas I", "viola"), ("Violas II", "viola"),
             ("Cellos", "cello"), ("Basses", "double-bass")]
    path = _ensemble_file(tmp_path, "divided", parts, players=8)
    seats = seated(orchestrate(six_lines(make_score), OrchestrateOptions(ensemble=path)))
    assert seats["Bass"] == "Cellos" and "Basses" not in seats.values()
    assert {"Violas I", "Violas II"} <= set(seats.values())


@pytest.mark.parametrize("voices", [{"Soprano 1": 79, "Soprano 2": 76, "Alto": 72, "Tenor": 64, "Baritone": 57,
                                     "Bass": 45},
                                    {"S": 84, "M": 79, "A": 74, "T1": 69, "T2": 64, "Bar": 57, "B": 48, "B2": 43}])
def test_a_chamber_ensembles_flute_keeps_doubling_the_tune_when_winds_take_lines(make_score, voices):
    # the second soprano goes to the oboe (or stays on Violin II, another line going to a wind),
    # not to the flute, which doubles the tune an octave up or in unison as it does for four lines
    score = multitrack(make_score, {name: [top - beat % 3 for beat in range(16)] for name, top in voices.items()})
    result = orchestrate(score, OrchestrateOptions(ensemble="chamber"))
    assert "Flute" not in seated(result).values()
    tune = sorted((beat * TPQ, list(voices.values())[0] - beat % 3) for beat in range(16))
    flute = on_key(result, "flute")
    assert all(p.source < 0 and result.track_of_source[p.doubles.source] == 0 for p in flute)
    assert sorted((p.time, p.pitch - 12 * (p.pitch - p.doubles.pitch == 12)) for p in flute) == tune


def test_the_flute_takes_a_line_rather_than_a_soloist_playing_double_stops(make_score):
    # nine lines for nine parts (the double bass doubling the bass): every wind takes one
    voices = {"S": 84, "S2": 81, "M": 79, "A": 74, "T1": 69, "T2": 64, "Bar": 57, "B": 48, "B2": 43}
    score = multitrack(make_score, {name: [top - beat % 3 for beat in range(16)] for name, top in voices.items()})
    where = seated(orchestrate(score, OrchestrateOptions(ensemble="chamber")))
    assert len(set(where.values())) == len(voices) and "Flute" in where.values()
