"""Broadcast WAV (BWF) writing and WAV reading.

``write_wav`` writes a RIFF WAVE file by hand so that we control every byte:

* chunk order ``RIFF/WAVE``, ``bext`` (when given), ``fmt ``, ``data`` — the
  ``bext`` chunk before the audio, as EBU Tech 3285 recommends;
* ``fmt `` is ``WAVE_FORMAT_PCM`` (1) for one or two channels and
  ``WAVE_FORMAT_EXTENSIBLE`` (0xFFFE, PCM sub-format) for more, with the
  caller's speaker mask (a source's layout, kept) or else the mask of 5.1
  (0x3F) for six channels, 7.1 (0x63F) for eight and 0 (no positions
  assigned) otherwise;
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

``read_wav`` walks the chunks of RIFF, RF64 and BW64 files itself (so it can parse
``bext`` and ``ds64``, forgive what streaming writers leave unset, and refuse
corrupt files with a clear message) and decodes integer PCM (8 to 32 bits, in
WAVE_FORMAT_EXTENSIBLE or not) and 32/64-bit float itself, a block at a time.
soundfile decodes the rest of what a composer has: A-law, mu-law and ADPCM WAVs,
and AIFF/AIFC, FLAC, Wave64 and CAF files (lossless, so accepted as a mix).
MP3, Ogg, MP4 and MIDI files are refused naming what they are, whatever their name.
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
    channel_mask: int | None = None  # WAVE_FORMAT_EXTENSIBLE speaker positions, when stated
    encoding: str = ""              # as read: "24-bit PCM", "32-bit float", "mu-law", ...
    container: str = "RIFF"         # RIFF, RF64, BW64, or AIFF, FLAC, Wave64, CAF
    notes: tuple[str, ...] = ()     # what was forgiven while reading (a streamed data size)


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


def _fmt_bytes(channels: int, sample_rate: int, bit_depth: int, mask: int | None = None) -> bytes:
    block_align = channels * bit_depth // 8
    tag = _FORMAT_PCM if channels <= 2 and mask is None else _FORMAT_EXTENSIBLE
    body = struct.pack(
        "<HHIIHH", tag, channels, sample_rate, sample_rate * block_align, block_align, bit_depth
    )
    if tag == _FORMAT_EXTENSIBLE:
        mask = _SPEAKER_MASKS.get(channels, 0) if mask is None else mask
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
    channel_mask: int | None = None,
) -> int:
    """Write ``audio`` (frames, channels) or (frames,), float in [-1, 1], as a
    PCM WAV (BWF when ``bext`` is given) at ``path``; return the number of
    samples clipped. ``channel_mask`` (WAVE_FORMAT_EXTENSIBLE speaker bits, one
    per channel) keeps a source's layout; without it, 5.1 and 7.1 masks are
    written for six and eight channels, none for other counts. Raises
    ``RenderError`` for non-finite audio or a mask that does not name one
    position per channel, and ``OutputError`` when the file cannot be written."""
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
    if channel_mask is not None and not (
            0 <= channel_mask < 1 << 32 and bin(channel_mask).count("1") == channels):
        raise RenderError(f"channel_mask {channel_mask:#x} does not name {channels} positions", path)

    head = _chunk(b"bext", _bext_bytes(bext)) if bext is not None else b""
    head += _chunk(b"fmt ", _fmt_bytes(channels, int(sample_rate), bit_depth, channel_mask))
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

_WAVE_MAGICS = (b"RIFF", b"RF64", b"BW64")
_FORMAT_FLOAT = 0x0003
# The tail every KSDATAFORMAT_SUBTYPE_* GUID shares after its 4-byte format code.
_KS_TAIL = _SUBTYPE_PCM[4:]
_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM",
                 0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MP3", 0x0161: "WMA"}
_DECODE_SAMPLES = 1 << 21  # samples decoded at a time: bounds the temporaries on long files
# Containers other than WAV that libsndfile decodes losslessly: read through soundfile.
_SOUNDFILE_CONTAINERS = {"AIFF": "AIFF", "FLAC": "FLAC", "W64": "Wave64", "CAF": "CAF"}
_SUBTYPE_DEPTHS = {"PCM_U8": 8, "PCM_S8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
                   "FLOAT": 32, "DOUBLE": 64, "ULAW": 8, "ALAW": 8}


def _sniff(head: bytes) -> tuple[str, str | None]:
    """What a file's first bytes say it is: ("wav", None), ("soundfile", container)
    for the lossless containers libsndfile reads, or ("refuse", what it is)."""
    if len(head) >= 12 and head[:4] in _WAVE_MAGICS and head[8:12] == b"WAVE":
        return "wav", None
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "soundfile", "AIFF"
    if head[:4] == b"fLaC":
        return "soundfile", "FLAC"
    if head[:8] == b"riff\x2e\x91\xcf\x11":  # Wave64's RIFF GUID
        return "soundfile", "W64"
    if head[:4] == b"caff":
        return "soundfile", "CAF"
    if not head:
        return "refuse", "is empty (0 bytes), not a WAV file"
    if head[:4] == b"MThd":
        return "refuse", "is a MIDI file (notes, not audio), not a WAV file: render it first"
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"RMID":
        return "refuse", "is a RIFF MIDI file (RMID: notes, not audio), not a WAV file: render it first"
    if head[:4] == b"RIFX":
        return "refuse", "is a big-endian RIFF (RIFX) file, which this reader does not decode: not a WAV file"
    if head[:4] == b"RIFF":
        return "refuse", f"is a RIFF file of form {head[8:12]!r}, not a WAV file"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "refuse", ("is MPEG audio (MP3/AAC), not a WAV file: lossy; export the "
                          "lossless audio as WAV, AIFF or FLAC")
    if head[:4] == b"OggS":
        return "refuse", ("is an Ogg file (Vorbis/Opus), not a WAV file: lossy; export the "
                          "lossless audio as WAV, AIFF or FLAC")
    if head[4:8] == b"ftyp":
        return "refuse", "is an MPEG-4 file (M4A/MP4), not a WAV file: export the mix as WAV, AIFF or FLAC"
    return "refuse", (f"is not a WAV file (starts with {head[:12]!r}); "
                      "expected WAV (RIFF, RF64 or BW64), AIFF or FLAC")


def _is_chunk_id(tag: bytes) -> bool:
    return len(tag) == 4 and all(0x20 <= c <= 0x7E for c in tag)


@dataclass(frozen=True)
class _Layout:
    chunks: dict[bytes, tuple[int, int]]  # id -> (offset of body, size) for the first of each
    notes: tuple[str, ...]


def _ds64(raw: bytes, at: int, size: int, path: Path) -> tuple[int, dict[bytes, int]]:
    """The data size and the other 64-bit chunk sizes an RF64/BW64 ds64 chunk holds."""
    if size < 28 or at + 28 > len(raw):
        raise AudioInputError(f"ds64 chunk is {size} bytes, shorter than 28", path)
    _, data_size, _, count = struct.unpack_from("<QQQI", raw, at)
    table: dict[bytes, int] = {}
    for k in range(min(count, max(0, (size - 28) // 12))):
        tag, chunk_size = struct.unpack_from("<4sQ", raw, at + 28 + 12 * k)
        table[tag] = chunk_size
    return data_size, table


def _walk(raw: bytes, path: Path) -> _Layout:
    """Find the chunks of a RIFF/RF64/BW64 WAVE file, forgiving what writers get wrong
    in ways that leave the audio unambiguous: a missing pad byte after an odd-sized
    chunk, trailing bytes that are no chunk, a data size left at 0 or 0xFFFFFFFF by a
    writer that streamed the file (the data then runs to the end of the file)."""
    chunks: dict[bytes, tuple[int, int]] = {}
    notes: list[str] = []
    wide = raw[:4] != b"RIFF"
    data_size64: int | None = None
    table: dict[bytes, int] = {}
    offset, odd = 12, False
    while offset + 8 <= len(raw):
        tag = raw[offset : offset + 4]
        if not _is_chunk_id(tag):
            if odd and _is_chunk_id(raw[offset - 1 : offset + 3]):
                offset -= 1  # the writer left out the pad byte of an odd-sized chunk
                tag = raw[offset : offset + 4]
            else:
                break  # trailing bytes that are no chunk: the file's chunks end here
        (size,) = struct.unpack_from("<I", raw, offset + 4)
        body = offset + 8
        if wide and tag == b"ds64" and data_size64 is None:
            data_size64, table = _ds64(raw, body, size, path)
        elif wide and size == 0xFFFFFFFF:
            size = data_size64 if tag == b"data" and data_size64 is not None else table.get(tag, size)
        if tag == b"data" and b"data" not in chunks:
            rest = len(raw) - body
            streamed = size == 0xFFFFFFFF  # no ds64 gave the size
            if size == 0 and rest >= 8:  # empty, or a streaming writer's placeholder?
                following = raw[body : body + 4]
                (next_size,) = struct.unpack_from("<I", raw, body + 4)
                streamed = not (_is_chunk_id(following) and body + 8 + next_size <= len(raw))
            if streamed:
                notes.append(f"the data chunk's size was left at {size:#x} by a streaming writer: "
                             f"read the {rest} bytes to the end of the file")
                size = rest
        if body + size > len(raw) and tag != b"data":
            if tag in (b"fmt ", b"bext", b"ds64"):
                raise AudioInputError(
                    f"{tag.decode('latin-1')!r} chunk is truncated: it declares {size} "
                    f"bytes, the file holds {len(raw) - body}",
                    path,
                )
            break  # a damaged chunk we do not need: stop walking, keep what we have
        chunks.setdefault(tag, (body, size))
        odd = bool(size % 2)
        offset = body + size + (size % 2)
    return _Layout(chunks, tuple(notes))


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


@dataclass(frozen=True)
class _Format:
    code: int            # the format code, the sub-format's for WAVE_FORMAT_EXTENSIBLE
    channels: int
    rate: int
    block_align: int
    bits: int            # significant bits per sample
    mask: int | None     # speaker positions (WAVE_FORMAT_EXTENSIBLE only)


def _parse_fmt(raw: bytes, at: int, size: int, path: Path) -> _Format:
    if size < 16:
        raise AudioInputError(f"'fmt ' chunk is {size} bytes, shorter than 16", path)
    code, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", raw, at)
    if channels == 0 or rate == 0:
        raise AudioInputError(f"'fmt ' declares {channels} channels at {rate} Hz", path)
    mask = None
    if code == _FORMAT_EXTENSIBLE:
        if size < 40:
            raise AudioInputError(
                f"'fmt ' is WAVE_FORMAT_EXTENSIBLE but {size} bytes long, not 40", path)
        valid, mask = struct.unpack_from("<HI", raw, at + 18)
        guid = raw[at + 24 : at + 40]
        if guid[4:] != _KS_TAIL:
            raise AudioInputError(
                f"WAVE_FORMAT_EXTENSIBLE sub-format {guid.hex()} is not one this reader "
                "knows (PCM or IEEE float)", path)
        (code,) = struct.unpack_from("<I", guid)
        bits = valid or bits
    return _Format(code, channels, rate, block_align, bits, mask)


def _decode(raw: bytes, start: int, frames: int, channels: int, width: int,
            floating: bool) -> np.ndarray:
    """Little-endian samples (``width`` bytes each, 8-bit unsigned) to float64
    (frames, channels) in [-1, 1), a block at a time."""
    out = np.empty((frames, channels), dtype=np.float64)
    step = max(1, _DECODE_SAMPLES // channels)
    for first in range(0, frames, step):
        count = min(step, frames - first) * channels
        at = start + first * channels * width
        if floating:
            block = np.frombuffer(raw, "<f4" if width == 4 else "<f8", count, at)
        elif width == 1:
            block = (np.frombuffer(raw, np.uint8, count, at).astype(np.float64) - 128.0) / 128.0
        elif width == 3:
            b = np.frombuffer(raw, np.uint8, 3 * count, at).reshape(-1, 3)
            ints = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8)
                    | (b[:, 2].astype(np.int8).astype(np.int32) << 16))
            block = ints / float(1 << 23)
        else:
            block = np.frombuffer(raw, "<i2" if width == 2 else "<i4", count, at) \
                / float(1 << (8 * width - 1))
        out[first : first + count // channels] = block.reshape(-1, channels)
    return out


def _encoding(fmt: _Format, width: int) -> str:
    if fmt.code == _FORMAT_FLOAT:
        return f"{8 * width}-bit float"
    if fmt.code == _FORMAT_PCM:
        kind = "unsigned PCM" if width == 1 else "PCM"
        inside = f" in {8 * width}-bit words" if fmt.bits < 8 * width else ""
        return f"{fmt.bits}-bit {kind}{inside}"
    return _FORMAT_NAMES.get(fmt.code, f"format 0x{fmt.code:04X}")


def _read_with_soundfile(path: Path, what: str) -> tuple[np.ndarray, int, int, str, str]:
    """(audio, rate, bit depth, "pcm"|"float", encoding) of a file libsndfile decodes."""
    import soundfile

    try:
        info = soundfile.info(str(path))
        audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, TypeError, ValueError) as exc:  # LibsndfileError derives from RuntimeError
        message = " ".join(str(exc).split()).replace(f"{str(path)!r}", "").strip(": ")
        raise AudioInputError(f"cannot decode the {what} ({message})", path) from None
    kind = "float" if info.subtype in ("FLOAT", "DOUBLE") else "pcm"
    depth = _SUBTYPE_DEPTHS.get(info.subtype, 0)
    encoding = f"{depth}-bit {'float' if kind == 'float' else 'PCM'}" \
        if info.subtype.startswith("PCM") or kind == "float" else info.subtype_info
    return audio, int(rate), depth, kind, encoding


def read_wav(path: str | Path) -> WavData:
    """Read a WAV file (RIFF, RF64 or BW64; integer PCM of 8 to 32 bits, 32/64-bit
    float, WAVE_FORMAT_EXTENSIBLE or not; A-law, mu-law and ADPCM through soundfile),
    or an AIFF/AIFC, FLAC, Wave64 or CAF file through soundfile. Refuse anything else
    (MP3, Ogg, MIDI, text, a damaged file) with ``AudioInputError`` naming the file
    and what it is."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AudioInputError("no such file", path) from None
    except IsADirectoryError:
        raise AudioInputError("is a folder, not a WAV file", path) from None
    except OSError as exc:
        raise AudioInputError(f"cannot read the file ({exc.strerror or exc})", path) from None
    kind, what = _sniff(raw[:16])
    if kind == "refuse":
        raise AudioInputError(what, path)
    if kind == "soundfile":
        del raw
        audio, rate, depth, sample_format, encoding = _read_with_soundfile(
            path, f"{_SOUNDFILE_CONTAINERS[what]} file")
        if not audio.size:
            raise AudioInputError(f"holds no audio (an empty {_SOUNDFILE_CONTAINERS[what]} file)", path)
        return WavData(audio, rate, depth, None, sample_format, None,
                       encoding, _SOUNDFILE_CONTAINERS[what])

    layout = _walk(raw, path)
    if b"fmt " not in layout.chunks:
        raise AudioInputError("no 'fmt ' chunk: not a usable WAV file", path)
    if b"data" not in layout.chunks:
        raise AudioInputError("no 'data' chunk: the file holds no audio", path)
    fmt = _parse_fmt(raw, *layout.chunks[b"fmt "], path)
    data_at, data_size = layout.chunks[b"data"]
    if data_at + data_size > len(raw):
        raise AudioInputError(
            f"data chunk is truncated: it declares {data_size} bytes, "
            f"the file holds {len(raw) - data_at}",
            path,
        )
    bext = None
    if b"bext" in layout.chunks:
        bext_at, bext_size = layout.chunks[b"bext"]
        bext = _parse_bext(raw[bext_at : bext_at + bext_size], path)
    container = raw[:4].decode("ascii")
    width = fmt.block_align // fmt.channels if fmt.block_align % fmt.channels == 0 else 0
    plain = (fmt.code == _FORMAT_PCM and width in (1, 2, 3, 4) and fmt.bits <= 8 * width) or \
        (fmt.code == _FORMAT_FLOAT and width in (4, 8))
    if plain:
        frames = data_size // fmt.block_align
        if frames == 0:
            raise AudioInputError("holds no audio: its data chunk is empty", path)
        audio = _decode(raw, data_at, frames, fmt.channels, width, fmt.code == _FORMAT_FLOAT)
        return WavData(audio, int(fmt.rate), int(fmt.bits), bext,
                       "float" if fmt.code == _FORMAT_FLOAT else "pcm", fmt.mask,
                       _encoding(fmt, width), container, layout.notes)
    if fmt.code in (_FORMAT_PCM, _FORMAT_FLOAT):
        raise AudioInputError(
            f"'fmt ' declares {fmt.bits}-bit {'float' if fmt.code == _FORMAT_FLOAT else 'PCM'} "
            f"with {fmt.block_align}-byte frames for {fmt.channels} channels, which do not fit", path)
    if container == "BW64" or layout.notes:
        raise AudioInputError(
            f"holds {_encoding(fmt, width)} audio in a {container} file, which this reader "
            "decodes only as PCM or float", path)
    del raw
    audio, rate, depth, sample_format, encoding = _read_with_soundfile(path, "WAV data")
    if not audio.size:
        raise AudioInputError("holds no audio: its data chunk is empty", path)
    return WavData(audio, rate, depth or int(fmt.bits), bext, sample_format, fmt.mask,
                   encoding, container)
