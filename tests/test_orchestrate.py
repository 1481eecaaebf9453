"""Orchestration: placement, doublings, articulations, dynamics, MIDI and MusicXML."""

from __future__ import annotations

import numpy as np
import pytest
import symusic
from click.testing import CliRunner

from scorefarm.arrange.catalogue import load_ensemble
from scorefarm.arrange.dynamics import LEVELS
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.output import daw_midi_bytes, orchestra_score
from scorefarm.cli.main import cli

# A four-part progression in C, soprano to bass, one chord per beat (I IV V I ...).
CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48),
          (74, 69, 65, 50), (74, 67, 65, 55), (72, 67, 64, 48), (71, 67, 62, 43)]


def satb(make_score, velocity: int = 80, repeat: int = 1) -> symusic.Score:
    notes = []
    for r in range(repeat):
        for beat, chord in enumerate(CHORDS):
            notes += [(r * len(CHORDS) + beat, 1.0, pitch, velocity) for pitch in chord]
    return make_score(notes)


def source_pairs(score: symusic.Score) -> set[tuple[int, int]]:
    return {(n.time, n.pitch) for t in score.tracks if not t.is_drum for n in t.notes}


def max_sounding(notes) -> int:
    edges = sorted([(n.time, 1) for n in notes] + [(n.time + max(n.duration, 1), -1) for n in notes],
                   key=lambda e: (e[0], e[1]))
    count = best = 0
    for _, step in edges:
        count += step
        best = max(best, count)
    return best


def test_strict_quartet_puts_each_voice_on_its_instrument(make_score):
    result = orchestrate(satb(make_score), OrchestrateOptions(ensemble="string-quartet", strict=True))
    labels = [p.label for p in result.ensemble.parts]
    by_pitch_rank = {}
    for placed in result.placed:
        by_pitch_rank.setdefault(placed.time, []).append(placed)
    assert all(p.source >= 0 for p in result.placed)  # no doublings
    assert len(result.placed) == len(result.source_notes)
    for chord in by_pitch_rank.values():
        chord.sort(key=lambda p: -p.pitch)
        assert [labels[p.part] for p in chord] == labels[:4]


def test_full_orchestra_keeps_every_note_in_range_and_doubles_when_loud(make_score):
    score = satb(make_score, velocity=112, repeat=2)
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    placed_pairs = {(p.time, p.pitch) for p in result.placed}
    assert source_pairs(score) <= placed_pairs  # note recall 1.0
    for index, part in enumerate(result.ensemble.parts):
        notes = [p for p in result.placed if p.part == index]
        assert all(part.instrument.in_range(p.pitch) for p in notes), part.label
        if notes:
            assert max_sounding(notes) <= part.max_notes, part.label
    labels = {result.ensemble.parts[p.part].instrument.key for p in result.placed}
    assert {"double-bass", "flute", "cello"} <= labels
    cellos = {p.time: p.pitch for p in result.placed if result.ensemble.parts[p.part].instrument.key == "cello"}
    basses = {p.time: p.pitch for p in result.placed
              if result.ensemble.parts[p.part].instrument.key == "double-bass"}
    assert any(basses.get(t) == pitch - 12 for t, pitch in cellos.items())  # an octave apart


def test_texture_thickens_with_the_dynamics(make_score):
    quiet = orchestrate(satb(make_score, velocity=30, repeat=2), OrchestrateOptions(ensemble="full-orchestra"))
    loud = orchestrate(satb(make_score, velocity=115, repeat=2), OrchestrateOptions(ensemble="full-orchestra"))
    assert len(loud.placed) > len(quiet.placed) + len(quiet.source_notes) // 2
    brass = {"brass"}
    assert not any(quiet.ensemble.parts[p.part].instrument.section in brass for p in quiet.placed)
    assert any(loud.ensemble.parts[p.part].instrument.section in brass for p in loud.placed)


def test_notes_outside_every_instrument_are_moved_by_octaves_and_reported(make_score):
    score = make_score([(0, 1, 20, 80), (1, 1, 60, 80)])  # A0 is below a string quartet
    result = orchestrate(score, OrchestrateOptions(ensemble="string-quartet", strict=True))
    low = [p for p in result.placed if p.source == 0][0]
    assert low.pitch % 12 == 20 % 12 and low.pitch >= 36
    assert any("moved by octaves" in n for n in result.notes)


def test_no_part_sounds_one_pitch_twice_at_once(make_score):
    # a loud reduction whose hands double each other: the melody struck twice in unison
    # (two lengths), the bass in octaves, and a held inner note struck again
    notes = []
    for beat, (s, a, t, b) in enumerate(CHORDS * 2):
        notes += [(beat, 1.0, s, 112), (beat, 0.5, s, 100), (beat, 1.0, a, 104), (beat, 1.0, t, 104),
                  (beat, 1.0, b, 112), (beat, 1.0, b - 12, 112)]
    notes += [(0, 3.0, 64, 104), (1, 1.0, 64, 104)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for p in result.placed:
        spans.setdefault((p.part, p.pitch), []).append((p.time, p.time + p.duration))
    for (part, pitch), found in spans.items():
        found.sort()
        assert all(a[1] <= b[0] for a, b in zip(found, found[1:])), (result.ensemble.parts[part].label, pitch)
    assert any("already sounding their pitch" in n for n in result.notes)
    placed_pairs = {(p.time, p.pitch) for p in result.placed}
    assert {(int(b * 480), pitch) for b, _, pitch, _ in notes} <= placed_pairs  # every source note still sounds
    score = symusic.Score.from_midi(daw_midi_bytes(result))
    for track in score.tracks:
        by_pitch: dict[int, list] = {}
        for n in track.notes:
            by_pitch.setdefault(n.pitch, []).append((n.time, n.end))
        for found in by_pitch.values():
            found.sort()
            assert all(a[1] <= b[0] for a, b in zip(found, found[1:])), track.name


def test_drums_are_kept_as_percussion(make_score):
    score = satb(make_score)
    drums = symusic.Track("Kit", 0, True)
    drums.notes.append(symusic.Note(0, 240, 36, 100))
    score.tracks.append(drums)
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    rendered = orchestra_score(result, render=True)
    assert sum(t.note_num() for t in rendered.tracks if t.is_drum) == 1
    assert any("drum notes kept" in n for n in result.notes)


def test_kit_notes_go_to_the_ensembles_percussion_parts_and_the_rest_to_a_kit_staff(make_score):
    import music21

    from scorefarm.arrange.notation import musicxml_bytes

    score = satb(make_score, velocity=100)
    kit = symusic.Track("Kit", 0, True)
    for beat in range(8):
        kit.notes.append(symusic.Note(beat * 480, 120, 36 if beat % 2 == 0 else 38, 100))  # kick, snare
        kit.notes.append(symusic.Note(beat * 480 + 240, 60, 42, 70))  # closed hi-hat: a kit sound
    kit.notes.append(symusic.Note(0, 480, 49, 110))  # crash
    score.tracks.append(kit)
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    labels = [p.label for p in result.ensemble.parts]
    on_parts = {}
    for p in result.placed:
        if p.role == "percussion":
            on_parts.setdefault(labels[p.part], set()).add(p.pitch)
    assert on_parts == {"Bass Drum": {36}, "Snare Drum": {38}, "Suspended Cymbal": {49}}
    assert [n.pitch for t in result.drums for n in t.notes] == [42] * 8  # only the hi-hat stays on the kit
    assert any("Snare Drum 4" in n and "drum kit track 8" in n for n in result.notes)
    midi = symusic.Score.from_midi(daw_midi_bytes(result))
    snare = next(t for t in midi.tracks if t.name == "Snare Drum")
    assert snare.is_drum and [n.pitch for n in snare.notes] == [38] * 4
    parsed = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    staves = {p.partName: p for p in parsed.parts}
    names = list(staves)
    assert names[names.index("Drum Kit") + 1] == "Timpani"  # the kit staff opens the percussion section
    unpitched = {name: len(part.recurse().getElementsByClass(music21.note.Unpitched)) for name, part in staves.items()}
    assert unpitched["Snare Drum"] == 4 and unpitched["Bass Drum"] == 4 and unpitched["Suspended Cymbal"] == 1
    assert unpitched["Drum Kit"] == 8


def test_a_drum_part_accents_its_loud_strokes_instead_of_changing_dynamic(make_score):
    import music21

    from scorefarm.arrange.notation import musicxml_bytes

    score = satb(make_score, velocity=90, repeat=2)
    kit = symusic.Track("Kit", 0, True)
    for eighth in range(32):  # eighths on the snare, the backbeats hit hard, ghost notes between
        velocity = 112 if eighth % 4 == 2 else 72
        kit.notes.append(symusic.Note(eighth * 240, 60, 38, velocity))
    score.tracks.append(kit)
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    snare = [p for p in result.placed if p.role == "percussion"]
    assert len(snare) == 32
    assert len({p.level for p in snare[4:-4]}) == 1  # one dynamic through the groove
    assert [p.articulation == "accent" for p in snare] == [e % 4 == 2 for e in range(32)]
    parsed = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    part = next(p for p in parsed.parts if p.partName == "Snare Drum")
    assert len(part.recurse().getElementsByClass(music21.dynamics.Dynamic)) <= 2
    accents = [n for n in part.recurse().notes if any(isinstance(a, music21.articulations.Accent)
                                                       for a in n.articulations)]
    assert len(accents) == 8


def test_articulations_follow_lengths_and_context(make_score):
    notes = [(i * 0.5, 0.2, 62 + (i % 3), 70) for i in range(8)]  # short detached eighths
    notes += [(4 + i * 0.125, 0.12, 67, 70) for i in range(8)]  # fast repeats: measured tremolo
    notes += [(5, 2, 69, 70), (7, 1, 71, 70)]  # held, stepwise: legato
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="string-quartet"))
    assert {result.ensemble.parts[p.part].label for p in result.placed} == {"Violin I"}  # a lone line leads
    by_time = {(p.time, p.pitch): p.articulation for p in result.placed}
    assert by_time[(0, 62)] in {"spiccato", "staccato"}
    assert by_time[(480 * 4, 67)] == "tremolo"
    assert by_time[(480 * 5, 69)] == "legato"
    tremolo = [p for p in result.placed if p.articulation == "tremolo"]
    assert all(p.program == 44 for p in tremolo) and len(tremolo) == 8


def test_daw_midi_has_one_named_track_per_part_with_dynamics(make_score):
    result = orchestrate(satb(make_score, velocity=100, repeat=2), OrchestrateOptions(ensemble="strings"))
    data = daw_midi_bytes(result)
    score = symusic.Score.from_midi(data)
    names = [t.name for t in score.tracks]
    assert names == [p.label for p in result.ensemble.parts]
    for track in score.tracks:
        numbers = {c.number for c in track.controls}
        if track.note_num():
            assert {1, 11} <= numbers
    again = orchestrate(satb(make_score, velocity=100, repeat=2), OrchestrateOptions(ensemble="strings"))
    assert data == daw_midi_bytes(again)


@pytest.mark.parametrize("beats", [1, 2, 4])
def test_a_sketch_of_a_bar_or_less_orchestrates(make_score, beats):
    # the dynamic line is smoothed over five beats: a shorter piece must still get one level per beat
    notes = [(b, 1.0, pitch, 70 + 10 * b) for b in range(beats) for pitch in CHORDS[b]]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="strings"))
    score = symusic.Score.from_midi(daw_midi_bytes(result))
    assert {n.pitch for t in score.tracks for n in t.notes} >= {p for b in range(beats) for p in CHORDS[b]}
    assert any(c.number == 1 for t in score.tracks for c in t.controls)


def test_pizzicato_is_a_program_change_on_the_same_track(make_score):
    notes = [(i * 0.5, 0.2, 43 + (i % 2) * 7, 60) for i in range(8)]  # a quiet plucked bass figure
    notes += [(i, 1, 72, 60) for i in range(4)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="strings"))
    assert any(p.articulation == "pizzicato" for p in result.placed)
    data = daw_midi_bytes(result)
    from scorefarm.symbolic.smf_read import read_chunks, track_events

    _, _, bodies = read_chunks(data, "test")
    programs_per_track = [{raw[1] for _, raw in track_events(body, "test") if 0xC0 <= raw[0] < 0xD0}
                          for body in bodies]
    assert any(45 in programs and len(programs) >= 2 for programs in programs_per_track)
    assert len(bodies) == 1 + len(result.ensemble.parts)


def test_musicxml_is_written_pitch_and_reads_back(make_score):
    import music21

    from scorefarm.arrange.notation import musicxml_bytes

    result = orchestrate(satb(make_score, velocity=112), OrchestrateOptions(ensemble="chamber"))
    data = musicxml_bytes(result, title="Test")
    assert data == musicxml_bytes(result, title="Test")
    parsed = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    names = [p.partName for p in parsed.parts]
    assert names == [p.label for p in result.ensemble.parts]
    assert b"<transpose>" in data
    clarinet = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "clarinet")
    sounding = sorted(p.pitch for p in result.placed if p.part == clarinet)
    written = sorted(n.pitch.midi for n in parsed.parts[clarinet].recurse().notes
                     for n in ([n] if isinstance(n, music21.note.Note) else n.notes))
    if sounding:
        assert written[0] == sounding[0] + 2  # B-flat clarinet: written a tone above sounding


def test_cli_orchestrate_writes_midi_and_musicxml(make_score, tmp_path):
    source = tmp_path / "piano.mid"
    satb(make_score).dump_midi(str(source))
    out, xml = tmp_path / "o.mid", tmp_path / "o.musicxml"
    result = CliRunner().invoke(cli, ["orchestrate", str(source), "--ensemble", "string-quartet", "-o", str(out),
                                      "--musicxml", str(xml)])
    assert result.exit_code == 0, result.output
    assert out.exists() and xml.exists()
    assert symusic.Score(str(out)).note_num() >= 32


def test_cli_unknown_ensemble_lists_known_ones_and_writes_nothing(make_score, tmp_path):
    source = tmp_path / "piano.mid"
    satb(make_score).dump_midi(str(source))
    out = tmp_path / "o.mid"
    result = CliRunner().invoke(cli, ["orchestrate", str(source), "--ensemble", "kazoo-band", "-o", str(out)])
    assert result.exit_code == 2
    assert "string-quartet" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_cli_empty_file_is_a_clear_error(tmp_path):
    source = tmp_path / "empty.mid"
    source.write_bytes(b"")
    result = CliRunner().invoke(cli, ["orchestrate", str(source), "-o", str(tmp_path / "o.mid")])
    assert result.exit_code == 2
    assert "empty.mid" in result.output


def test_keyswitches_are_added_only_when_asked(make_score, tmp_path):
    from scorefarm.arrange.catalogue import keyswitch_maps

    library = sorted(keyswitch_maps())[0]
    result = orchestrate(satb(make_score), OrchestrateOptions(ensemble="strings"))
    plain = symusic.Score.from_midi(daw_midi_bytes(result))
    switched = symusic.Score.from_midi(daw_midi_bytes(result, keyswitches=keyswitch_maps()[library]))
    added = switched.note_num() - plain.note_num() + sum(len(t.controls) for t in switched.tracks) \
        - sum(len(t.controls) for t in plain.tracks)
    assert added > 0


@pytest.mark.parametrize("ensemble", ["string-quartet", "strings", "chamber", "full-orchestra", "hybrid", "choir",
                                      "piano"])
def test_every_template_orchestrates_within_its_limits(make_score, ensemble):
    rng = np.random.default_rng(3)
    notes = [(float(t) / 2, float(rng.choice([0.5, 1, 2])), int(p), int(v))
             for t, p, v in zip(range(64), rng.integers(28, 96, 64), rng.integers(30, 120, 64))]
    score = make_score(notes)
    result = orchestrate(score, OrchestrateOptions(ensemble=ensemble))
    ens = load_ensemble(ensemble)
    reachable = {(t, p) for t, p in source_pairs(score) if any(part.instrument.in_range(p) for part in ens.parts)}
    assert reachable <= {(p.time, p.pitch) for p in result.placed}  # recall of every note some part can play
    assert len({p.source for p in result.placed if p.source >= 0}) == len(result.source_notes)
    for index, part in enumerate(ens.parts):
        notes_here = [p for p in result.placed if p.part == index]
        assert all(part.instrument.in_range(p.pitch) for p in notes_here)
        if notes_here:
            assert max_sounding(notes_here) <= part.max_notes


def test_cli_lists_ensembles_without_a_file():
    result = CliRunner().invoke(cli, ["orchestrate", "--list-ensembles"])
    assert result.exit_code == 0
    for name in ("string-quartet", "strings", "chamber", "full-orchestra", "hybrid"):
        assert f"{name}: " in result.output


def test_a_user_ensemble_file_orchestrates(make_score, tmp_path):
    source = tmp_path / "piano.mid"
    satb(make_score).dump_midi(str(source))
    (tmp_path / "duo.toml").write_text('[ensembles.duo]\ndescription = "Cello and piano"\nparts = [\n'
                                       '  { label = "Solo Cello", instrument = "cello" },\n'
                                       '  { label = "Piano", instrument = "piano" },\n]\n')
    out = tmp_path / "o.mid"
    result = CliRunner().invoke(cli, ["orchestrate", str(source), "--ensemble", "duo",
                                      "--ensemble-file", str(tmp_path / "duo.toml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert {t.name for t in symusic.Score(str(out)).tracks} <= {"Solo Cello", "Piano"}


def refused(result, path, text: str) -> None:
    """Exit 2, one line on stderr naming ``path`` as given, no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"compose: error: {path}: ") and text in lines[0], result.stderr


@pytest.fixture
def piano_without_work(make_score, tmp_path, monkeypatch):
    """piano.mid in tmp_path (the cwd); orchestrating fails the test, so a refusal is
    known to come before the work."""
    from scorefarm.arrange import output

    def work(*args, **kwargs):
        raise AssertionError("orchestrated; the command should have been refused first")

    monkeypatch.setattr(output, "write_orchestration", work)
    monkeypatch.chdir(tmp_path)
    satb(make_score).dump_midi("piano.mid")
    (tmp_path / "folder.mid").mkdir()
    (tmp_path / "folder.xml").mkdir()
    return tmp_path / "piano.mid"


@pytest.mark.parametrize("args, path, text", [
    (["-o", "out.txt"], "out.txt", "must be a MIDI file (.mid or .midi), got '.txt'"),
    (["-o", "folder.mid"], "folder.mid", "is a folder"),
    (["-o", "piano.mid"], "piano.mid", "would overwrite the input"),
    (["--musicxml", "out.txt"], "out.txt", "must be an uncompressed MusicXML file (.musicxml or .xml)"),
    (["--musicxml", "out.mxl"], "out.mxl", "must be an uncompressed MusicXML file"),
    (["--musicxml", "folder.xml"], "folder.xml", "is a folder"),
    (["--keyswitch-file", "nope.toml"], "nope.toml", "no such file"),
    (["--keyswitch-file", "piano.mid"], "piano.mid", "cannot be read"),
])
def test_cli_refuses_bad_outputs_and_keyswitch_files_before_the_work(piano_without_work, args, path, text):
    before = piano_without_work.read_bytes()
    refused(CliRunner().invoke(cli, ["orchestrate", "piano.mid", "--ensemble", "strings", *args]), path, text)
    assert piano_without_work.read_bytes() == before


def test_cli_keyswitch_file_needs_keyswitches(piano_without_work):
    (piano_without_work.parent / "mine.toml").write_text(
        '[libraries.mine]\nsource = "test"\n[libraries.mine.switches.strings]\nsustain = 24\n')
    refused(CliRunner().invoke(cli, ["orchestrate", "piano.mid", "--keyswitch-file", "mine.toml"]),
            "mine.toml", "--keyswitch-file is given without --keyswitches")
    listed = CliRunner().invoke(cli, ["orchestrate", "--list-ensembles", "--keyswitch-file", "mine.toml"])
    assert listed.exit_code == 0 and "keyswitches mine" in listed.output


def test_drums_only_is_refused(make_score, tmp_path):
    from scorefarm.errors import ScoreError

    kit = make_score([(0, 1, 36, 100), (1, 1, 38, 100)], is_drum=True)
    with pytest.raises(ScoreError, match="has only drum notes: nothing pitched to orchestrate"):
        orchestrate(kit, OrchestrateOptions(ensemble="strings"), name="drums.mid")
    source = tmp_path / "drums.mid"
    kit.dump_midi(str(source))
    out = tmp_path / "o.mid"
    refused(CliRunner().invoke(cli, ["orchestrate", str(source), "--ensemble", "strings", "-o", str(out)]),
            source, "has only drum notes")
    assert not out.exists()


# One bar of a pedalled reduction: a low arpeggio of short notes (C re-struck on beat 4)
# under a pedal held to beat 3.75 (tick 1800), and a two-note melody.
ARPEGGIO = [(0, 0.25, 36, 70), (1, 0.25, 43, 70), (2, 0.25, 48, 70), (3, 0.25, 36, 70)]
MELODY = [(0, 2, 79, 70), (2, 2, 77, 70)]


def pedalled(make_score, controls: list[tuple[int, int, int]]) -> symusic.Score:
    score = make_score(ARPEGGIO + MELODY)
    for time, number, value in controls:
        score.tracks[0].controls.append(symusic.ControlChange(time, number, value))
    return score


def test_the_sustain_pedal_holds_the_notes_it_catches(make_score):
    result = orchestrate(pedalled(make_score, [(0, 64, 127), (1800, 64, 0)]), OrchestrateOptions(ensemble="strings"))
    low = {(p.time, p.pitch): p.duration for p in result.placed if p.source >= 0 and p.pitch < 60}
    # to the pedal's release, except the first C: cut where it is struck again
    assert low == {(0, 36): 1440, (480, 43): 1320, (960, 48): 840, (1440, 36): 360}
    bass = [p for p in result.placed if p.source >= 0 and result.lane_of_source[p.source] == 3]
    assert bass and all(p.time + p.duration in {1440, 1800} for p in bass)
    melody = {(p.time, p.pitch): p.duration for p in result.placed if p.source >= 0 and p.pitch >= 60}
    assert melody == {(0, 79): 1800, (960, 77): 960}  # released after the pedal: as played
    assert "sustain pedal applied: 5 notes lengthened" in result.notes


@pytest.mark.parametrize("controls", [[], [(0, 64, 0), (0, 1, 90), (960, 64, 40)]])
def test_without_the_pedal_down_the_notes_keep_their_lengths(make_score, monkeypatch, controls):
    from scorefarm.arrange import orchestrate as module

    result = orchestrate(pedalled(make_score, controls), OrchestrateOptions(ensemble="strings"))
    assert [n[1] for n in result.source_notes.tolist()] == [960, 120, 120, 960, 120, 120]
    assert not any("sustain pedal" in line for line in result.notes)
    monkeypatch.setattr(module, "_apply_sustain", lambda notes, controls: 0)  # as before the pedal was read
    unpedalled = orchestrate(pedalled(make_score, controls), OrchestrateOptions(ensemble="strings"))
    assert result.placed == unpedalled.placed and result.notes == unpedalled.notes


def multitrack(make_score, tracks: list[tuple[str, int, list[tuple[float, float, int, int]]]]) -> symusic.Score:
    """A sketch with one track per (name, program, notes); notes as ``make_score`` takes them."""
    score = make_score(tracks[0][2], name=tracks[0][0], program=tracks[0][1])
    for name, program, notes in tracks[1:]:
        score.tracks.append(make_score(notes, name=name, program=program).tracks[0])
    return score


def line_notes(start: float, spec: list[tuple[int, float]], velocity: int) -> list[tuple[float, float, int, int]]:
    """(pitch, beats) in succession from ``start``, each held 95% of its length; pitch 0 rests."""
    notes = []
    for pitch, beats in spec:
        if pitch:
            notes.append((start, beats * 0.95, pitch, velocity))
        start += beats
    return notes


def test_a_tune_on_its_own_track_stays_on_one_part(make_score):
    # the demo's 1M1: a horn call under a held string pad, cellos and basses below
    pad = [(65, 69), (65, 69), (67, 70), (64, 69), (65, 69), (62, 67), (65, 70), (64, 69)]
    horn = line_notes(0, [(0, 2), (57, 1), (62, 1), (65, 3), (64, 1), (62, 2), (60, 1), (57, 1), (58, 3), (57, 1),
                          (55, 2), (57, 2), (62, 4), (0, 4), (57, 1), (62, 1), (64, 1), (65, 1), (67, 3), (65, 1),
                          (64, 4)], 72)
    score = multitrack(make_score, [
        ("Horn in F", 60, horn),
        ("Violins I", 48, [(4 * bar, 3.8, pitch, 58) for bar, dyad in enumerate(pad) for pitch in dyad]),
        ("Violas", 48, line_notes(0, [(p, 4) for p in (62, 60, 62, 61, 62, 58, 62, 61)], 56)),
        ("Violoncellos", 42, line_notes(0, [(p, 4) for p in (50, 53, 55, 57, 50, 55, 46, 45)], 64)),
        ("Contrabasses", 43, line_notes(0, [(p, 4) for p in (38, 41, 43, 45, 38, 43, 34, 33)], 64)),
    ])
    # on the horns where the ensemble has them, else on the first violins (its lane: the melody)
    for ensemble, part, strict in [("full-orchestra", "Horns 1–2", False), ("full-orchestra", "Horns 1–2", True),
                                   ("strings", "Violins I", False)]:
        result = orchestrate(score, OrchestrateOptions(ensemble=ensemble, strict=strict))
        rows = np.flatnonzero(result.source_notes[:, 3] == 72)  # the horn's velocity
        assert len(rows) == len(horn)
        assert {result.ensemble.parts[result.part_of_source[i]].label for i in rows} == {part}
        assert set(result.lane_of_source[rows].tolist()) == {0}
        # the pad's top line is not the melody under the tune (it rests in bar 7 only)
        pad_rows = np.flatnonzero(result.source_notes[:, 3] == 58)
        under = pad_rows[result.source_notes[pad_rows, 0] != 24 * 480]
        assert len(under) == 14 and not (result.lane_of_source[under] == 0).any()
        if ensemble == "strings":  # the tune has the first violins to itself: the pad moves to the seconds
            assert {result.ensemble.parts[result.part_of_source[i]].label for i in pad_rows} == {"Violins II"}


def test_each_track_keeps_its_own_dynamic(make_score):
    # soft strings under loud brass chords: read together they would all be mf
    strings = [(beat, 1.0, pitch, 40) for beat in range(8) for pitch in (48, 55)]
    brass = [(beat, 0.5, pitch, 112) for beat in range(0, 8, 2) for pitch in (67, 72, 76)]
    result = orchestrate(multitrack(make_score, [("Strings", 48, strings), ("Trumpets", 56, brass)]),
                         OrchestrateOptions(ensemble="full-orchestra"))
    levels = {}
    for p in result.placed:
        if p.source >= 0:
            levels.setdefault("brass" if result.source_notes[p.source, 2] > 60 else "strings", set()).add(p.level)
    assert levels == {"strings": {LEVELS.index("p")}, "brass": {LEVELS.index("ff")}}
    assert any(result.ensemble.parts[p.part].instrument.section == "brass" for p in result.placed)


def test_the_melody_track_rule_on_given_labels(make_score):
    from scorefarm.arrange.lanes import melody_line, melody_track_leads
    from scorefarm.arrange.orchestrate import _collect

    def leads(tracks, labels):
        return melody_track_leads(notes, tracks, labels, melody_line(notes, tracks, labels, 480))

    pad = [(bar * 4, 3.8, pitch, 60) for bar in range(3) for pitch in (65, 69)]
    line = [(beat, 1.0625 if beat < 7 else 0.9, 60 + beat % 3, 70) for beat in range(8)]  # legato, bars 1-2
    bass = [(bar * 4, 4.0, 40, 60) for bar in range(3)]
    notes, tracks, _, _ = _collect(multitrack(make_score, [("Pad", 48, pad), ("Horn", 60, line), ("Bass", 43, bass)]))

    def separated(line_melody: int) -> np.ndarray:
        """The pad's top note as melody, the horn's first ``line_melody`` notes too, the rest inner."""
        lanes = np.where(tracks == 2, 3, np.where((tracks == 0) & (notes[:, 2] == 69), 0, 1)).astype(np.int8)
        lanes[np.flatnonzero(tracks == 1)[:line_melody]] = 0
        return lanes

    lanes = leads(tracks, separated(2))
    assert (lanes[tracks == 1] == 0).all()  # the horn: a line, a quarter of it melody
    assert lanes[(tracks == 0) & (notes[:, 2] == 69)].tolist() == [1, 1, 0]  # the pad's top under it, not after
    assert (lanes[tracks == 2] == 3).all()
    unchanged = separated(1)  # one melody note in eight: an inner line
    assert np.array_equal(leads(tracks, unchanged), unchanged)
    one_track = np.zeros(len(notes), np.int16)
    assert np.array_equal(leads(one_track, separated(2)), separated(2))


def chase(make_score, trumpets: str = "Trumpets") -> symusic.Score:
    """Four bars after the demo's 1M2: a violin ostinato, cello octaves, trumpet stabs, a horn
    tune in bars 3-4 and timpani, whose B1s (one a bar) lie under the drums' range."""
    ostinato = [(k * 0.5, 0.45, (64, 71, 76, 71)[k % 4], 80) for k in range(32)]
    cellos = [(4 * bar, 3.8, pitch, 88) for bar in range(4) for pitch in (40, 52)]
    stabs = [(2 * k + 1.5, 0.45, pitch, 96) for k in range(7) for pitch in ((64, 67, 71), (66, 69, 74))[k % 2]]
    horns = line_notes(8, [(59, 2), (64, 2), (67, 2), (66, 2)], 92)
    timpani = [(beat, 0.9, (40, 40, 35, 38)[beat % 4], 90) for beat in range(16)]
    return multitrack(make_score, [("Violins I", 48, ostinato), ("Violoncellos", 42, cellos), (trumpets, 56, stabs),
                                   ("Horns", 60, horns), ("Timpani", 47, timpani)])


def parts_of_track(result, track: int, pitches=range(128)) -> set[str]:
    rows = np.flatnonzero((result.track_of_source == track) & np.isin(result.source_notes[:, 2], list(pitches)))
    return {result.ensemble.parts[result.part_of_source[i]].label for i in rows}


@pytest.mark.parametrize("strict", [False, True])
def test_a_sketchs_tracks_are_played_by_their_own_instruments(make_score, strict):
    result = orchestrate(chase(make_score), OrchestrateOptions(ensemble="full-orchestra", strict=strict))
    labels = [p.label for p in result.ensemble.parts]
    assert parts_of_track(result, 0) == {"Violins I"}
    assert parts_of_track(result, 2) == {"Trumpet 1", "Trumpets 2–3"}
    for onset in np.unique(result.source_notes[result.track_of_source == 2, 0]):  # the top of each stab on the 1st
        chord = [p for p in result.placed if p.source >= 0 and p.time == onset and labels[p.part].startswith("Trump")]
        assert labels[max(chord, key=lambda p: p.pitch).part] == "Trumpet 1" and len(chord) == 3
    assert parts_of_track(result, 3) == {"Horns 1–2"}  # a tune on one part
    assert parts_of_track(result, 4, range(38, 58)) == {"Timpani"}
    assert "Timpani" not in parts_of_track(result, 4, [35])  # under the drums: played as the lanes place it
    assert parts_of_track(result, 1, range(36, 128)) == {"Cellos"}
    assert "tracks seated: Violins I on Violins I; Violoncellos on Cellos; Trumpets on Trumpet 1, Trumpets 2–3; " \
           "Horns on Horns 1–2; Timpani on Timpani" in result.notes
    assert "4 notes of seated tracks played elsewhere (range or notes at once)" in result.notes
    # the parts a track was written for play it alone: doublings go around them
    own = {labels.index(label)
           for label in ("Violins I", "Cellos", "Trumpet 1", "Trumpets 2–3", "Horns 1–2", "Timpani")}
    assert all(p.source >= 0 for p in result.placed if p.part in own)
    assert strict or any(p.source < 0 for p in result.placed)


def test_a_track_is_seated_by_its_name_else_its_program(make_score):
    # no name: the program says trumpet; a name says horn over the trumpet program
    by_program = orchestrate(chase(make_score, trumpets="Track 3"), OrchestrateOptions(ensemble="full-orchestra"))
    assert parts_of_track(by_program, 2) == {"Trumpet 1", "Trumpets 2–3"}
    by_name = orchestrate(chase(make_score, trumpets="Horns 3-4"), OrchestrateOptions(ensemble="full-orchestra"))
    assert parts_of_track(by_name, 2) == {"Horns 3–4", "Horns 1–2"}
    assert parts_of_track(by_name, 3) == {"Horns 1–2"}
    first = [p for p in by_name.placed if p.source >= 0 and by_name.track_of_source[p.source] == 2]
    assert sum(by_name.ensemble.parts[p.part].label == "Horns 3–4" for p in first) >= 14  # its desks first


def test_every_line_stays_on_one_part_where_its_instrument_is_missing(make_score):
    result = orchestrate(chase(make_score), OrchestrateOptions(ensemble="strings"))
    assert parts_of_track(result, 0) == {"Violins I"}
    assert len(parts_of_track(result, 3)) == 1  # the horn tune: on one string part, not split between two
    assert parts_of_track(result, 4) == {"Basses"}  # the timpani: on the part that reaches all of it
    assert parts_of_track(result, 1, range(36, 128)) == {"Cellos"}


def test_a_single_track_is_a_reduction_whatever_its_name(make_score):
    notes = [(2 * k + 1.5, 0.45, pitch, 96) for k in range(8) for pitch in (52, 64, 67, 71)]
    notes += [(k * 0.5, 0.45, 76, 80) for k in range(32)]
    options = OrchestrateOptions(ensemble="full-orchestra")
    trumpets = orchestrate(make_score(notes, name="Trumpets", program=56), options)
    piano = orchestrate(make_score(notes), options)
    assert trumpets.placed == piano.placed and trumpets.notes == piano.notes
    assert not any(line.startswith("tracks seated") for line in piano.notes)


def test_a_dynamic_on_an_edge_between_levels_does_not_flicker(make_score):
    from scorefarm.arrange.dynamics import dynamic_levels
    from scorefarm.arrange.orchestrate import _collect

    # 6/8, eight bars of an accented ostinato (84 66 66: 72 on average, the mp/mf edge),
    # then two bars held softly: one lasting change
    ostinato = [(k * 0.5, 0.45, (64, 71, 76)[k % 3], 84 if k % 3 == 0 else 66) for k in range(48)]
    ending = [(24 + 3 * bar, 2.9, 64, 40) for bar in range(2)]
    notes, tracks, _, _ = _collect(make_score(ostinato + ending, time_signature=(6, 8)))
    levels = dynamic_levels(notes, 480, 3.0, tracks).tolist()
    assert len(set(levels[:40])) == 1
    changes = [k for k in range(1, len(levels)) if levels[k] != levels[k - 1]]
    assert 1 <= len(changes) <= 3 and levels[-1] <= LEVELS.index("p")
    drop = [(k, 0.9, 64, 88 if k < 8 else 40) for k in range(16)]
    notes, tracks, _, _ = _collect(make_score(drop))
    levels = dynamic_levels(notes, 480, 4.0, tracks).tolist()
    assert levels[0] == LEVELS.index("f") and levels[-1] == LEVELS.index("p")


def test_a_level_changes_when_the_velocity_is_clearly_past_an_edge_or_stays_a_bar():
    from scorefarm.arrange.dynamics import marked_levels

    quarters = np.array([[480 * k, 480] for k in range(16)])  # a bar: 1920 ticks
    mp, mf = LEVELS.index("mp"), LEVELS.index("mf")

    def levels(around: list[float]) -> list[int]:
        return marked_levels(quarters, np.array(around), 1920).tolist()

    assert levels([70] * 4 + [73] * 2 + [70] * 10) == [mp] * 16  # past the edge by 1, for half a bar
    assert levels([70] * 4 + [77] * 2 + [70] * 10) == [mp] * 4 + [mf] * 2 + [mp] * 10  # clearly past it
    assert levels([70] * 4 + [73] * 12) == [mp] * 4 + [mf] * 12  # just past it, for three bars
    assert levels([70] * 13 + [73] * 3) == [mp] * 16  # just past it as the track ends, under a bar


def test_each_part_rides_its_own_dynamic_layer(make_score):
    # the chase's violins play at 80 and its trumpets at 96: each part's CC1 (the sample
    # library's layer wheel) follows the notes that part plays, not one curve for the whole score
    result = orchestrate(chase(make_score), OrchestrateOptions(ensemble="full-orchestra", strict=True))
    score = orchestra_score(result)
    layer = {t.name: [c.value for c in t.controls if c.number == 1] for t in score.tracks if t.notes}
    assert layer["Trumpet 1"] and layer["Violins I"]
    assert min(layer["Trumpet 1"]) > max(layer["Violins I"])


def pitches_on(result, instrument: str) -> set[tuple[int, int]]:
    """(onset, pitch) of every note the parts of ``instrument`` (a catalogue key) play."""
    return {(p.time, p.pitch) for p in result.placed if result.ensemble.parts[p.part].instrument.key == instrument}


# Four bars of a slow cue in D: a held chord over a bass that goes below the cello's C2
# (D2, B1, G1, A1), and a tune on top.
LOW_BASS = [38, 35, 31, 33]
LOW_CHORDS = [(57, 62, 66), (54, 59, 62), (55, 59, 62), (52, 57, 64)]
LOW_TUNE = [74, 71, 74, 73]


@pytest.mark.parametrize("ensemble", ["strings", "full-orchestra"])
def test_the_cellos_take_a_bass_below_their_range_an_octave_up(make_score, ensemble):
    notes = [(4 * bar, 3.9, pitch, 60) for bar in range(4) for pitch in (LOW_BASS[bar], *LOW_CHORDS[bar])]
    notes += [(4 * bar, 3.9, LOW_TUNE[bar], 70) for bar in range(4)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble=ensemble))
    bars = {(1920 * bar, pitch) for bar, pitch in enumerate(LOW_BASS)}
    assert bars <= pitches_on(result, "double-bass")  # the basses at pitch
    cellos = pitches_on(result, "cello")
    assert {(t, p + 12) for t, p in bars if p < 36} <= cellos  # B2, G2, A2: an octave up
    assert (0, 38) in cellos


def test_the_basses_double_only_a_bass_below_middle_c(make_score):
    # two bars of treble chords (a rag's trio: the lowest voice D4 to A flat 4), then two
    # over a real bass (D3, E flat 3)
    treble = [(62, 65, 70, 74), (63, 67, 70, 75), (64, 67, 70, 76), (68, 72, 75, 80)]
    notes = [(2 * k + h, 0.9, pitch, 80) for k, chord in enumerate(treble) for h in (0, 1) for pitch in chord]
    notes += [(8 + 2 * k + h, 0.9, pitch, 80) for k, chord in enumerate(((50, 65, 70, 74), (51, 67, 70, 75)))
              for h in (0, 1) for pitch in chord]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="strings"))
    basses = pitches_on(result, "double-bass")
    assert basses and all(t >= 8 * 480 for t, _ in basses)  # none under the treble chords
    assert {(8 * 480, 38), (10 * 480, 39)} <= basses  # an octave under the bass


def test_doublings_keep_to_the_comfortable_range_where_an_octave_allows(make_score):
    # eight loud bars: stabs whose top lies at G5-B flat 5 (above the trumpet's comfortable
    # top, F5) over a bass on D2 (the tuba's octave below it, D1, is under its comfortable F1)
    notes = [(k, 0.9, (81, 82, 79, 81)[k % 4], 110) for k in range(32)]
    notes += [(k, 0.9, pitch, 100) for k in range(32) for pitch in (74, 69)]
    notes += [(k, 0.9, 38, 105) for k in range(32)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    for key in ("trumpet", "tuba", "flute"):
        instrument = next(p.instrument for p in result.ensemble.parts if p.instrument.key == key)
        doubled = pitches_on(result, key)
        assert doubled and all(instrument.in_range(pitch, "comfortable") for _, pitch in doubled), key
    assert {pitch for _, pitch in pitches_on(result, "trumpet")} == {69, 70, 67}  # an octave down


def test_a_passage_only_the_extreme_register_could_double_is_left_alone(make_score):
    # a tune held at C7-D7 over chords, mf: the violins play it; the flute, whose
    # comfortable top is A6, does not shriek along at pitch
    notes = [(4 * bar, 3.9, (96, 98)[bar % 2], 84) for bar in range(4)]
    notes += [(4 * bar, 3.9, pitch, 80) for bar in range(4) for pitch in (67, 72, 76)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    assert {(0, 96), (1920, 98)} <= pitches_on(result, "violin")
    assert not {p for _, p in pitches_on(result, "flute")} & {96, 98}


def test_winds_and_brass_take_the_downbeats_of_a_fast_bass_ostinato(make_score):
    # loud: four bars of a left-hand eighth ostinato (D2 D3 A2 D3 F2 D3 A2 D3), then two
    # bars of a bass walking up in eighths, under held chords
    figure = [38, 50, 45, 50, 41, 50, 45, 50]
    walk = [38, 40, 41, 43, 45, 46, 48, 50]
    notes = [(0.5 * k, 0.45, figure[k % 8], 110) for k in range(32)]
    notes += [(16 + 0.5 * k, 0.45, walk[k % 8], 110) for k in range(16)]
    notes += [(4 * bar, 3.9, pitch, 110) for bar in range(6) for pitch in (62, 65, 69, 74)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    for key in ("tuba", "bassoon"):
        ostinato = {(t, p) for t, p in pitches_on(result, key) if t < 16 * 480}
        assert ostinato and all(t % 1920 == 0 for t, _ in ostinato), key  # rests to breathe between downbeats
    assert len({t for t, _ in pitches_on(result, "bassoon") if t >= 16 * 480}) == 16  # a line is doubled whole
    assert len({t for t, _ in pitches_on(result, "double-bass")}) == 48  # the basses play every note


def test_a_pickup_bar_moves_the_downbeats(make_score):
    import symusic

    # the ostinato above after a one-beat pickup written as a bar of 1/4: the downbeats
    # the winds take fall a beat later, on the 4/4 bar lines
    figure = [38, 50, 45, 50, 41, 50, 45, 50]
    notes = [(1 + 0.5 * k, 0.45, figure[k % 8], 110) for k in range(32)]
    notes += [(1 + 4 * bar, 3.9, pitch, 110) for bar in range(4) for pitch in (62, 65, 69, 74)]
    notes += [(0, 0.9, 69, 110), (0, 0.9, 74, 110)]
    score = make_score(notes)
    score.time_signatures.clear()
    score.time_signatures.extend([symusic.TimeSignature(0, 1, 4), symusic.TimeSignature(480, 4, 4)])
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    assert {t for t, _ in pitches_on(result, "tuba")} == {480 + 1920 * bar for bar in range(4)}


def test_loud_detached_chords_are_brass_stabs(make_score):
    # f: four bars of right-hand stabs (D5 F5 A5 on 1, the and of 2, and 4) over a held bass
    stabs = [(4 * bar + at, length, pitch, 110) for bar in range(4)
             for at, length in ((0, 0.45), (1.5, 0.45), (3, 0.95)) for pitch in (74, 77, 81)]
    bass = [(4 * bar, 3.9, 38, 105) for bar in range(4)]
    result = orchestrate(make_score(stabs + bass), OrchestrateOptions(ensemble="full-orchestra"))
    onsets = {int(at * 480) for at, _, _, _ in stabs}
    assert {t for t, _ in pitches_on(result, "horn")} == onsets  # the inner notes in horns and trombones
    assert {t for t, _ in pitches_on(result, "trombone")} == onsets
    # the same chord repeated in eighths is a string texture, not stabs: no trombones
    repeated = [(0.5 * k, 0.45, pitch, 110) for k in range(32) for pitch in (74, 77, 81)]
    result = orchestrate(make_score(repeated + bass), OrchestrateOptions(ensemble="full-orchestra"))
    assert not pitches_on(result, "trombone")


def test_a_four_part_chorale_on_named_tracks_sits_as_a_string_orchestra_plays_it(make_score):
    # S A T B on tracks named for voices: violins I and II, violas, cellos, and the basses
    # doubling the bass an octave down; the alto's one F sharp 3 (under the violin's G) does
    # not send it to the violas, and no part plays two of the lines
    chords = [(76, 67, 60, 48), (74, 66, 59, 43), (72, 64, 55, 45), (71, 62, 55, 43),
              (72, 64, 57, 45), (74, 54, 57, 50), (76, 67, 59, 43), (72, 64, 55, 48)]
    chords += [(s, 57 if a == 54 else a, t, b) for s, a, t, b in chords] * 2  # 24 beats, one F sharp 3
    score = multitrack(make_score, [(name, 0, [(beat, 0.95, chord[v], 80) for beat, chord in enumerate(chords)])
                                    for v, name in enumerate(("Soprano", "Alto", "Tenor", "Bass"))])
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    assert "tracks seated: Soprano on Violins I; Alto on Violins II; Tenor on Violas; Bass on Cellos" in result.notes
    cellos = [p for p in result.placed if result.ensemble.parts[p.part].label == "Cellos"]
    assert sorted(p.pitch for p in cellos) == sorted(chord[3] for chord in chords)  # the bass alone
    basses = [p for p in result.placed if result.ensemble.parts[p.part].label == "Basses"]
    assert sorted(p.pitch for p in basses) == sorted(chord[3] - 12 for chord in chords)


def test_no_doubling_lands_on_a_part_a_line_sits_on(make_score):
    # an alto too low for the violins takes the violas, the tenor (under the violas' C3) and
    # the bass the cellos, divided: the cellos play those two lines and no doubling besides
    # (the bass rule's cellos an octave up), and the basses double the bass, at pitch where
    # the octave under it lies below their low E
    chords = [(72, 52, 45, 36), (71, 53, 47, 38), (72, 52, 45, 36), (74, 53, 47, 38)] * 3
    score = multitrack(make_score, [(name, 0, [(beat, 0.95, chord[v], 80) for beat, chord in enumerate(chords)])
                                    for v, name in enumerate(("Soprano", "Alto", "Tenor", "Bass"))])
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    assert "tracks seated: Soprano on Violins I; Alto on Violas; Tenor on Cellos; Bass on Cellos" in result.notes
    cellos = [p.pitch for p in result.placed if result.ensemble.parts[p.part].label == "Cellos"]
    assert sorted(cellos) == sorted(chord[k] for chord in chords for k in (2, 3))
    assert sorted(p.pitch for p in result.placed if result.ensemble.parts[p.part].label == "Basses") == \
        sorted(chord[3] for chord in chords)


def test_a_doubling_is_struck_as_the_note_it_doubles(make_score):
    # loud: an eighth-note bass ostinato, accented on each bar's first note, under held chords
    figure = [38, 50, 45, 50, 41, 50, 45, 50]
    notes = [(0.5 * k, 0.45, figure[k % 8], 118 if k % 8 == 0 else 100) for k in range(32)]
    notes += [(4 * bar, 3.9, pitch, 100) for bar in range(4) for pitch in (62, 65, 69, 74)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    struck = {"staccato", "spiccato", "pizzicato", "accent", "marcato", "tremolo"}
    kept = {id(p) for p in result.placed}
    pairs = [(p, p.doubles) for p in result.placed if p.doubles is not None and id(p.doubles) in kept]
    winds = [(p, q) for p, q in pairs if result.ensemble.parts[p.part].instrument.section in ("woodwinds", "brass")]
    assert pairs and winds
    for doubling, source in pairs:
        section = result.ensemble.parts[doubling.part].instrument.section
        if section == "strings":
            assert doubling.articulation == source.articulation or not ({doubling.articulation,
                                                                        source.articulation} & struck)
    for doubling, source in winds:  # no pizzicato or spiccato in the winds: a staccato
        expected = {"pizzicato": "staccato", "spiccato": "staccato"}.get(source.articulation, source.articulation)
        if source.articulation == "marcato":
            brass = result.ensemble.parts[doubling.part].instrument.section == "brass"
            assert doubling.articulation == ("marcato" if brass else "accent")
        elif source.articulation in struck:
            assert doubling.articulation == expected
        else:
            assert doubling.articulation not in struck


@pytest.mark.parametrize("ensemble", ["strings"])  # chamber: tests/test_seating_more.py
@pytest.mark.parametrize("voices", [{"Soprano 1": 79, "Soprano 2": 76, "Alto": 72, "Tenor": 64, "Baritone": 57,
                                     "Bass": 45},
                                    {"Soprano": 79, "Alto": 72, "Tenor": 64, "Baritone": 57, "Bass": 45}])
def test_six_lines_for_five_string_parts_divide_and_leave_the_bass_to_the_cellos(make_score, ensemble, voices):
    # six (or five) voices on named tracks for five string parts: the basses double the
    # cellos' bass line an octave below, as in any string section, so the lines sit on the
    # four parts above them, divided (no part takes more than two lines, the cellos none but
    # the bass), no line above the line over it; the basses play the bass an octave down
    # and nothing else (not the baritone, which the separator may put in the bass too)
    score = multitrack(make_score, [(name, 0, [(beat, 0.95, top - (beat % 3), 80) for beat in range(16)])
                                    for name, top in voices.items()])
    result = orchestrate(score, OrchestrateOptions(ensemble=ensemble))
    seated = next(n for n in result.notes if n.startswith("tracks seated: "))
    order = [p.label for p in result.ensemble.parts]
    parts = [order.index(entry.split(" on ")[1]) for entry in seated[len("tracks seated: "):].split("; ")]
    cellos, basses = (next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == key)
                      for key in ("cello", "double-bass"))
    assert parts == sorted(parts) and parts[-1] == cellos and parts.count(cellos) == 1 and basses not in parts
    assert len(set(parts)) == 4 and max(parts.count(part) for part in parts) == 2
    bass = sorted((round(beat * 480), 45 - beat % 3) for beat in range(16))
    assert sorted((p.time, p.pitch) for p in result.placed if p.part == cellos and p.pitch < 48) == bass
    assert sorted((p.time, p.pitch + 12) for p in result.placed if p.part == basses) == bass


def test_a_bass_line_under_the_cellos_sits_on_the_basses_with_the_cellos_an_octave_up(make_score):
    # the basses take a line of their own only where the cellos cannot: an orphan bass from
    # A1 down to F sharp 1, under the cello's C string
    voices = {"Soprano": 79, "Alto": 70, "Tenor": 60, "Bass": 33}
    score = multitrack(make_score, [(name, 0, [(beat, 0.95, top - (beat % 3), 80) for beat in range(16)])
                                    for name, top in voices.items()])
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    assert "tracks seated: Soprano on Violins I; Alto on Violins II; Tenor on Violas; Bass on Basses" in result.notes
    bass = sorted((round(beat * 480), 33 - beat % 3) for beat in range(16))
    assert sorted((p.time, p.pitch - 12) for p in result.placed
                  if result.ensemble.parts[p.part].label == "Cellos") == bass


def test_a_doubling_of_a_merged_note_follows_the_note_it_was_merged_into():
    from scorefarm.arrange.placement import Placed, one_note_per_pitch

    first = Placed(0, 480, 60, 80, 0, 0, "melody", 3)
    twin = Placed(0, 240, 60, 80, 0, 1, "melody", 3)  # struck with it on the same part: merged
    doubling = Placed(0, 240, 72, 74, 1, -1, "melody", 3, doubles=twin)
    kept, changed = one_note_per_pitch([first, twin, doubling])
    assert changed == 1 and twin not in kept and doubling.doubles is first


def test_winds_doubling_a_line_that_never_rests_take_breaths(make_score):
    from scorefarm.arrange.articulate import BREATH_AFTER

    # mf at 60 bpm: a legato tune in half notes for 32 bars (128 s) over held chords, no rest
    tune = [(2 * k, 2.0, (72, 74, 76, 77, 79, 77, 76, 74)[k % 8], 84) for k in range(64)]
    chords = [(4 * bar, 4.0, pitch, 70) for bar in range(32) for pitch in (53, 57, 60)]
    score = make_score(tune + chords, bpm=60)
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    labels = [p.label for p in result.ensemble.parts]
    winds = {}
    for p in result.placed:
        if result.ensemble.parts[p.part].instrument.section in ("woodwinds", "brass"):
            winds.setdefault(labels[p.part], []).append(p)
    assert winds
    for label, notes in winds.items():
        notes.sort(key=lambda n: n.time)
        start, end = notes[0].time, notes[0].time + notes[0].duration
        for note in notes[1:]:
            if note.time - end >= 0.3 * 480:  # a breath (60 bpm: 480 ticks a second)
                start = note.time
            end = max(end, note.time + note.duration)
            assert (end - start) / 480 <= BREATH_AFTER + 4, label  # the longest note it could run on with
    sources = [p for p in result.placed if p.source >= 0]
    assert sorted(p.duration for p in sources if p.pitch >= 72) == [int(2.0 * 480)] * 64  # the tune itself is whole


def test_grace_notes_of_no_length_leave_the_orchestration_as_without_them(make_score, tmp_path):
    """A grace note read as one of no length (music21 writes them so) moves no note: the tune
    keeps its part as without it, the grace goes before its note on that part (``graces``,
    tests/test_grace.py) and the report says so; a sketch of grace notes alone is refused
    (exit 2, nothing written)."""
    tune = [(i * 1.0, 1.0, p, 90) for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 74])]
    chords = [(i * 2.0, 2.0, p, 60) for i in range(4) for p in (48, 55, 64)]
    plain = make_score(tune + chords)
    graced = make_score(tune + chords)
    for beat, pitch in ((1, 76), (4, 81)):
        graced.tracks[0].notes.append(symusic.Note(beat * 480, 0, pitch, 90))
    options = OrchestrateOptions(ensemble="string-quartet")
    with_graces, without = orchestrate(graced, options), orchestrate(plain, options)
    assert [(p.part, p.time, p.duration, p.pitch) for p in with_graces.placed] == [
        (p.part, p.time, p.duration, p.pitch) for p in without.placed]
    assert "2 grace note(s) written before the notes they lead to: Violin I 2" in with_graces.notes
    assert [(g.part, g.pitch, g.principal.time, g.principal.pitch) for g in with_graces.graces] == [
        (0, 76, 480, 74), (0, 81, 1920, 79)]
    only = symusic.Score(480)
    track = symusic.Track("Piano", 0, False)
    track.notes.append(symusic.Note(0, 0, 72, 80))
    only.tracks.append(track)
    only.dump_midi(str(tmp_path / "grace_only.mid"))
    result = CliRunner().invoke(cli, ["orchestrate", str(tmp_path / "grace_only.mid"), "-o", str(tmp_path / "o.mid")])
    assert result.exit_code == 2 and "has no notes with a length" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grace_only.mid"]


def test_an_ensemble_of_pitched_percussion_alone_is_orchestrated(tmp_path, make_score):
    """A glockenspiel alone (pitched percussion, no strings, winds or keys) plays the sketch;
    this raised an internal IndexError."""
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    ensemble = tmp_path / "glock.toml"
    ensemble.write_text('[ensembles.glock]\ndescription = "glockenspiel alone"\n'
                        'parts = [ { label = "Glockenspiel", instrument = "glockenspiel" } ]\n')
    score = make_score([(k, 1, 72 + k % 5, 90) for k in range(8)])
    result = orchestrate(score, OrchestrateOptions(ensemble=str(ensemble)))
    assert {p.part for p in result.placed} == {0}
    assert len(result.placed) == 8
