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
   penalties for the checker's faults.
4. In chorale style the lower voices rest where the melody rests (the choir
   breathes together); in film style they hold through.
5. The result is checked by ``voiceleading.check_voices`` and the faults that
   remain are reported in the notes.

``style="film"`` holds each chord for half a bar (``harmonic_rhythm``,
``melody.chord_spans``): the search then runs over those spans, each scored by its
first beat's emissions less what the melody's other notes cost against the chord
(``_held_emissions``: colour tones little, avoid notes and cross relations much).
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

from .chorale_model import ChoraleModel, ModeModel, load_model
from .chords import chord_symbol, key_name, key_signature, pc_name
from .melody import (
    HARMONIC_RHYTHMS, HarmonizeError, Melody, Slot, chord_spans, extract_melody, join_slots, last_note_beat,
    melody_slots,
)
from .embellish import add_passing_tones
from .film import OPEN_SPACING, film_model, film_weights, pedal_plan
from .voiceleading import CheckOptions, check_voices
from .voices import Part, VNote, Voices, voice_ranges
from .voicing import Candidates, StateInfo, VoicingWeights, best_path, enumerate_voicings, transition_scores

STYLES = ("chorale", "film")
EMBELLISH = ("learned", "passing", "none")
DEFAULT_EMBELLISH = {"chorale": "learned", "film": "none"}
DEFAULT_RHYTHM = {"chorale": "beat", "film": "half-bar"}  # how often the chord may change
# the two inflections of one scale degree, as pitch classes above the tonic: b2/2, b3/3, 4/#4, b6/6, b7/7
CROSS_RELATION = {1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 8: 9, 9: 8, 10: 11, 11: 10}
# the degrees that tell major from minor (3, 6, 7 and their flats): a melody on one side over a
# chord holding the other mixes the modes (B over iv's E-flat in G major, G-sharp over i in A minor)
MAJOR_DEGREES, MINOR_DEGREES = frozenset({4, 9, 11}), frozenset({3, 8, 10})
# what a final chord over a closing tonic pedal may hold (above the tonic), and what another costs
TONIC_ENDING = frozenset({0, 2, 3, 4, 7, 9, 11})
FINAL_TONIC_COST = 30.0
MODES = ("major", "minor")
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
        key = find_key(key_model, slots, options)
        notes.append(f"key: {key_name(*key)} (found from the melody)")
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
    path_states, pitches = _decode(mode_model, slots, spans, chords, tonic, mode, ranges, options, pedal,
                                   melody.notes)
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
        report = check_voices(voices, check_options_for(options.style, key))
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


# ---------------------------------------------------------------- key and candidates


def _emissions(model: ModeModel, slots: list[Slot], tonic: int, options: HarmonizeOptions) -> np.ndarray:
    """log emission scores [T, n] of each beat under each sonority."""
    out = np.zeros((len(slots), model.size))
    for t, slot in enumerate(slots):
        if slot.sop is None:
            continue
        rel = (slot.sop - tonic) % 12
        out[t] = (options.emission_pc * model.log_pc[:, rel] + options.emission_long * model.log_long[:, slot.sop_long]
                  + options.emission_downbeat * model.log_down[:, slot.downbeat])
    out[-1] += options.final * model.log_final
    seq = _contexts(slots)
    if options.emission_bass and model.bass is not None:
        bass_lp = model.bass.log_probs(seq, tonic)  # [T, 12]
        out += options.emission_bass * bass_lp[:, model.bass_rel]
    if options.emission_net and model.net is not None:
        net_lp = model.net.log_probs(seq, tonic, model.mode)
        out += options.emission_net * net_lp[:, model.net_rel]
    if options.emission_net_bass and model.net is not None:
        net_bass = model.net.bass_log_probs(seq, tonic)
        if net_bass is not None:
            out += options.emission_net_bass * net_bass[:, model.bass_rel]
    return out


def _contexts(slots: list[Slot]):
    from .bass_model import Context

    return [Context(s.sop, s.sop_long, s.downbeat, s.sop_mid, s.beat_in_bar) for s in slots]


def _forward_backward(model: ModeModel, emissions: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood of the beats and the posterior [T, n] of each sonority (scaled)."""
    trans = np.exp(model.log_trans)
    shift = emissions.max(axis=1, keepdims=True)
    e = np.exp(emissions - shift)
    T = len(emissions)
    alpha = np.zeros_like(e)
    scale = np.zeros(T)
    a = np.exp(model.log_start) * e[0]
    scale[0] = a.sum()
    alpha[0] = a / scale[0]
    for t in range(1, T):
        a = (alpha[t - 1] @ trans) * e[t]
        scale[t] = a.sum()
        alpha[t] = a / scale[t]
    beta = np.ones_like(e)
    for t in range(T - 2, -1, -1):
        b = trans @ (e[t + 1] * beta[t + 1])
        beta[t] = b / scale[t + 1]
    loglik = float(np.log(scale).sum() + shift.sum())
    post = alpha * beta
    post /= post.sum(axis=1, keepdims=True)
    return loglik, post


def find_key(model: ChoraleModel, slots: list[Slot], options: HarmonizeOptions) -> tuple[int, str]:
    """The key under which the model finds the melody most likely (log-likelihood per
    beat), plus ``key_profile_weight`` times the Krumhansl-Schmuckler correlation of
    the melody's pitch classes (duration-weighted) with the key."""
    from .keyfinding import key_correlations

    hist = np.zeros(12)
    for slot in slots:
        if slot.sop is not None:
            hist[slot.sop % 12] += 1.0
    corr = key_correlations(hist[None, :])[0]  # [24]: mode * 12 + tonic
    key_options = replace(options, emission_bass=options.key_bass_weight, emission_net=options.key_net_weight,
                          emission_net_bass=0.0)
    best, best_score = None, -np.inf
    for m, mode in enumerate(MODES):
        mm = model.modes[mode]
        for tonic in range(12):
            ll, _ = _forward_backward(mm, _emissions(mm, slots, tonic, key_options))
            score = ll / len(slots) + options.key_profile_weight * corr[m * 12 + tonic]
            if score > best_score + 1e-9:
                best, best_score = (tonic, mode), score
    return best


# ---------------------------------------------------------------- decoding


def _soprano_before(slots: list[Slot], notes) -> list[int | None]:
    """The soprano pitch sounding just before each beat (None in a rest)."""
    out: list[int | None] = []
    j = 0
    for slot in slots:
        while j < len(notes) and notes[j][1] < slot.start:
            j += 1
        k = j
        pitch = None
        while k < len(notes) and notes[k][0] < slot.start:
            if notes[k][1] >= slot.start:
                pitch = notes[k][2]
            k += 1
        out.append(pitch)
    return out


def _melody_under(chords: list[Slot], melody_notes) -> list[list[tuple[int, int, float]]]:
    """Per chord, the melody notes sounding under it: (start tick, pitch, the share of the
    chord's length it sounds there)."""
    out = []
    j = 0
    for chord in chords:
        while j < len(melody_notes) and melody_notes[j][1] <= chord.start:
            j += 1
        length = chord.end - chord.start
        out.append([(start, pitch, (min(end, chord.end) - max(start, chord.start)) / length)
                    for start, end, pitch in melody_notes[j:] if start < chord.end])
    return out


def _heads(slots: list[Slot], spans: list[list[int]]) -> list[int]:
    """Each span's first beat with a melody note (its first beat when it has none)."""
    return [next((i for i in span if slots[i].sop is not None), span[0]) for span in spans]


def _held_emissions(model: ModeModel, beat_emissions: np.ndarray, heads: list[int], spans: list[list[int]],
                    under: list[list[tuple[int, int, float]]], tonic: int, options: HarmonizeOptions) -> np.ndarray:
    """Emissions [chords, n] of chords held over several beats: their first sounding
    beat's own (``heads``), less what the melody's notes outside the chord cost per beat
    (``held_colour``, ``held_avoid``, ``held_cross``); the last chord takes the final
    cadence's term."""
    out = beat_emissions[heads].copy()
    if heads[-1] != len(beat_emissions) - 1:
        out[-1] += options.final * model.log_final
    costs = {"chord_tone": 0.0, "colour": options.held_colour, "avoid": options.held_avoid,
             "cross_relation": options.held_cross}
    cost = np.asarray([[costs[held_note_kind(pc, pcs)] for pc in range(12)] for _, pcs in model.states])
    beats = np.zeros((len(spans), 12))  # beats of melody per pitch class (relative to the key) under each chord
    for k, notes in enumerate(under):
        for _, pitch, share in notes:
            beats[k, (pitch - tonic) % 12] += share * len(spans[k])
    return out - beats @ cost.T


def _rubs(pitches: np.ndarray, later: list[tuple[int, float]]) -> np.ndarray:
    """Per voicing [n, 4], how long (in chord lengths) a later melody note sounds a minor
    ninth or a minor second above a held lower voice (F5 over an alto's E4)."""
    out = np.zeros(len(pitches))
    for pitch, length in later:
        gap = pitch - pitches[:, 1:]
        out += length * ((gap == 1) | (gap == 13)).any(axis=1)
    return out


def _tonic_chords(model: ModeModel) -> np.ndarray:
    """[n] the sonorities that can end a piece over a tonic pedal: the tonic triad, major
    or minor, with an added ninth, sixth or major seventh at most (I, i, Iadd9, Imaj7)."""
    return np.asarray([{0, 7} <= set(pcs) and bool({3, 4} & set(pcs)) and set(pcs) <= TONIC_ENDING
                       for _, pcs in model.states])


def held_note_kind(pc: int, pcs) -> str:
    """What a melody pitch class is over a held chord (both relative to the tonic):
    "chord_tone", "cross_relation", "avoid" (a half step above a chord tone, or a
    mode clash) or "colour" (see ``HarmonizeOptions.held_colour``)."""
    if pc in pcs:
        return "chord_tone"
    if CROSS_RELATION.get(pc) in pcs:
        return "cross_relation"
    other = MINOR_DEGREES if pc in MAJOR_DEGREES else MAJOR_DEGREES if pc in MINOR_DEGREES else frozenset()
    if (pc - 1) % 12 in pcs or other & set(pcs):
        return "avoid"
    return "colour"


def _decode(model: ModeModel, slots, spans, chords, tonic, mode, ranges, options: HarmonizeOptions,
            pedal: dict[int, int], melody_notes):
    """The best (sonority, voicing) path over ``chords``, the spans of ``slots`` (beats)
    that keep one chord (``spans``: their beats' indices)."""
    weights = options.weights
    heads = _heads(slots, spans)
    emissions = _emissions(model, slots, tonic, options)
    held = len(chords) < len(slots)
    under = _melody_under(chords, melody_notes) if held else []
    if held:
        emissions = _held_emissions(model, emissions, heads, spans, under, tonic, options)
    if len(chords) - 1 in pedal:  # a closing tonic pedal: the piece ends on the tonic chord over it
        emissions[-1] -= FINAL_TONIC_COST * ~_tonic_chords(model)
    _, post = _forward_backward(model, emissions)
    log_post = np.log(np.maximum(post, 1e-300))
    info = StateInfo.build(model, tonic, mode)
    outer_lp = None
    if options.outer_net and model.net is not None:
        outer_lp = model.net.outer_log_probs(_contexts(slots), tonic)[heads]
    lattice: list[Candidates] = []
    # the melody's notes after each held chord's first, (pitch, share of the chord's length)
    rubs = [[(pitch, share) for start, pitch, share in notes if start > chord.start]
            for chord, notes in zip(chords, under)] if held else [[] for _ in chords]
    last_sop = next(s.sop for s in chords if s.sop is not None)
    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for t, slot in enumerate(chords):
        sop = slot.sop if slot.sop is not None else last_sop
        last_sop = sop
        order = np.argsort(-post[t], kind="stable")
        states, rows, scores = [], [], []
        for s in order:
            if post[t, s] <= 0:
                break
            low = slot.sop_low if slot.sop is not None else None
            key = (int(s), sop, pedal.get(t), low)
            if key not in cache:
                cache[key] = enumerate_voicings(model, int(s), sop, tonic, ranges, weights, pedal.get(t), low)
            pitches, vscore = cache[key]
            if not len(pitches):
                continue
            if outer_lp is not None:
                distance = np.clip(pitches[:, 0] - pitches[:, 3], 0, outer_lp.shape[1] - 1)
                vscore = vscore + options.outer_net * outer_lp[t, distance]
            if rubs[t]:
                vscore = vscore - options.held_rub * _rubs(pitches, rubs[t])
            keep = np.argsort(-vscore, kind="stable")[: options.voicings_per_state]
            states.extend([int(s)] * len(keep))
            rows.append(pitches[keep])
            node = options.emission_in_search * (emissions[t, s] + (model.log_start[s] if t == 0 else 0.0))
            scores.append(vscore[keep] + node + options.posterior * log_post[t, s])
            if len({*states}) >= options.states_per_beat:
                break
        if not rows:
            rows, states, scores = _fallback(model, post[t], sop, tonic, ranges, weights, slot, options)
        lattice.append(Candidates(np.asarray(states), np.vstack(rows), np.concatenate(scores)))
    before = _soprano_before(chords, melody_notes)
    motion_lp = None
    if options.motion_net and model.net is not None:
        motion_lp = model.net.motion_log_probs(_contexts(slots), tonic)[heads]

    def moves(t: int) -> np.ndarray:
        score = transition_scores(model, lattice[t - 1], lattice[t], tonic, mode, weights, info, before[t])
        if motion_lp is not None:
            reach = (motion_lp.shape[1] - 1) // 2
            step = lattice[t].pitches[None, :, 3] - lattice[t - 1].pitches[:, None, 3]
            score = score + options.motion_net * motion_lp[t, np.clip(step, -reach, reach) + reach]
        return score

    path = best_path(lattice, moves)
    states = [int(lattice[t].states[i]) for t, i in enumerate(path)]
    pitches = [lattice[t].pitches[i] for t, i in enumerate(path)]
    return states, pitches


def _fallback(model, post_t, sop, tonic, ranges, weights, slot, options):
    """No voicing fits the ranges (a soprano note far outside its own): widen the
    lower voices' ranges by an octave each way and the spacing to two octaves."""
    wide = {name: (low - 12, high + 12) for name, (low, high) in ranges.items()}
    loose = replace(weights, max_upper_spacing=24, max_tenor_bass=36)
    for s in np.argsort(-post_t, kind="stable")[: 4 * options.states_per_beat]:
        pitches, vscore = enumerate_voicings(model, int(s), sop, tonic, wide, loose)
        if len(pitches):
            keep = np.argsort(-vscore, kind="stable")[: options.voicings_per_state]
            return [pitches[keep]], [int(s)] * len(keep), [vscore[keep] + options.posterior * np.log(post_t[s])]
    raise HarmonizeError(
        f"found no four-part chord under the soprano note {sop} at tick {slot.start}, even with the lower voices' "
        f"ranges widened by an octave (ranges: {ranges})"
    )


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
