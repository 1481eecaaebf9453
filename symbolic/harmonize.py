"""Four-part harmonization of a melody: the melody on top, alto, tenor and bass below.

1. The melody is taken from the score (``melody``): top line, soprano range,
   one slot per beat.
2. The key is the one under which the progression model (``chorale_model``,
   learned from Bach's chorales) finds the melody most likely (the forward
   algorithm over the 24 keys, plus a key-profile correlation), unless given.
3. Forward-backward over the model's sonorities (its emissions helped by two
   learned readers of the melody: a log-linear bass model, ``bass_model``, and
   a bidirectional GRU over the whole soprano line, ``chorale_net``) gives, per
   beat, the few most likely ones; each is voiced in every way the ranges allow (``voicing``),
   and one dynamic programme picks the path that best combines the
   progression's likelihood with Bach's doublings, registers and steps and
   penalties for the checker's faults (steps 2-3: ``chord_search``).
4. In chorale style the lower voices rest where the melody rests (the choir
   breathes together); in film style they hold through.
5. The result is checked by ``voiceleading.check_voices`` and the faults that
   remain are reported in the notes.

``style="film"`` holds each chord for half a bar (``harmonic_rhythm``,
``melody.chord_spans``): the search then runs over those spans, each scored by its
first beat's emissions less what the melody's other notes cost against the chord
(``chord_search.held_note_kind``: colour tones little, avoid notes and cross relations much).
It also adds modal mixture and added-tone chords to the vocabulary
(``data/film_harmony.json``), opens the voicings and lays a tonic pedal under
the opening bar and the last note (``film``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

import numpy as np
import symusic
import symusic.core

from .chorale_model import ChoraleModel, load_model
from .chord_search import MODES, NoChordError, decode, find_key, held_note_kind
from .chords import chord_symbol, key_name, key_signature, pc_name
from .melody import (
    HARMONIC_RHYTHMS, HarmonizeError, Melody, Slot, chord_spans, extract_melody, join_slots, last_note_beat,
    melody_slots,
)
from .embellish import add_passing_tones
from .film import OPEN_SPACING, film_model, film_weights, pedal_plan
from .voiceleading import CheckOptions, check_voices
from .metre import bar_beat
from .voices import Part, VNote, Voices, voice_ranges
from .voicing import VoicingWeights

STYLES = ("chorale", "film")
EMBELLISH = ("learned", "passing", "none")
DEFAULT_EMBELLISH = {"chorale": "learned", "film": "none"}
DEFAULT_RHYTHM = {"chorale": "beat", "film": "half-bar"}  # how often the chord may change
# GM programs (0-based) for the four output tracks: 52 is "Choir Aahs".
PROGRAMS = {"chorale": {"Soprano": 52, "Alto": 52, "Tenor": 52, "Bass": 52},
            "film": {"Soprano": 48, "Alto": 48, "Tenor": 48, "Bass": 48}}  # 48: String Ensemble 1


@dataclass(frozen=True)
class HarmonizeOptions:
    style: str = "chorale"  # "chorale" | "film"
    key: tuple[int, str] | None = None  # (tonic pitch class, "major" | "minor"); None: found
    states_per_beat: int = 8  # candidate sonorities kept per beat
    voicings_per_state: int = 14  # candidate voicings kept per sonority
    emission_pc: float = 1.0
    emission_long: float = 1.0
    emission_downbeat: float = 0.5
    emission_bass: float = 1.0  # weight of the bass model's log P(bass | soprano context)
    emission_net: float = 2.0  # weight of the melody net's log P(sonority | soprano line)
    emission_net_bass: float = 3.0  # weight of the melody net's log P(bass pitch class | soprano line)
    outer_net: float = 3.0  # weight of the melody net's log P(soprano - bass distance | soprano line)
    motion_net: float = 0.0  # weight of the melody net's log P(bass move from the last beat | soprano line)
    final: float = 1.0
    key_profile_weight: float = 1.0  # weight of the melody's key-profile correlation in finding the key
    key_bass_weight: float = 1.0  # weight of the bass model in finding the key (0: faster)
    key_net_weight: float = 0.0  # weight of the melody net in finding the key
    key_signature_weight: float = 0.25  # bonus of the two keys of the file's key signature (if it has one): a near tie
    emission_in_search: float = 0.0  # weight of the emissions in the voicing search
    posterior: float = 1.0  # weight of log P(sonority | whole melody) in the voicing search
    weights: VoicingWeights = field(default_factory=VoicingWeights)
    # passing eighths in A, T, B: "learned" where Bach fills that voice's third more often than
    # not (the model's passing rates), "passing" in every third, "none"; None: the style's default
    embellish: str | None = None
    # how often the chord may change: "beat", "half-bar" or "bar"; None: the style's default
    harmonic_rhythm: str | None = None
    # Under a chord held over several beats, what each beat of a melody note outside it costs (nats):
    # a colour tone (a 9th, 11th, 13th or major 7th: no chord tone a half step under it), an avoid
    # note (a half step above a chord tone: the minor ninth over it, or a mode clash: a major-mode
    # 3rd, 6th or 7th over a chord holding a minor-mode one, or the reverse) and a cross relation
    # (the other inflection of a chord tone's own degree: A over iv's A-flat, B over v's B-flat).
    held_colour: float = 1.0
    held_avoid: float = 10.0
    held_cross: float = 30.0
    held_rub: float = 7.0  # a later melody note a minor 9th or 2nd over a held voice, per chord length
    check: bool = True  # check the result and report what remains

    def __post_init__(self):
        if self.style not in STYLES:
            raise HarmonizeError(f"unknown style {self.style!r}; allowed: {', '.join(STYLES)}")
        if self.key is not None:
            tonic, mode = self.key
            if not (isinstance(tonic, int) and 0 <= tonic < 12 and mode in MODES):
                raise HarmonizeError(f"key {self.key!r} is not (tonic 0..11, 'major' | 'minor')")
        if self.embellish is not None and self.embellish not in EMBELLISH:
            raise HarmonizeError(f"unknown embellish {self.embellish!r}; allowed: {', '.join(EMBELLISH)}")
        if self.harmonic_rhythm is not None and self.harmonic_rhythm not in HARMONIC_RHYTHMS:
            raise HarmonizeError(f"unknown harmonic rhythm {self.harmonic_rhythm!r}; "
                                 f"allowed: {', '.join(HARMONIC_RHYTHMS)}")
        if min(self.held_colour, self.held_avoid, self.held_cross, self.held_rub) < 0:
            raise HarmonizeError("held_colour, held_avoid, held_cross and held_rub are costs: none may be negative")
        if self.states_per_beat < 1 or self.voicings_per_state < 1:
            raise HarmonizeError("states_per_beat and voicings_per_state must be at least 1")


@dataclass
class Harmonization:
    voices: Voices  # Soprano, Alto, Tenor, Bass
    key: tuple[int, str]
    states: list[tuple[int, tuple[int, ...]]]  # per chord: (bass, pitch classes) relative to the key
    slots: list[Slot]  # the melody's beats
    notes: list[str]
    velocities: list[int] = field(default_factory=list)  # the soprano notes' velocities
    chords: list[Slot] = field(default_factory=list)  # the spans that keep one chord (``states``): beats or longer


# ---------------------------------------------------------------- entry points


def _accidentals(sharps: int, minor: bool) -> str:
    count = abs(sharps)
    said = "no sharps or flats" if not count else f"{count} {'sharp' if sharps > 0 else 'flat'}{'s' if count > 1 else ''}"
    return said + (", minor" if minor else "")


def harmonize_score(score, options: HarmonizeOptions = HarmonizeOptions(), name: str = "melody"):
    """Harmonize ``score``'s melody in four parts.

    Returns (score, notes): four named tracks Soprano/Alto/Tenor/Bass keeping the
    melody's tempo map and time signatures, and what was done (as sentences)."""
    result = harmonize_melody(score, options, name)
    template = score if isinstance(score, symusic.core.ScoreTick) else score.to("tick")
    out = _to_score(result, template, options, _melody_velocity(score))
    return out, result.notes


def harmonize_file(source, out, options: HarmonizeOptions = HarmonizeOptions()) -> list[str]:
    """Harmonize the melody in ``source`` (MIDI or MusicXML) and write ``out`` (MIDI)."""
    from .score_io import save_score
    from .voices import check_midi_output, load_any_score

    out = check_midi_output(out)
    score, _, _ = load_any_score(source)
    result, notes = harmonize_score(score, options, name=str(source))
    save_score(result, out)
    return notes


def harmonize_melody(score, options: HarmonizeOptions = HarmonizeOptions(), name: str = "melody",
                     model: ChoraleModel | None = None) -> Harmonization:
    """The four-part harmonization itself; ``model`` replaces the shipped one (benchmarks)."""
    ranges = voice_ranges("film" if options.style == "film" else "chorale")
    melody = extract_melody(score, ranges["Soprano"], name)
    slots = melody_slots(melody)
    key_model = model or load_model()  # the key is found with the chorale vocabulary in every style
    model = model or _model_for(options.style)
    notes = list(melody.notes_said)
    if options.key is None:
        key = find_key(key_model, slots, options, melody.signature, melody.notes)
        told = "" if melody.signature is None else f" and its key signature, {_accidentals(*melody.signature)}"
        notes.append(f"key: {key_name(*key)} (found from the melody{told})")
    else:
        key = options.key
        notes.append(f"key: {key_name(*key)} (as given)")
    tonic, mode = key
    mode_model = model.modes[mode]
    if options.style == "film":
        options = replace(options, weights=film_weights(options.weights))
    pedal_beats = pedal_plan(slots, key, ranges, last_note_beat(melody, slots)) if options.style == "film" else {}
    rhythm = options.harmonic_rhythm or DEFAULT_RHYTHM[options.style]
    spans = chord_spans(melody, slots, rhythm)
    chords = [join_slots([slots[i] for i in span]) for span in spans]
    pedal = {k: pedal_beats[span[0]] for k, span in enumerate(spans) if span[0] in pedal_beats}
    try:
        path_states, pitches = decode(mode_model, slots, spans, chords, tonic, mode, ranges, options, pedal,
                                       melody.notes)
    except NoChordError as exc:
        bar, beat = bar_beat(exc.tick, melody.tpq, melody.time_signatures)
        raise NoChordError(exc.sop, exc.tick, exc.ranges, f"bar {bar}, beat {beat:g}", name) from None
    voices = _assemble(melody, chords, path_states, pitches, pedal)
    if options.style == "chorale":
        voices = _rest_with_melody(voices, melody.notes)
    embellish = options.embellish or DEFAULT_EMBELLISH[options.style]
    if embellish != "none":
        rates = (key_model.passing or {}) if embellish == "learned" else None
        voices = add_passing_tones(voices, key, (1, 2) if pedal else (1, 2, 3), rates)
    if len(chords) < len(slots):
        notes.append(f"{len(chords)} chords over {len(slots)} beats (harmonic rhythm: {rhythm})")
    result = Harmonization(voices, key, [mode_model.states[s] for s in path_states], slots, notes,
                           list(melody.velocities), chords)
    notes.append("chords: " + chord_chart(result))
    if pedal:
        notes.append(f"tonic pedal under {len(pedal_beats)} beat(s): the opening bar and the last note")
    if options.check:
        # four-part writing: octaves through several moves are parallels here, not a doubled line
        report = check_voices(voices, replace(check_options_for(options.style, key), doubling_moves=None))
        counts = report.counts()
        if counts:
            listed = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
            notes.append(f"voice-leading check: {listed}")
        else:
            notes.append("voice-leading check: no faults")
    return result


def check_options_for(style: str, key: tuple[int, str] | None = None) -> CheckOptions:
    """The checker as each style is meant to be judged: film allows its wider ranges
    and open spacing (upper voices up to a twelfth apart)."""
    if style == "film":
        return CheckOptions(key=key, range_table="film", max_upper_spacing=OPEN_SPACING)
    return CheckOptions(key=key)


def _melody_velocity(score) -> int:
    velocities = [n.velocity for t in score.tracks if not t.is_drum for n in t.notes]
    return int(np.median(velocities)) if velocities else 80


def _model_for(style: str) -> ChoraleModel:
    return film_model() if style == "film" else load_model()



def _assemble(melody: Melody, slots: list[Slot], states: list[int], pitches, pedal: dict[int, int]) -> Voices:
    soprano = [VNote(s, e, p) for s, e, p in melody.notes]
    parts = [Part("Soprano", soprano)]
    for v, name in ((1, "Alto"), (2, "Tenor"), (3, "Bass")):
        notes: list[VNote] = []
        for t, slot in enumerate(slots):
            pitch = int(pitches[t][v])
            held = states[t] == states[t - 1] or (v == 3 and t in pedal and t - 1 in pedal)
            if notes and notes[-1].pitch == pitch and notes[-1].end == slot.start and held:
                notes[-1] = VNote(notes[-1].start, slot.end, pitch)
            else:
                notes.append(VNote(slot.start, slot.end, pitch))
        parts.append(Part(name, notes))
    return Voices(melody.tpq, parts, list(melody.time_signatures))


def _sounding_spans(notes) -> list[tuple[int, int]]:
    """The melody's notes joined into [start, end) spans of continuous sound."""
    spans: list[list[int]] = []
    for start, end, _ in notes:
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def _rest_with_melody(voices: Voices, melody_notes) -> Voices:
    """Chorale texture breathes with its melody: where the soprano rests, alto, tenor
    and bass rest too (a lower note across a rest is cut there and sounds again after)."""
    spans = _sounding_spans(melody_notes)
    ends = [end for _, end in spans]
    parts = [voices.parts[0]]
    for part in voices.parts[1:]:
        notes = []
        for note in part.notes:
            i = bisect.bisect_right(ends, note.start)
            while i < len(spans) and spans[i][0] < note.end:
                lo, hi = max(note.start, spans[i][0]), min(note.end, spans[i][1])
                if lo < hi:
                    notes.append(VNote(lo, hi, note.pitch))
                i += 1
        parts.append(Part(part.name, notes))
    return voices.with_parts(parts)


# ---------------------------------------------------------------- output


def _to_score(result: Harmonization, template, options: HarmonizeOptions, velocity: int):
    score = symusic.Score(template.tpq)
    for tempo in template.tempos:
        score.tempos.append(symusic.Tempo(tempo.time, qpm=tempo.qpm))
    if not len(score.tempos):
        score.tempos.append(symusic.Tempo(0, qpm=120.0))
    for ts in template.time_signatures:
        score.time_signatures.append(symusic.TimeSignature(ts.time, ts.numerator, ts.denominator))
    if len(template.key_signatures):
        for ks in template.key_signatures:
            score.key_signatures.append(symusic.KeySignature(ks.time, ks.key, ks.tonality))
    else:
        tonic, mode = result.key
        score.key_signatures.append(symusic.KeySignature(0, key_signature(tonic, mode), 1 if mode == "minor" else 0))
    programs = PROGRAMS[options.style]
    for part in result.voices.parts:
        track = symusic.Track(part.name, programs[part.name], False)
        soprano = part.name == "Soprano" and len(result.velocities) == len(part.notes)
        for i, note in enumerate(part.notes):
            vel = max(1, result.velocities[i]) if soprano else velocity
            track.notes.append(symusic.Note(note.start, note.end - note.start, note.pitch, vel))
        score.tracks.append(track)
    return score


def chord_chart(result: Harmonization) -> str:
    """The chords as a lead sheet line, bars divided by '|': 'G | Em | G D/F# | G'. The
    bass is the one sounding: a chord over a pedal it does not hold is 'F/C'."""
    tonic = result.key[0]
    bass_notes = result.voices.parts[3].notes
    bars: list[list[str]] = []
    for chord, (bass, pcs) in zip(result.chords, result.states):
        if chord.downbeat or not bars:
            bars.append([])
        sounding = next((n.pitch for n in bass_notes if n.start <= chord.start < n.end), None)
        rel = bass if sounding is None else (sounding - tonic) % 12
        if rel == bass or rel in pcs:
            symbol = chord_symbol(rel, pcs, result.key)
        else:
            symbol = f"{chord_symbol(bass, pcs, result.key).split('/')[0]}/{pc_name(sounding, result.key)}"
        bars[-1].append(symbol)
    return " | ".join(" ".join(bar) for bar in bars)


__all__ = ["HarmonizeOptions", "Harmonization", "harmonize_score", "harmonize_file", "harmonize_melody", "find_key",
           "check_options_for", "held_note_kind", "chord_chart"]
