"""Broadcast WAV (BWF) writing and WAV reading.

``write_wav`` writes a RIFF WAVE file by hand so that we control every byte:

* chunk order ``RIFF/WAVE``, ``bext`` (when given), ``fmt ``, ``data`` — the
  ``bext`` chunk before the audio, as EBU Tech 3285 recommends;
* ``fmt `` is ``WAVE_FORMAT_PCM`` (1) for one or two channels and
  ``WAVE_FORMAT_EXTENSIBLE`` (0xFFFE, PCM sub-format) for more, with the
  speaker mask of 5.1 (0x3F) for six channels, 7.1 (0x63F) for eight and
  0 (no positions assigned) otherwise;
* samples are 16- or 24-bit little-endian two's complement. Quantisation is
  deterministic: ``x * 2**(bits-1)`` rounded half-to-even (``numpy.rint``) and
  clipped to ``[-2**(bits-1), 2**(bits-1) - 1]``. No dither: the same audio
  always gives the same bytes, which the render farm's cache relies on. Values
  at or beyond full scale are clipped; ``write_wav`` returns how many were.

The ``bext`` chunk is written as **version 1** of EBU Tech 3285: Description
(256 bytes), Originator (32), OriginatorReference (32), OriginationDate (10),
OriginationTime (8), TimeReferenceLow/High (two uint32, the sample count since
midnight as one 64-bit value), Version (uint16 = 1), UMID (64 zero bytes),
190 reserved zero bytes, then CodingHistory. Version 2's loudness fields are
not written: the project records loudness and true peak in its manifests.
Text fields are ASCII, NUL-padded; CodingHistory is NUL-padded to an even
length so the chunk never needs a RIFF pad byte. Nothing is filled in from the
clock: a date or time appears only when the caller passes one.

Files are written through :func:`scorefarm.files.atomic_path`, so a failed or
interrupted write leaves nothing at the target.

``read_wav`` walks the RIFF chunks itself (so it can parse ``bext`` and refuse
corrupt files with a clear message), decodes 16/24-bit integer PCM itself, and
hands every other encoding (8/32-bit, float, RF64, ...) to soundfile.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioInputError, OutputError, RenderError
from ..files import atomic_path

__all__ = ["Bext", "WavData", "read_wav", "write_wav"]

_FORMAT_PCM = 0x0001
_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM: {00000001-0000-0010-8000-00aa00389b71}
_SUBTYPE_PCM = struct.pack("<IHH", 1, 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")
_SPEAKER_MASKS = {6: 0x3F, 8: 0x63F}
_BEXT_FIXED = 602  # bytes before CodingHistory in a bext chunk
_FIELD_SIZES = {"description": 256, "originator": 32, "originator_reference": 32}
_DATE = re.compile(r"\d{4}[-_:. ]\d{2}[-_:. ]\d{2}")
_TIME = re.compile(r"\d{2}[-_:. ]\d{2}[-_:. ]\d{2}")
_CHUNK_FRAMES = 1 << 16


@dataclass(frozen=True)
class Bext:
    """The fields of a BWF ``bext`` chunk that the project fills in.

    ``time_reference`` is the first sample's position in samples since midnight
    (at the file's sample rate), stored as a 64-bit value. Dates are
    ``YYYY-MM-DD`` and times ``HH:MM:SS`` (Tech 3285 also allows ``_ : . space``
    as separators, which reading keeps as found); empty means not stated.
    Invalid values raise ``ValueError`` naming the field.
    """

    description: str = ""
    originator: str = ""
    originator_reference: str = ""
    origination_date: str = ""
    origination_time: str = ""
    time_reference: int = 0
    coding_history: str = ""

    def __post_init__(self) -> None:
        for name, size in _FIELD_SIZES.items():
            _check_ascii(name, getattr(self, name), size)
        _check_ascii("coding_history", self.coding_history, None)
        if self.origination_date and not _DATE.fullmatch(self.origination_date):
            raise ValueError(
                f"bext origination_date must be YYYY-MM-DD, got {self.origination_date!r}"
            )
        if self.origination_time and not _TIME.fullmatch(self.origination_time):
            raise ValueError(
                f"bext origination_time must be HH:MM:SS, got {self.origination_time!r}"
            )
        if isinstance(self.time_reference, bool) or not isinstance(self.time_reference, int):
            raise ValueError(
                f"bext time_reference must be an int (samples), got {self.time_reference!r}"
            )
        if not 0 <= self.time_reference < 1 << 64:
            raise ValueError(
                f"bext time_reference must be in 0 .. 2**64 - 1, got {self.time_reference}"
            )


@dataclass(frozen=True)
class WavData:
    """A WAV file's samples as float64 ``(frames, channels)`` in [-1, 1]."""

    audio: np.ndarray
    sample_rate: int
    bit_depth: int
    bext: Bext | None
    sample_format: str = "pcm"  # "pcm" (integer) or "float"


def _check_ascii(name: str, value: str, size: int | None) -> None:
    if not isinstance(value, str):
        raise ValueError(f"bext {name} must be a str, got {type(value).__name__}")
    if not value.isascii():
        raise ValueError(f"bext {name} must be ASCII, got {value!r}")
    if size is not None and len(value) > size:
        raise ValueError(f"bext {name} holds at most {size} characters, got {len(value)}")


# ---------------------------------------------------------------- writing


def _bext_bytes(bext: Bext) -> bytes:
    history = bext.coding_history.encode("ascii")
    if len(history) % 2:
        history += b"\0"
    fixed = struct.pack(
        "<256s32s32s10s8sIIH64s190s",
        bext.description.encode("ascii"),
        bext.originator.encode("ascii"),
        bext.originator_reference.encode("ascii"),
        bext.origination_date.encode("ascii"),
        bext.origination_time.encode("ascii"),
        bext.time_reference & 0xFFFFFFFF,
        bext.time_reference >> 32,
        1,
        b"",
        b"",
    )
    assert len(fixed) == _BEXT_FIXED
    return fixed + history


def _fmt_bytes(channels: int, sample_rate: int, bit_depth: int) -> bytes:
    block_align = channels * bit_depth // 8
    tag = _FORMAT_PCM if channels <= 2 else _FORMAT_EXTENSIBLE
    body = struct.pack(
        "<HHIIHH", tag, channels, sample_rate, sample_rate * block_align, block_align, bit_depth
    )
    if tag == _FORMAT_EXTENSIBLE:
        mask = _SPEAKER_MASKS.get(channels, 0)
        body += struct.pack("<HHI", 22, bit_depth, mask) + _SUBTYPE_PCM
    return body


def _chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _pack_samples(block: np.ndarray, bit_depth: int) -> tuple[bytes, int]:
    """Quantise float frames to little-endian PCM bytes; return (bytes, clipped)."""
    full = float(1 << (bit_depth - 1))
    ints = np.rint(block * full)
    clipped = int(np.count_nonzero((ints < -full) | (ints > full - 1)))
    np.clip(ints, -full, full - 1, out=ints)
    if bit_depth == 16:
        return ints.astype("<i2").tobytes(), clipped
    as32 = ints.astype("<i4").reshape(-1)
    return as32.view(np.uint8).reshape(-1, 4)[:, :3].tobytes(), clipped


def write_wav(
    path: str | Path,
    audio: np.ndarray,
    sample_rate: int,
    bit_depth: int = 24,
    bext: Bext | None = None,
) -> int:
    """Write ``audio`` (frames, channels) or (frames,), float in [-1, 1], as a
    PCM WAV (BWF when ``bext`` is given) at ``path``; return the number of
    samples clipped. Raises ``RenderError`` for non-finite audio and
    ``OutputError`` when the file cannot be written."""
    path = Path(path)
    data = np.asarray(audio)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] < 1:
        raise RenderError(f"audio must be (frames, channels), got shape {data.shape}", path)
    if not np.issubdtype(data.dtype, np.floating):
        raise RenderError(f"audio must be floating point, got dtype {data.dtype}", path)
    if bit_depth not in (16, 24):
        raise RenderError(f"bit_depth must be 16 or 24, got {bit_depth!r}", path)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise RenderError(f"sample_rate must be an int, got {sample_rate!r}", path)
    if not 1 <= sample_rate < 1 << 32:
        raise RenderError(f"sample_rate must be 1 .. 2**32 - 1 Hz, got {sample_rate}", path)
    if not np.all(np.isfinite(data)):
        raise RenderError("audio contains NaN or infinite samples", path)
    frames, channels = data.shape
    if channels > 0xFFFF:
        raise RenderError(f"at most 65535 channels, got {channels}", path)

    head = _chunk(b"bext", _bext_bytes(bext)) if bext is not None else b""
    head += _chunk(b"fmt ", _fmt_bytes(channels, int(sample_rate), bit_depth))
    data_size = frames * channels * bit_depth // 8
    riff_size = 4 + len(head) + 8 + data_size + (data_size % 2)
    if riff_size > 0xFFFFFFFF:
        raise OutputError(
            f"{frames} frames x {channels} channels exceed the 4 GiB limit of RIFF WAV", path
        )
    clipped = 0
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + head)
                fh.write(b"data" + struct.pack("<I", data_size))
                for start in range(0, frames, _CHUNK_FRAMES):
                    block = data[start : start + _CHUNK_FRAMES].astype(np.float64)
                    packed, count = _pack_samples(block, bit_depth)
                    fh.write(packed)
                    clipped += count
                if data_size % 2:
                    fh.write(b"\0")
        except OSError as exc:
            raise OutputError(f"cannot write the file ({exc.strerror or exc})", path) from None
    return clipped


# ---------------------------------------------------------------- reading


def _ascii_field(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()


def _parse_bext(body: bytes, path: Path) -> Bext:
    if len(body) < 348:  # up to and including Version
        raise AudioInputError(f"bext chunk is {len(body)} bytes, shorter than 348", path)
    fields = struct.unpack_from("<256s32s32s10s8sII", body)
    history = body[_BEXT_FIXED:] if len(body) > _BEXT_FIXED else b""
    history_text = history.rstrip(b"\0").decode("ascii", errors="replace")
    try:
        return Bext(
            description=_ascii_field(fields[0]),
            originator=_ascii_field(fields[1]),
            originator_reference=_ascii_field(fields[2]),
            origination_date=_lenient(fields[3], _DATE),
            origination_time=_lenient(fields[4], _TIME),
            time_reference=fields[5] | (fields[6] << 32),
            coding_history=history_text.replace("\ufffd", "?"),
        )
    except ValueError as exc:
        raise AudioInputError(f"bext chunk is malformed ({exc})", path) from None


def _lenient(raw: bytes, pattern: re.Pattern[str]) -> str:
    """Date/time as found; foreign writers sometimes fill these with junk,
    which we drop rather than refuse the whole file."""
    text = _ascii_field(raw)
    return text if pattern.fullmatch(text) else ""


def _walk(raw: bytes, path: Path) -> dict[bytes, tuple[int, int]]:
    """Map chunk id -> (offset of body, declared size) for the first of each."""
    chunks: dict[bytes, tuple[int, int]] = {}
    offset = 12
    while offset + 8 <= len(raw):
        tag = raw[offset : offset + 4]
        (size,) = struct.unpack_from("<I", raw, offset + 4)
        body = offset + 8
        if tag == b"data" and size == 0xFFFFFFFF:  # RF64 placeholder
            size = len(raw) - body
        if body + size > len(raw) and tag != b"data":
            if tag in (b"fmt ", b"bext"):
                raise AudioInputError(
                    f"{tag.decode('latin-1')!r} chunk is truncated: it declares {size} "
                    f"bytes, the file holds {len(raw) - body}",
                    path,
                )
            break  # a damaged chunk we do not need: stop walking, keep what we have
        chunks.setdefault(tag, (body, size))
        offset = body + size + (size % 2)
    return chunks


def _decode_pcm(raw: bytes, start: int, size: int, channels: int, bits: int) -> np.ndarray:
    width = bits // 8
    usable = size - size % (width * channels)
    buf = np.frombuffer(raw, dtype=np.uint8, count=usable, offset=start)
    if bits == 16:
        ints = buf.view("<i2").astype(np.int32)
    else:
        triples = buf.reshape(-1, 3).astype(np.int32)
        ints = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
    return (ints.astype(np.float64) / float(1 << (bits - 1))).reshape(-1, channels)


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int, int, str]:
    import soundfile

    try:
        audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
        subtype = soundfile.info(str(path)).subtype
    except RuntimeError as exc:  # soundfile.LibsndfileError derives from it
        raise AudioInputError(f"cannot decode the WAV data ({exc})", path) from None
    depths = {"PCM_U8": 8, "PCM_S8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
              "FLOAT": 32, "DOUBLE": 64}
    kind = "float" if subtype in ("FLOAT", "DOUBLE") else "pcm"
    return audio, int(rate), depths.get(subtype, 0), kind


def read_wav(path: str | Path) -> WavData:
    """Read a WAV file of any common encoding; refuse what is not a WAV or is
    corrupt with ``AudioInputError`` naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AudioInputError("no such file", path) from None
    except OSError as exc:
        raise AudioInputError(f"cannot read the file ({exc.strerror or exc})", path) from None
    if len(raw) < 12 or raw[:4] not in (b"RIFF", b"RF64") or raw[8:12] != b"WAVE":
        raise AudioInputError(f"not a WAV file (starts with {raw[:12]!r})", path)
    chunks = _walk(raw, path)
    if b"fmt " not in chunks:
        raise AudioInputError("no 'fmt ' chunk: not a usable WAV file", path)
    if b"data" not in chunks:
        raise AudioInputError("no 'data' chunk: the file holds no audio", path)
    fmt_at, fmt_size = chunks[b"fmt "]
    if fmt_size < 16:
        raise AudioInputError(f"'fmt ' chunk is {fmt_size} bytes, shorter than 16", path)
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", raw, fmt_at)
    if channels == 0 or rate == 0:
        raise AudioInputError(f"'fmt ' declares {channels} channels at {rate} Hz", path)
    if tag == _FORMAT_EXTENSIBLE and fmt_size >= 40:
        if raw[fmt_at + 24 : fmt_at + 40] == _SUBTYPE_PCM:
            tag = _FORMAT_PCM
    data_at, data_size = chunks[b"data"]
    if data_at + data_size > len(raw):
        raise AudioInputError(
            f"data chunk is truncated: it declares {data_size} bytes, "
            f"the file holds {len(raw) - data_at}",
            path,
        )
    bext = None
    if b"bext" in chunks:
        bext_at, bext_size = chunks[b"bext"]
        bext = _parse_bext(raw[bext_at : bext_at + bext_size], path)
    if raw[:4] == b"RIFF" and tag == _FORMAT_PCM and bits in (16, 24) \
            and block_align == channels * bits // 8:
        audio = _decode_pcm(raw, data_at, data_size, channels, bits)
        return WavData(audio, int(rate), int(bits), bext, "pcm")
    audio, rate, depth, kind = _read_with_soundfile(path)
    return WavData(audio, rate, depth or int(bits), bext, kind)
