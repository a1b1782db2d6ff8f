"""Audio conversion: whatever arrives -> s16le mono at the engine's rate, in fixed chunks.

Recognizers only accept `Pcm16`, the type this module produces, so audio cannot reach a
model without passing through `AudioConverter` (Vosk aborts the whole process on audio at
the wrong rate; a type check is cheaper than a crash).
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import soxr

from voice.errors import AudioFormatError

SampleFormat = Literal["u8", "s16", "s24", "s32", "f32", "f64"]

MIN_RATE = 4_000
MAX_RATE = 192_000
MAX_CHANNELS = 8
DEFAULT_CHUNK_MS = 160

FloatArray = npt.NDArray[np.float32]

_BYTES_PER_SAMPLE: dict[str, int] = {"u8": 1, "s16": 2, "s24": 3, "s32": 4, "f32": 4, "f64": 8}
_FORMAT_OF_DTYPE: dict[str, SampleFormat] = {
    "uint8": "u8",
    "int16": "s16",
    "int32": "s32",
    "float32": "f32",
    "float64": "f64",
}


class Pcm16(bytes):
    """s16le mono PCM at a known `sample_rate`, as produced by `AudioConverter`."""

    sample_rate: int

    def __new__(cls, data: bytes, sample_rate: int) -> Pcm16:
        if len(data) % 2:
            raise AudioFormatError(f"s16 PCM needs an even byte count, got {len(data)}")
        check_rate(sample_rate)
        pcm = super().__new__(cls, data)
        pcm.sample_rate = sample_rate
        return pcm

    @property
    def duration_s(self) -> float:
        return len(self) / 2 / self.sample_rate

    def samples(self) -> npt.NDArray[np.int16]:
        """The samples as an int16 array (a copy-free view)."""
        return np.frombuffer(self, dtype="<i2")


def check_rate(rate: int) -> int:
    """Return `rate` if it is a usable sample rate, else raise `AudioFormatError`."""
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(f"unsupported sample rate {rate!r} (need {MIN_RATE}-{MAX_RATE} Hz)")
    return rate


def require_pcm(pcm: bytes, sample_rate: int) -> Pcm16:
    """What a recognizer calls on its input: converted audio at exactly its rate, or an error."""
    if not isinstance(pcm, Pcm16):
        raise AudioFormatError(
            "recognizers accept only voice.audio.Pcm16; convert audio with AudioConverter"
        )
    if pcm.sample_rate != sample_rate:
        raise AudioFormatError(
            f"audio is at {pcm.sample_rate} Hz but the recognizer needs {sample_rate} Hz"
        )
    return pcm


def _check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int):
        raise AudioFormatError(f"channel count must be an integer, got {channels!r}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFormatError(f"unsupported channel count {channels} (need 1-{MAX_CHANNELS})")
    return channels


def _check_format(sample_format: str) -> SampleFormat:
    if sample_format not in get_args(SampleFormat):
        raise AudioFormatError(f"unknown sample format {sample_format!r}")
    return sample_format  # type: ignore[return-value]


def _decode_bytes(data: bytes, sample_format: SampleFormat) -> FloatArray:
    """Raw interleaved bytes -> float32 in [-1, 1] (still interleaved)."""
    if sample_format == "u8":
        return ((np.frombuffer(data, dtype=np.uint8).astype(np.float32)) - 128.0) / 128.0
    if sample_format == "s16":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if sample_format == "s24":
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32) / float(1 << 23)
    if sample_format == "s32":
        return (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2147483648.0).astype(
            np.float32
        )
    return _finite_float(np.frombuffer(data, dtype="<f4" if sample_format == "f32" else "<f8"))


def _finite_float(samples: npt.NDArray[np.floating[Any]]) -> FloatArray:
    """Float samples -> float32 clipped to [-1, 1]; NaN/inf is an error, not silence."""
    if not np.all(np.isfinite(samples)):
        raise AudioFormatError("audio contains NaN or infinite samples")
    clipped: FloatArray = np.clip(samples, -1.0, 1.0).astype(np.float32)
    return clipped


def _normalize_array(array: npt.NDArray[np.generic], channels: int) -> FloatArray:
    """An array in aiortc's layouts -> interleaved float32.

    Accepted: 1-D interleaved; (1, n*channels) packed (aiortc `to_ndarray()` of s16 stereo);
    (channels, n) planar. The dtype decides the sample format.
    """
    fmt = _FORMAT_OF_DTYPE.get(array.dtype.name)
    if fmt is None:
        raise AudioFormatError(f"unsupported sample dtype {array.dtype}")
    if array.ndim == 2 and array.shape[0] == channels and channels > 1:
        array = np.ascontiguousarray(array.T)  # planar -> interleaved
    elif array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim != 1:
        raise AudioFormatError(f"unsupported array shape {array.shape} for {channels} channel(s)")
    if fmt in ("f32", "f64"):
        return _finite_float(np.asarray(array))
    if fmt == "u8":
        return (array.astype(np.float32) - 128.0) / 128.0
    full_scale = 32768.0 if fmt == "s16" else 2147483648.0
    return (array.astype(np.float64) / full_scale).astype(np.float32)


def to_mono_float(
    data: bytes | npt.NDArray[np.generic],
    *,
    channels: int,
    sample_format: SampleFormat = "s16",
) -> FloatArray:
    """Decode, validate and downmix one block of audio to mono float32 in [-1, 1].

    Raises `AudioFormatError` for a byte count that is not whole frames, NaN/inf samples,
    an unknown format, or an unsupported channel count. Out-of-range floats are clipped.
    """
    channels = _check_channels(channels)
    if isinstance(data, np.ndarray):
        interleaved = _normalize_array(data, channels)
    elif isinstance(data, bytes | bytearray | memoryview):
        sample_format = _check_format(sample_format)
        frame_bytes = _BYTES_PER_SAMPLE[sample_format] * channels
        if len(data) % frame_bytes:
            raise AudioFormatError(
                f"{len(data)} bytes is not a whole number of {sample_format} x {channels} "
                f"frames ({frame_bytes} bytes each)"
            )
        interleaved = _decode_bytes(bytes(data), sample_format)
    else:
        raise AudioFormatError(f"audio must be bytes or a numpy array, not {type(data).__name__}")
    if interleaved.size % channels:
        raise AudioFormatError(
            f"{interleaved.size} samples is not a multiple of {channels} channels"
        )
    mono = interleaved if channels == 1 else interleaved.reshape(-1, channels).mean(axis=1)
    return mono.astype(np.float32, copy=False)


def float_to_s16(samples: FloatArray) -> bytes:
    """Float samples in [-1, 1] -> s16le bytes (the inverse of the s16 decoder: x * 32768)."""
    scaled = np.rint(np.clip(samples, -1.0, 1.0) * 32768.0)
    return bytes(np.clip(scaled, -32768, 32767).astype("<i2").tobytes())


class AudioConverter:
    """Streaming converter for one audio stream: any supported input -> `Pcm16` chunks.

    Keeps a streaming soxr resampler, so chunk boundaries of the input leave no clicks, and
    cuts the output into chunks of exactly `chunk_ms` (the last one, from `flush`, may be
    shorter). Not thread-safe: one converter per stream.
    """

    def __init__(
        self,
        *,
        input_rate: int,
        input_channels: int,
        output_rate: int,
        input_format: SampleFormat = "s16",
        chunk_ms: int = DEFAULT_CHUNK_MS,
    ) -> None:
        self.input_rate = check_rate(input_rate)
        self.input_channels = _check_channels(input_channels)
        self.input_format = _check_format(input_format)
        self.output_rate = check_rate(output_rate)
        if not 10 <= chunk_ms <= 1000:
            raise AudioFormatError(f"chunk_ms must be 10-1000, got {chunk_ms}")
        self.chunk_samples = self.output_rate * chunk_ms // 1000
        self._resampler: soxr.ResampleStream | None = (
            None
            if input_rate == output_rate
            else soxr.ResampleStream(input_rate, output_rate, 1, dtype="float32", quality="HQ")
        )
        self._pending: list[FloatArray] = []
        self._pending_samples = 0
        self._flushed = False

    def convert(self, data: bytes | npt.NDArray[np.generic]) -> list[Pcm16]:
        """Accept one block of input; return the complete chunks it finished."""
        if self._flushed:
            raise AudioFormatError("converter already flushed; make a new one per stream")
        mono = to_mono_float(data, channels=self.input_channels, sample_format=self.input_format)
        if mono.size == 0:
            return []
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=False)
        return self._emit(mono, final=False)

    def flush(self) -> list[Pcm16]:
        """End of stream: drain the resampler and return what is left (maybe a short chunk)."""
        if self._flushed:
            return []
        self._flushed = True
        tail = np.zeros(0, dtype=np.float32)
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(tail, last=True)
        return self._emit(tail, final=True)

    def _emit(self, samples: FloatArray, *, final: bool) -> list[Pcm16]:
        if samples.size:
            self._pending.append(samples)
            self._pending_samples += samples.size
        if self._pending_samples < self.chunk_samples and not final:
            return []
        buffer = np.concatenate(self._pending) if self._pending else samples
        whole = (buffer.size // self.chunk_samples) * self.chunk_samples
        chunks = [
            Pcm16(float_to_s16(buffer[i : i + self.chunk_samples]), self.output_rate)
            for i in range(0, whole, self.chunk_samples)
        ]
        rest = buffer[whole:]
        if final and rest.size:
            chunks.append(Pcm16(float_to_s16(rest), self.output_rate))
            rest = rest[:0]
        self._pending = [rest] if rest.size else []
        self._pending_samples = int(rest.size)
        return chunks


def convert_samples(
    blocks: Sequence[bytes | npt.NDArray[np.generic]],
    *,
    input_rate: int,
    input_channels: int,
    output_rate: int,
    input_format: SampleFormat = "s16",
    chunk_ms: int = DEFAULT_CHUNK_MS,
) -> list[Pcm16]:
    """Convert a whole recording given as blocks; returns every chunk including the last."""
    converter = AudioConverter(
        input_rate=input_rate,
        input_channels=input_channels,
        output_rate=output_rate,
        input_format=input_format,
        chunk_ms=chunk_ms,
    )
    chunks: list[Pcm16] = []
    for block in blocks:
        chunks.extend(converter.convert(block))
    chunks.extend(converter.flush())
    return chunks


# WAVE format tags: integer PCM, IEEE float, and the extensible header that wraps either.
_WAVE_PCM = 0x0001
_WAVE_FLOAT = 0x0003
_WAVE_EXTENSIBLE = 0xFFFE
_INT_FORMATS: dict[int, SampleFormat] = {8: "u8", 16: "s16", 24: "s24", 32: "s32"}
_FLOAT_FORMATS: dict[int, SampleFormat] = {32: "f32", 64: "f64"}


@dataclass(frozen=True, slots=True)
class WavAudio:
    """The sample data of a WAV file, as stored (interleaved little-endian frames)."""

    data: bytes
    sample_rate: int
    channels: int
    sample_format: SampleFormat

    @property
    def frame_count(self) -> int:
        return len(self.data) // (_BYTES_PER_SAMPLE[self.sample_format] * self.channels)

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.sample_rate

    def blocks(self, block_ms: int = DEFAULT_CHUNK_MS) -> Iterator[bytes]:
        """The data in blocks of whole frames, as a live source would deliver it."""
        frame_bytes = _BYTES_PER_SAMPLE[self.sample_format] * self.channels
        step = max(1, self.sample_rate * block_ms // 1000) * frame_bytes
        for start in range(0, len(self.data), step):
            yield self.data[start : start + step]

    def converter(self, output_rate: int, chunk_ms: int = DEFAULT_CHUNK_MS) -> AudioConverter:
        """A converter from this file's format to `output_rate` mono s16."""
        return AudioConverter(
            input_rate=self.sample_rate,
            input_channels=self.channels,
            input_format=self.sample_format,
            output_rate=output_rate,
            chunk_ms=chunk_ms,
        )


def read_wav(path: str | Path) -> WavAudio:
    """Read a RIFF/WAVE file: integer PCM 8/16/24/32-bit or float 32/64-bit, any channels.

    Raises `AudioFormatError` for anything that is not such a file (the stdlib `wave`
    module rejects float and extensible WAVs, which browsers and sox write).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise AudioFormatError(f"cannot read {path}: {error.strerror}") from None
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioFormatError(f"{path} is not a RIFF/WAVE file")
    fmt_chunk: bytes | None = None
    data_chunk: bytes | None = None
    offset = 12
    while offset + 8 <= len(raw):
        chunk_id = raw[offset : offset + 4]
        (size,) = struct.unpack_from("<I", raw, offset + 4)
        body = raw[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            fmt_chunk = body
        elif chunk_id == b"data":
            data_chunk = body  # a truncated file keeps what it has
            break
        offset += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt_chunk is None or len(fmt_chunk) < 16 or data_chunk is None:
        raise AudioFormatError(f"{path} has no usable fmt/data chunks")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt_chunk)
    if tag == _WAVE_EXTENSIBLE and len(fmt_chunk) >= 26:
        (tag,) = struct.unpack_from("<H", fmt_chunk, 24)  # first bytes of the subformat GUID
    if tag == _WAVE_PCM and bits in _INT_FORMATS:
        sample_format = _INT_FORMATS[bits]
    elif tag == _WAVE_FLOAT and bits in _FLOAT_FORMATS:
        sample_format = _FLOAT_FORMATS[bits]
    else:
        raise AudioFormatError(f"{path}: unsupported WAV encoding (tag {tag:#x}, {bits} bits)")
    check_rate(rate)
    _check_channels(channels)
    frame_bytes = _BYTES_PER_SAMPLE[sample_format] * channels
    usable = len(data_chunk) - len(data_chunk) % frame_bytes
    return WavAudio(data_chunk[:usable], rate, channels, sample_format)


def write_wav(path: str | Path, pcm: bytes, sample_rate: int, channels: int = 1) -> None:
    """Write s16le PCM as a plain 16-bit WAV file."""
    check_rate(sample_rate)
    _check_channels(channels)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
