"""Exports use the corrected text; WebVTT and SRT parse back strictly; FHIR validates."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.documentreference import DocumentReference

from telehealth.transcripts import store_chat_message, store_final_segment
from telehealth.transcripts.export import (
    transcript_to_srt,
    transcript_to_text,
    transcript_to_webvtt,
)
from telehealth.transcripts.fhir import document_uuid, transcript_to_document_reference
from telehealth.transcripts.review import correct_segment, get_transcript
from telehealth.transcripts.schemas import TranscriptOut
from tests.telehealth.transcripts.conftest import Clinic


@dataclass(frozen=True)
class Cue:
    identifier: str
    start_s: float
    end_s: float
    text: str


_VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"


def _seconds(groups: tuple[str | None, ...]) -> float:
    hours, minutes, seconds, millis = (int(g or 0) for g in groups)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def parse_webvtt(document: str) -> list[Cue]:
    """A strict reader of the WebVTT subset we write: header, then blank-line separated cues
    of an optional identifier, a timing line and one or more text lines."""
    assert document.startswith("WEBVTT\n"), "missing WEBVTT header"
    assert "\r" not in document and "-->" not in document.split("\n", 1)[0]
    blocks = document.split("\n\n")
    assert blocks[0] == "WEBVTT", f"header block must be exactly WEBVTT, got {blocks[0]!r}"
    cues: list[Cue] = []
    previous_start = 0.0
    for block in blocks[1:]:
        if not block.strip():
            continue
        lines = block.rstrip("\n").split("\n")
        identifier = ""
        if "-->" not in lines[0]:
            identifier = lines.pop(0)
            assert identifier and "-->" not in identifier
        timing = re.fullmatch(rf"{_VTT_TIME} --> {_VTT_TIME}", lines[0])
        assert timing, f"bad timing line {lines[0]!r}"
        start, end = _seconds(timing.groups()[:4]), _seconds(timing.groups()[4:])
        assert end > start, "a cue must end after it starts"
        assert start >= previous_start, "cues must be in start order"
        previous_start = start
        payload = lines[1:]
        assert payload and all(line.strip() for line in payload)
        for line in payload:
            # Only voice spans are used; any other '<' or '&' must be escaped.
            bare = re.sub(r"^<v [^>\n]+>", "", line)
            assert "<" not in bare and ">" not in bare, line
            assert not re.search(r"&(?!amp;|lt;|gt;)", line), line
        cues.append(Cue(identifier, start, end, "\n".join(payload)))
    return cues


def parse_srt(document: str) -> list[Cue]:
    """A strict SRT reader: numbered cues from 1, a timing line, text, a blank line."""
    cues: list[Cue] = []
    for number, block in enumerate(document.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), f"cue {number} is numbered {lines[0]!r}"
        timing = re.fullmatch(rf"{_SRT_TIME} --> {_SRT_TIME}", lines[1])
        assert timing, f"bad timing line {lines[1]!r}"
        start, end = _seconds(timing.groups()[:4]), _seconds(timing.groups()[4:])
        assert end > start
        assert lines[2:] and all(line.strip() for line in lines[2:])
        cues.append(Cue(lines[0], start, end, "\n".join(lines[2:])))
    return cues


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def _transcript(clinic: Clinic) -> TranscriptOut:
    db = clinic.database
    spoken = [
        ("clinician", "Dr Ada", 0.25, 2.5, "Good morning, what brings you in?"),
        ("patient", "Jo <3 & co", 3.0, 3661.5, "a cough & a <sore> throat for three days"),
        ("patient", "", 3662.0, 3662.0, "it started  on\nmonday"),
    ]
    ids = []
    for role, name, start, end, words in spoken:
        stored = await store_final_segment(
            db,
            clinic.consented,
            speaker_role=role,
            speaker_name=name,
            speaker_peer_id=role,
            start_s=start,
            end_s=end,
            text=words,
            words=[],
            confidence=0.8,
            engine="whisper",
            model="whisper-tiny.en",
            language="en",
        )
        assert stored is not None
        ids.append(stored.id)
    await store_chat_message(
        db,
        clinic.consented,
        sender_role="patient",
        sender_name="Jo",
        text="sorry, my camera is off",
        sent_at=datetime(2026, 12, 1, 9, 31, 2, tzinfo=UTC),
    )
    async with db.session() as session:
        await correct_segment(
            session,
            clinic.consented,
            ids[0],
            clinic.ada,
            "Good morning, what brings you in today?",
        )
        return await get_transcript(session, clinic.consented, clinic.ada)


@pytest.mark.asyncio
async def test_webvtt_and_srt_parse_back_with_the_corrected_text(clinic: Clinic) -> None:
    transcript = await _transcript(clinic)
    ids = [segment.id for segment in transcript.segments]

    vtt = parse_webvtt(transcript_to_webvtt(transcript))
    assert [(c.identifier, c.start_s, c.end_s) for c in vtt] == [
        (f"segment-{ids[0]}", 0.25, 2.5),
        (f"segment-{ids[1]}", 3.0, 3661.5),
        (f"segment-{ids[2]}", 3662.0, 3662.001),
    ]
    assert [_unescape(c.text) for c in vtt] == [
        "<v Dr Ada>Good morning, what brings you in today?",
        "<v Jo <3 & co>a cough & a <sore> throat for three days",
        "<v Patient>it started on monday",
    ]
    assert "<v Jo &lt;3 &amp; co>" in vtt[1].text

    srt = parse_srt(transcript_to_srt(transcript))
    assert [(c.start_s, c.end_s, _unescape(c.text)) for c in srt] == [
        (0.25, 2.5, "Dr Ada: Good morning, what brings you in today?"),
        (3.0, 3661.5, "Jo <3 & co: a cough & a <sore> throat for three days"),
        (3662.0, 3662.001, "Patient: it started on monday"),
    ]
    # Escaped as in WebVTT: SRT players read tags too.
    assert srt[1].text == "Jo &lt;3 &amp; co: a cough &amp; a &lt;sore&gt; throat for three days"


@pytest.mark.asyncio
async def test_srt_passes_no_markup_through(clinic: Clinic) -> None:
    spoken = '<font color="#ff0000">stop the medication</font> <b>now</b>'
    stored = await store_final_segment(
        clinic.database,
        clinic.consented,
        speaker_role="patient",
        speaker_name='<i>Dr</i> <font size="9">Jo</font>',
        speaker_peer_id="patient",
        start_s=1.0,
        end_s=2.0,
        text=spoken,
        words=[],
        confidence=0.8,
        engine="whisper",
        model="whisper-tiny.en",
        language="en",
    )
    assert stored is not None
    async with clinic.database.session() as session:
        transcript = await get_transcript(session, clinic.consented, clinic.ada)
    (cue,) = parse_srt(transcript_to_srt(transcript))
    assert "<" not in cue.text and ">" not in cue.text
    assert cue.text == (
        '&lt;i&gt;Dr&lt;/i&gt; &lt;font size="9"&gt;Jo&lt;/font&gt;: '
        '&lt;font color="#ff0000"&gt;stop the medication&lt;/font&gt; '
        "&lt;b&gt;now&lt;/b&gt;"
    )
    assert _unescape(cue.text) == f'<i>Dr</i> <font size="9">Jo</font>: {spoken}'


@pytest.mark.asyncio
async def test_plain_text_has_speakers_times_and_chat(clinic: Clinic) -> None:
    text = transcript_to_text(await _transcript(clinic), clinician_name="Dr Ada")
    lines = text.splitlines()
    assert lines[0] == "Visit transcript"
    assert f"Visit: {clinic.consented}" in lines
    assert "Scheduled: 2026-12-01 09:30 UTC" in lines and "Patient: J. D." in lines
    assert "[00:00:00] Dr Ada: Good morning, what brings you in today?" in lines
    assert "[01:01:02] Patient: it started on monday" in lines
    assert lines[-2:] == ["Chat", "[09:31:02 UTC] Jo: sorry, my camera is off"]
    assert "what brings you in?" not in text  # the recognized text was corrected


@pytest.mark.asyncio
async def test_fhir_document_reference_validates_and_round_trips(clinic: Clinic) -> None:
    transcript = await _transcript(clinic)
    document = transcript_to_document_reference(
        transcript,
        clinician_name="Dr Ada",
        identifier_system="https://clinic.example/identifiers/visit",
    )
    parsed = DocumentReference.model_validate(document)
    assert parsed.model_dump(mode="json", exclude_none=True) == document
    assert DocumentReference.model_validate_json(parsed.model_dump_json()) == parsed

    assert document["status"] == "current" and document["docStatus"] == "preliminary"
    assert document["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}
    ]
    assert document["masterIdentifier"]["value"] == document_uuid(clinic.consented)
    assert document["author"] == [{"type": "Practitioner", "display": "Dr Ada"}]
    assert document["context"]["encounter"][0]["identifier"] == {
        "system": "https://clinic.example/identifiers/visit",
        "value": clinic.consented,
    }
    # The date is when the content last changed: here, the correction, made after every
    # segment was recognized (all at the wall clock, so the test holds on any day).
    corrected = transcript.segments[0]
    assert corrected.edited_at is not None
    assert all(corrected.edited_at >= segment.created_at for segment in transcript.segments)
    assert datetime.fromisoformat(document["date"]) == corrected.edited_at

    plain, vtt = (item["attachment"] for item in document["content"])
    plain_bytes = base64.b64decode(plain["data"])
    assert plain["contentType"] == "text/plain; charset=utf-8" and plain["language"] == "en"
    assert plain["size"] == len(plain_bytes)
    assert base64.b64decode(plain["hash"]) == hashlib.sha1(plain_bytes).digest()
    assert plain_bytes.decode() == transcript_to_text(transcript, clinician_name="Dr Ada")
    assert vtt["contentType"] == "text/vtt"
    cues = parse_webvtt(base64.b64decode(vtt["data"]).decode())
    assert cues[0].text == "<v Dr Ada>Good morning, what brings you in today?"
