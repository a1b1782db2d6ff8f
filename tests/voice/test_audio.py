"""Audio conversion: formats, rates, channels, chunking, bad input, WAV reading."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice.audio import (
    AudioConverter,
    Pcm16,
    convert_samples,
    read_wav,
    require_pcm,
    to_mono_float,
    write_wav,
)
from voice.errors import AudioFormatError

RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000]


def tone(rate: int, seconds: float, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_webrtc_frames_become_16k_mono_chunks() -> None:
    # aiortc's Opus decoder: 48 kHz, s16, packed stereo, 960-sample frames, shape (1, 1920).
    left = (tone(48000, 1.0) * 32767).astype(np.int16)
    right = np.zeros_like(left)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    converter = AudioConverter(input_rate=48000, input_channels=2, output_rate=16000)
    chunks: list[Pcm16] = []
    for start in range(0, packed.shape[1], 1920):
        chunks += converter.convert(packed[:, start : start + 1920])
    chunks += converter.flush()
    assert all(c.sample_rate == 16000 for c in chunks)
    assert [len(c) for c in chunks[:-1]] == [2560 * 2] * (len(chunks) - 1)  # 160 ms
    out = np.concatenate([c.samples() for c in chunks]).astype(np.float64) / 32768
    assert out.size == 16000
    # Mono is the mean of both channels: half the left channel's amplitude, same pitch.
    middle = out[2000:-2000]
    assert np.max(np.abs(middle)) == pytest.approx(0.25, abs=0.01)
    spectrum = np.abs(np.fft.rfft(middle))
    assert np.argmax(spectrum) * 16000 / middle.size == pytest.approx(440, abs=3)


def test_planar_and_interleaved_arrays_agree() -> None:
    left = (tone(48000, 0.2) * 20000).astype(np.int16)
    right = (tone(48000, 0.2, freq=300) * 20000).astype(np.int16)
    planar = np.stack([left, right])  # (2, n)
    interleaved = np.stack([left, right], axis=1).reshape(-1)
    a = to_mono_float(planar, channels=2)
    b = to_mono_float(interleaved, channels=2)
    c = to_mono_float(interleaved.tobytes(), channels=2, sample_format="s16")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b, c)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    input_rate=st.sampled_from(RATES),
    output_rate=st.sampled_from([8000, 16000, 48000]),
    channels=st.integers(1, 2),
    fmt=st.sampled_from(["u8", "s16", "s24", "s32", "f32", "f64"]),
    seconds=st.floats(0.05, 0.6),
    block_ms=st.integers(5, 130),
    chunk_ms=st.integers(100, 200),
)
def test_any_supported_input_converts_to_whole_chunks(
    input_rate: int,
    output_rate: int,
    channels: int,
    fmt: str,
    seconds: float,
    block_ms: int,
    chunk_ms: int,
) -> None:
    mono = tone(input_rate, seconds, amplitude=0.4)
    interleaved = np.repeat(mono, channels)
    raw = encode(interleaved, fmt)
    frame_bytes = len(raw) // mono.size
    block = max(1, input_rate * block_ms // 1000) * frame_bytes
    blocks = [raw[i : i + block] for i in range(0, len(raw), block)]
    chunks = convert_samples(
        blocks,
        input_rate=input_rate,
        input_channels=channels,
        input_format=fmt,  # type: ignore[arg-type]
        output_rate=output_rate,
        chunk_ms=chunk_ms,
    )
    chunk_samples = output_rate * chunk_ms // 1000
    assert all(c.sample_rate == output_rate for c in chunks)
    assert all(len(c) == chunk_samples * 2 for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= chunk_samples * 2
    total = sum(len(c) for c in chunks) // 2
    assert abs(total - mono.size * output_rate / input_rate) <= 2
    out = np.concatenate([c.samples() for c in chunks]).astype(np.float64) / 32768
    # Ringing at the abrupt ends of the tone stays small; a click would reach full scale.
    assert np.max(np.abs(out)) <= 0.52


def encode(samples: np.ndarray, fmt: str) -> bytes:
    if fmt == "u8":
        return np.clip(np.rint(samples * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    if fmt == "s16":
        return np.rint(samples * 32767).astype("<i2").tobytes()
    if fmt == "s24":
        ints = np.rint(samples * 8388607).astype("<i4")
        return b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    if fmt == "s32":
        return np.rint(samples.astype(np.float64) * 2147483647).astype("<i4").tobytes()
    if fmt == "f32":
        return samples.astype("<f4").tobytes()
    return samples.astype("<f8").tobytes()


@settings(max_examples=30)
@given(
    samples=st.lists(st.integers(-32768, 32767), min_size=1, max_size=4000),
    cuts=st.lists(st.integers(1, 700), min_size=1, max_size=8),
)
def test_same_rate_s16_mono_passes_through_unchanged(samples: list[int], cuts: list[int]) -> None:
    raw = np.array(samples, dtype="<i2").tobytes()
    blocks, position, index = [], 0, 0
    while position < len(samples):
        size = cuts[index % len(cuts)]
        blocks.append(raw[position * 2 : (position + size) * 2])
        position += size
        index += 1
    chunks = convert_samples(blocks, input_rate=16000, input_channels=1, output_rate=16000)
    assert b"".join(chunks) == raw


@settings(max_examples=25)
@given(cut=st.integers(1, 4799))
def test_resampling_does_not_depend_on_where_blocks_are_cut(cut: int) -> None:
    raw = (tone(48000, 0.1) * 30000).astype("<i2").tobytes()
    whole = convert_samples([raw], input_rate=48000, input_channels=1, output_rate=16000)
    split = convert_samples(
        [raw[: cut * 2], raw[cut * 2 :]], input_rate=48000, input_channels=1, output_rate=16000
    )
    a = np.concatenate([c.samples() for c in whole]).astype(int)
    b = np.concatenate([c.samples() for c in split]).astype(int)
    assert a.size == b.size
    assert np.max(np.abs(a - b)) <= 1


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (b"\x00\x01\x02", {"channels": 1, "sample_format": "s16"}, "whole number"),
        (b"\x00\x01", {"channels": 2, "sample_format": "s16"}, "whole number"),
        (np.array([0.0, np.nan], dtype=np.float32), {"channels": 1}, "NaN or infinite"),
        (np.array([np.inf], dtype=np.float64), {"channels": 1}, "NaN or infinite"),
        (struct.pack("<2f", 0.0, float("nan")), {"channels": 1, "sample_format": "f32"}, "NaN"),
        (b"\x00\x00", {"channels": 0}, "channel count"),
        (b"\x00\x00", {"channels": 9}, "channel count"),
        (b"\x00\x00", {"channels": 1, "sample_format": "s13"}, "unknown sample format"),
        (np.zeros(4, dtype=np.complex64), {"channels": 1}, "dtype"),
        (np.zeros((3, 4), dtype=np.int16), {"channels": 2}, "shape"),
        ("text", {"channels": 1}, "bytes or a numpy array"),
    ],
)
def test_bad_input_is_a_clear_error(data: object, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        to_mono_float(data, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0, -16000, 100, 10_000_000, 16000.0, True])
def test_unusable_rates_are_refused(rate: object) -> None:
    with pytest.raises(AudioFormatError, match="sample rate"):
        AudioConverter(input_rate=rate, input_channels=1, output_rate=16000)  # type: ignore[arg-type]


def test_empty_input_gives_no_chunks_and_huge_floats_are_clipped() -> None:
    converter = AudioConverter(input_rate=16000, input_channels=1, output_rate=16000)
    assert converter.convert(b"") == []
    loud = np.full(3200, 1e30, dtype=np.float64)
    chunks = converter.convert(loud) + converter.flush()
    assert set(np.concatenate([c.samples() for c in chunks]).tolist()) == {32767}


def test_recognizers_only_take_converted_audio_at_their_rate() -> None:
    pcm = Pcm16(b"\x00\x00" * 160, 16000)
    assert require_pcm(pcm, 16000) is pcm
    with pytest.raises(AudioFormatError, match="AudioConverter"):
        require_pcm(b"\x00\x00" * 160, 16000)
    with pytest.raises(AudioFormatError, match="48000 Hz but the recognizer needs 16000"):
        require_pcm(Pcm16(b"\x00\x00", 48000), 16000)
    with pytest.raises(AudioFormatError, match="even byte count"):
        Pcm16(b"\x00", 16000)


@pytest.mark.parametrize(
    ("sox_args", "rate", "channels", "fmt"),
    [
        (["-b", "16", "-e", "signed-integer"], 8000, 1, "s16"),
        (["-b", "24", "-e", "signed-integer"], 44100, 2, "s24"),
        (["-b", "32", "-e", "signed-integer"], 96000, 1, "s32"),
        (["-b", "32", "-e", "floating-point"], 48000, 2, "f32"),
        (["-b", "64", "-e", "floating-point"], 22050, 1, "f64"),
        (["-b", "8", "-e", "unsigned-integer"], 11025, 1, "u8"),
    ],
)
def test_read_wav_reads_what_sox_writes(
    tmp_path: Path, sox_args: list[str], rate: int, channels: int, fmt: str
) -> None:
    path = tmp_path / "tone.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            str(rate),
            "-c",
            str(channels),
            *sox_args,
            str(path),
            "synth",
            "0.5",
            "sine",
            "440",
            "vol",
            "0.5",
        ],
        check=True,
        timeout=30,
    )
    wav = read_wav(path)
    assert (wav.sample_rate, wav.channels, wav.sample_format) == (rate, channels, fmt)
    assert wav.duration_s == pytest.approx(0.5, abs=0.001)
    chunks = [*wav.converter(16000).convert(wav.data), *wav.converter(16000).flush()]
    peak = np.max(
        np.abs(to_mono_float(wav.data, channels=channels, sample_format=wav.sample_format))
    )
    assert peak == pytest.approx(0.5, abs=0.02)
    assert chunks


def test_read_wav_refuses_what_is_not_a_wav(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(AudioFormatError, match="not a RIFF/WAVE"):
        read_wav(text)
    with pytest.raises(AudioFormatError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")
    zero_rate = tmp_path / "zero.wav"
    write_wav(zero_rate, b"\x00\x00" * 10, 16000)
    data = bytearray(zero_rate.read_bytes())
    data[24:28] = struct.pack("<I", 0)  # the fmt chunk's sample rate
    zero_rate.write_bytes(bytes(data))
    with pytest.raises(AudioFormatError, match="sample rate 0"):
        read_wav(zero_rate)


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    pcm = (tone(16000, 0.25) * 30000).astype("<i2").tobytes()
    write_wav(tmp_path / "a.wav", pcm, 16000)
    wav = read_wav(tmp_path / "a.wav")
    assert (wav.data, wav.sample_rate, wav.channels, wav.sample_format) == (pcm, 16000, 1, "s16")
