"""A transcript as WebVTT, SRT or plain text, always with the current (corrected) text."""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from telehealth.transcripts.schemas import SegmentOut, TranscriptOut

# The clock helper is voice's own, so captions and exports print times identically.
from voice.formats import cue_clock, cue_span, finals_to_srt
from voice.recognition import Final

ExportFormat = Literal["vtt", "srt", "txt", "fhir"]
ROLE_NAMES = {"clinician": "Clinician", "patient": "Patient", "assistant": "Assistant"}


def speaker_label(segment: SegmentOut) -> str:
    name = " ".join(segment.speaker_name.split())
    return name or ROLE_NAMES.get(segment.speaker_role, segment.speaker_role.title() or "Speaker")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _escape_markup(text: str) -> str:
    # WebVTT and SRT players both read tags (<v>, <b>, <font color=...>) in cue text: what
    # was said or typed must show as text, never change how a cue looks or who said it.
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def transcript_to_webvtt(transcript: TranscriptOut) -> str:
    """WebVTT with one cue per segment, the speaker as a voice span (`<v Name>text`)."""
    blocks = ["WEBVTT\n"]
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        start, end = cue_span(segment.start_s, segment.end_s)
        blocks.append(
            f"segment-{segment.id}\n"
            f"{cue_clock(start, '.')} --> {cue_clock(end, '.')}\n"
            f"<v {_escape_markup(speaker_label(segment))}>{_escape_markup(segment.text)}\n"
        )
    return "\n".join(blocks)


def transcript_to_srt(transcript: TranscriptOut) -> str:
    """SubRip, numbered from 1; SRT has no speaker field, so each line starts `Name: `.
    Markup is escaped as in WebVTT (players honour `<font>`, `<b>`, `<i>` in SRT too)."""
    finals = [
        Final(
            text=f"{_escape_markup(speaker_label(segment))}: {_escape_markup(segment.text)}",
            start_s=segment.start_s,
            end_s=segment.end_s,
        )
        for segment in transcript.segments
        if segment.text.strip()
    ]
    return finals_to_srt(finals)


def transcript_to_text(transcript: TranscriptOut, *, clinician_name: str) -> str:
    """Readable plain text: a header, `[HH:MM:SS] Name: text` per segment, then the chat."""
    visit = transcript.visit
    lines = [
        "Visit transcript",
        f"Visit: {visit.visit_id}",
        f"Scheduled: {visit.scheduled_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"Clinician: {_one_line(clinician_name)}",
    ]
    if visit.patient_label:
        lines.append(f"Patient: {_one_line(visit.patient_label)}")
    lines.append("Times are from the start of the call.")
    lines.append("")
    for segment in transcript.segments:
        if segment.text.strip():
            clock = cue_clock(segment.start_s, ".")[:8]
            lines.append(f"[{clock}] {speaker_label(segment)}: {_one_line(segment.text)}")
    if not transcript.segments:
        lines.append("(No captions were stored.)")
    if transcript.chat:
        lines += ["", "Chat"]
        for message in transcript.chat:
            sent = message.sent_at.astimezone(UTC).strftime("%H:%M:%S UTC")
            name = _one_line(message.sender_name) or ROLE_NAMES.get(message.sender_role, "")
            lines.append(f"[{sent}] {name}: {_one_line(message.text)}")
    return "\n".join(lines) + "\n"
