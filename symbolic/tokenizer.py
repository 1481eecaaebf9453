"""The extension model's tokenizer: miditok REMI with program tokens as *voice slots*.

REMI gives Bar, TimeSig (after every bar), Position, Tempo, and per note Program,
Pitch, Velocity, Duration. The corpus has few real instruments (chorales and folk
tunes carry no GM programs), so the model's program tokens are voice slots:
``Program_0`` is the highest part (by mean pitch), ``Program_1`` the next, up to
``MAX_VOICES``. ``to_voices`` maps a score's tracks onto slots and ``VoiceMap``
puts the real programs, names and channels back after decoding.

The grid: 8 positions per beat for the first 4 beats of a duration (1/32 notes in
4/4), 4 per beat up to 12 beats; 8 velocity bins; 32 tempos from 40 to 250 qpm;
the time signatures of ``TIME_SIGNATURES``. ``quantize`` snaps a score onto that
grid; a quantized score survives score -> tokens -> score unchanged (tested).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import symusic

from scorefarm.errors import ScoreError

MAX_VOICES = 8
PITCH_RANGE = (21, 109)  # A0..C8, end exclusive
BEAT_RES = {(0, 4): 8, (4, 12): 4}
NUM_VELOCITIES = 8
TEMPO_RANGE = (40, 250)
NUM_TEMPOS = 32
TIME_SIGNATURES = {2: [2, 3, 4], 4: [1, 2, 3, 4, 5, 6, 7], 8: [3, 5, 6, 7, 9, 12]}
SPECIAL_TOKENS = ["PAD", "BOS", "EOS"]
TOKENIZER_FILE = "tokenizer.json"


def tokenizer_config():
    from miditok import TokenizerConfig

    return TokenizerConfig(
        pitch_range=PITCH_RANGE, beat_res=dict(BEAT_RES), num_velocities=NUM_VELOCITIES,
        special_tokens=list(SPECIAL_TOKENS), use_programs=True, programs=list(range(MAX_VOICES)),
        one_token_stream_for_programs=True, use_note_duration_programs=list(range(MAX_VOICES)),
        use_tempos=True, num_tempos=NUM_TEMPOS, tempo_range=TEMPO_RANGE,
        use_time_signatures=True, time_signature_range={k: list(v) for k, v in TIME_SIGNATURES.items()},
        remove_duplicated_notes=True,
    )


def build_tokenizer():
    """A fresh REMI tokenizer with this module's configuration."""
    from miditok import REMI

    return REMI(tokenizer_config())


def save_tokenizer(tokenizer, folder: str | Path) -> Path:
    path = Path(folder) / TOKENIZER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(path)
    return path


def load_tokenizer(folder: str | Path):
    """The tokenizer saved beside a model (``<folder>/tokenizer.json``)."""
    from miditok import REMI

    path = Path(folder) / TOKENIZER_FILE
    if not path.exists():
        raise ScoreError("has no tokenizer.json beside the model", Path(folder))
    return REMI(params=path)


# ---------------------------------------------------------------- vocabulary facts


@dataclasses.dataclass(frozen=True)
class Vocab:
    """Token-id groups the model code needs (built once from a tokenizer)."""

    size: int
    pad: int
    bos: int
    eos: int
    bar: int
    pitch: dict[int, int]  # token id -> MIDI pitch
    program: dict[int, int]  # token id -> voice slot
    position: dict[int, int]  # token id -> position index in the bar
    velocity: dict[int, int]
    duration: dict[int, str]
    tempo: dict[int, float]
    time_sig: dict[int, tuple[int, int]]
    other: tuple[int, ...]  # ids of no group above (PitchDrum, ...)

    @classmethod
    def of(cls, tokenizer) -> "Vocab":
        groups: dict[str, dict] = {k: {} for k in ("Pitch", "Program", "Position", "Velocity", "Duration",
                                                     "Tempo", "TimeSig")}
        special: dict[str, int] = {}
        other = []
        for token, index in tokenizer.vocab.items():
            kind, _, value = token.partition("_")
            if kind in ("PAD", "BOS", "EOS", "Bar"):
                special[kind] = index
            elif kind == "TimeSig":
                num, den = value.split("/")
                groups[kind][index] = (int(num), int(den))
            elif kind in ("Pitch", "Program", "Position", "Velocity"):
                groups[kind][index] = int(value)
            elif kind == "Tempo":
                groups[kind][index] = float(value)
            elif kind == "Duration":
                groups[kind][index] = value
            else:
                other.append(index)
        return cls(size=len(tokenizer.vocab), pad=special["PAD"], bos=special["BOS"], eos=special["EOS"],
                   bar=special["Bar"], pitch=groups["Pitch"], program=groups["Program"],
                   position=groups["Position"], velocity=groups["Velocity"], duration=groups["Duration"],
                   tempo=groups["Tempo"], time_sig=groups["TimeSig"], other=tuple(sorted(other)))

    def ids(self, group: str) -> np.ndarray:
        return np.array(sorted(getattr(self, group)), dtype=np.int64)


# ---------------------------------------------------------------- voices


@dataclasses.dataclass(frozen=True)
class VoiceTrack:
    slot: int
    name: str
    program: int
    low: int  # lowest and highest pitch in the sketch
    high: int


@dataclasses.dataclass(frozen=True)
class VoiceMap:
    """How a score's pitched tracks map onto the model's voice slots."""

    voices: tuple[VoiceTrack, ...]

    def restore(self, score: symusic.Score) -> symusic.Score:
        """Give decoded tracks (programs = slots) their real programs and names back,
        in the original track order."""
        by_slot = {t.program: t for t in score.tracks}
        out = []
        for voice in self.voices:
            track = by_slot.get(voice.slot) or symusic.Track(voice.name, voice.program, False)
            track.program = voice.program
            track.name = voice.name
            track.is_drum = False
            out.append(track)
        score.tracks = out
        return score


def to_voices(score: symusic.Score, name: str = "score") -> tuple[symusic.Score, VoiceMap]:
    """A copy of ``score`` with pitched tracks as voice slots, in slot order (highest first).

    Drum tracks are left out (the caller decides what to do with them); more than
    ``MAX_VOICES`` pitched tracks is an error naming the counts."""
    pitched = [t for t in score.tracks if not t.is_drum and t.note_num() > 0]
    if not pitched:
        drums = sum(1 for t in score.tracks if t.is_drum)
        raise ScoreError("has no pitched notes to continue" + (f" (only {drums} drum track(s))" if drums else ""),
                         name)
    if len(pitched) > MAX_VOICES:
        raise ScoreError(f"has {len(pitched)} pitched tracks; the model knows at most {MAX_VOICES} voices "
                         "(merge or drop tracks first)", name)
    order = sorted(range(len(pitched)), key=lambda i: -float(np.mean(pitched[i].notes.numpy()["pitch"])))
    slots = {index: slot for slot, index in enumerate(order)}
    out = symusic.Score(score.ticks_per_quarter)
    out.tempos = score.tempos.copy()
    out.time_signatures = score.time_signatures.copy()
    voices = []
    for index, track in enumerate(pitched):
        copy = track.copy()
        copy.program = slots[index]
        copy.is_drum = False
        out.tracks.append(copy)
        pitches = track.notes.numpy()["pitch"]
        voices.append(VoiceTrack(slots[index], track.name, track.program, int(pitches.min()), int(pitches.max())))
    out.tracks = sorted(out.tracks, key=lambda t: t.program)  # simultaneous notes: highest voice first
    return out, VoiceMap(tuple(voices))


def check_time_signatures(score: symusic.Score, name: str = "score") -> None:
    """Refuse a time signature the tokenizer cannot encode, saying which ones it can."""
    for ts in score.time_signatures:
        if ts.numerator not in TIME_SIGNATURES.get(ts.denominator, []):
            allowed = ", ".join(f"{n}/{d}" for d, ns in TIME_SIGNATURES.items() for n in ns)
            raise ScoreError(f"has time signature {ts.numerator}/{ts.denominator} at tick {ts.time}; the "
                             f"tokenizer encodes only {allowed}", name)


def ticks_per_position(tpq: int, denominator: int) -> float:
    """Ticks between two grid positions under a time signature with this denominator."""
    beat = tpq * 4 / denominator
    return beat / max(BEAT_RES.values())


def quantize(score: symusic.Score) -> symusic.Score:
    """A copy snapped to the tokenizer's grid the way the tokenizer hears it:
    pitches clipped out, velocities and durations to their bins (decoded back)."""
    tokenizer = build_tokenizer()
    return tokenizer.decode(tokenizer.encode(score))


def describe(tokenizer) -> dict:
    """A small JSON-able summary for training records."""
    return {"class": type(tokenizer).__name__, "vocab_size": len(tokenizer.vocab),
            "max_voices": MAX_VOICES, "pitch_range": list(PITCH_RANGE),
            "beat_res": {f"{a}-{b}": r for (a, b), r in BEAT_RES.items()},
            "num_velocities": NUM_VELOCITIES, "tempo_range": list(TEMPO_RANGE),
            "time_signatures": {str(k): v for k, v in TIME_SIGNATURES.items()}}


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)
