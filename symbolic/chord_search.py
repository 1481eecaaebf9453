"""The harmonizer's search: the key of a melody, and the best path of sonorities and
voicings under it.

``find_key`` runs the forward algorithm of the progression model (``chorale_model``)
over the 24 keys. ``decode`` turns the beats' emissions (the progression model's
own, a log-linear bass model and the melody net, ``chorale_net``) into a posterior
by forward-backward, keeps each chord's few likeliest sonorities, voices each in
every way the ranges allow (``voicing``) and finds the best path through them. For
chords held over several beats (``HarmonizeOptions.harmonic_rhythm``) a chord is
scored by its first beat's emissions less what the melody's other notes under it
cost (``held_note_kind``). The options themselves live in ``harmonize``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .chorale_model import ChoraleModel, ModeModel
from .chords import key_signature, pitch_name
from .melody import HarmonizeError, Slot
from .voicing import Candidates, StateInfo, best_path, enumerate_voicings, transition_scores

if TYPE_CHECKING:
    from .harmonize import HarmonizeOptions

# the two inflections of one scale degree, as pitch classes above the tonic: b2/2, b3/3, 4/#4, b6/6, b7/7
CROSS_RELATION = {1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 8: 9, 9: 8, 10: 11, 11: 10}
# the degrees that tell major from minor (3, 6, 7 and their flats): a melody on one side over a
# chord holding the other mixes the modes (B over iv's E-flat in G major, G-sharp over i in A minor)
MAJOR_DEGREES, MINOR_DEGREES = frozenset({4, 9, 11}), frozenset({3, 8, 10})
# what a final chord over a closing tonic pedal may hold (above the tonic), and what another costs
TONIC_ENDING = frozenset({0, 2, 3, 4, 7, 9, 11})
FINAL_TONIC_COST = 30.0
MODES = ("major", "minor")


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


def find_key(model: ChoraleModel, slots: list[Slot], options: HarmonizeOptions,
             signature: tuple[int, bool] | None = None, notes=None) -> tuple[int, str]:
    """The key that ``key_scores`` scores highest (the first of equals, majors first)."""
    scores = key_scores(model, slots, options, signature, notes)
    best = max(scores, key=lambda key: (scores[key], -MODES.index(key[1]), -key[0]))
    return best


def key_scores(model: ChoraleModel, slots: list[Slot], options: HarmonizeOptions,
               signature: tuple[int, bool] | None = None, notes=None) -> dict[tuple[int, str], float]:
    """Per key (tonic, mode): how likely the model finds the melody under it (log-likelihood
    per beat), plus ``key_profile_weight`` times the Krumhansl-Schmuckler correlation of the
    melody's pitch classes with the key, plus ``key_signature_weight`` for the keys of the
    file's key signature ``signature`` ((sharps > 0 or flats < 0, whether it says minor);
    None: the file has none): the major key and its relative minor, or the minor key alone
    where the signature says minor (a sequencer writes major when it does not know). The
    pitch classes are those of every note of ``notes`` ((start, end, pitch)), weighted by
    duration; without them, those struck on the beats."""
    from .keyfinding import key_correlations

    hist = np.zeros(12)
    if notes:
        for start, end, pitch in notes:
            hist[pitch % 12] += end - start
    else:
        for slot in slots:
            if slot.sop is not None:
                hist[slot.sop % 12] += 1.0
    corr = key_correlations(hist[None, :])[0]  # [24]: mode * 12 + tonic
    key_options = replace(options, emission_bass=options.key_bass_weight, emission_net=options.key_net_weight,
                          emission_net_bass=0.0)
    scores = {}
    for m, mode in enumerate(MODES):
        mm = model.modes[mode]
        for tonic in range(12):
            ll, _ = _forward_backward(mm, _emissions(mm, slots, tonic, key_options))
            score = ll / len(slots) + options.key_profile_weight * corr[m * 12 + tonic]
            if signature is not None and (key_signature(tonic, mode) - signature[0]) % 12 == 0 and (
                    mode == "minor" or not signature[1]):  # (Gb major is F# major)
                score += options.key_signature_weight
            scores[(tonic, mode)] = float(score)
    return scores


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
    cadence's term. A cross relation is heard however short its note (a reel's F#5
    sixteenth over a borrowed D minor): it costs at least one beat's worth."""
    out = beat_emissions[heads].copy()
    if heads[-1] != len(beat_emissions) - 1:
        out[-1] += options.final * model.log_final
    costs = {"chord_tone": 0.0, "colour": options.held_colour, "avoid": options.held_avoid,
             "cross_relation": options.held_cross}
    cost = np.asarray([[costs[held_note_kind(pc, pcs)] for pc in range(12)] for _, pcs in model.states])
    beats = np.zeros((len(spans), 12))  # beats of melody per pitch class (relative to the key) under each chord
    short = np.zeros((len(spans), 12))  # what notes shorter than a beat lack of one
    for k, notes in enumerate(under):
        for _, pitch, share in notes:
            length = share * len(spans[k])
            beats[k, (pitch - tonic) % 12] += length
            short[k, (pitch - tonic) % 12] += max(0.0, 1.0 - length)
    return out - beats @ cost.T - options.held_cross * _cross_relations(model, short)


def _cross_relations(model: ModeModel, amounts: np.ndarray) -> np.ndarray:
    """[chords, n]: of ``amounts`` ([chords, 12], per pitch class relative to the key: notes,
    or beats), the part that is the other inflection of one of each sonority's degrees (a
    cross relation, ``held_note_kind``: a passing F#5 over D minor)."""
    cross = np.asarray([[held_note_kind(pc, pcs) == "cross_relation" for pc in range(12)]
                        for _, pcs in model.states], dtype=np.float64)
    return amounts @ cross.T


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


def decode(model: ModeModel, slots, spans, chords, tonic, mode, ranges, options: HarmonizeOptions,
            pedal: dict[int, int], melody_notes):
    """The best (sonority, voicing) path over ``chords``, the spans of ``slots`` (beats)
    that keep one chord (``spans``: their beats' indices)."""
    weights = options.weights
    heads = _heads(slots, spans)
    emissions = _emissions(model, slots, tonic, options)
    held = len(chords) < len(slots)
    under = _melody_under(chords, melody_notes)
    if held:
        emissions = _held_emissions(model, emissions, heads, spans, under, tonic, options)
    else:  # a chord a beat: the notes inside a beat may still clash with it, each however short
        struck = np.zeros((len(chords), 12))
        for k, notes in enumerate(under):
            for _, pitch, _ in notes:
                struck[k, (pitch - tonic) % 12] += 1.0
        emissions = emissions - options.held_cross * _cross_relations(model, struck)
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
    raise NoChordError(sop, slot.start, ranges)


class NoChordError(HarmonizeError):
    """No four-part chord fits under a melody note, even with the lower voices' ranges
    widened: ``harmonize_melody`` says where, in bars and beats, and in which file."""

    def __init__(self, sop: int, tick: int, ranges: dict[str, tuple[int, int]], where: str | None = None,
                 path=None):
        self.sop, self.tick, self.ranges, self.where = sop, tick, ranges, where
        low, high = ranges["Soprano"]
        span = f"the soprano range {pitch_name(low)}-{pitch_name(high)}"
        why = (f": the note lies under {span}; give a melody alone, or move the note into that range" if sop < low
               else f": the note lies over {span}" if sop > high else "")
        super().__init__(f"found no four-part chord under the melody's {pitch_name(sop)} at "
                         f"{where or f'tick {tick}'}, even with the lower voices' ranges widened by an octave{why}", path)

    def __reduce__(self):
        return (NoChordError, (self.sop, self.tick, self.ranges, self.where, self.path))
