"""One patient's answers, said aloud (with confirmations) and typed into the form."""

from __future__ import annotations

from typing import Any

VOICE_REPLIES = [
    "I have a sore throat", "yes",
    "3 days", "yes",
    "seven out of ten", "yes",
    "fever and a cough", "yes",
    "34", "yes",
    "female", "yes",
    "no",
    "asthma", "yes",
    "ibuprofen and metformin", "yes",
    "I don't know",
    "yes",
]  # fmt: skip

FORM_ANSWERS: dict[str, str | list[str]] = {
    "reason": "I have a sore throat",
    "onset": "3 days",
    "severity": "7",
    "symptoms": ["cough", "fever"],
    "age": "34",
    "sex-at-birth": "female",
    "pregnant": "no",
    "conditions": "asthma",
    "medications": ["ibuprofen", "metformin"],
    "allergies": "I don't know",
}


def answers_by_link_id(response: dict[str, Any]) -> dict[str, Any]:
    """Every question entry of a QuestionnaireResponse, by linkId (groups flattened)."""
    found: dict[str, Any] = {}
    for entry in response.get("item", []):
        if "item" in entry:
            found.update(answers_by_link_id(entry))
        else:
            found[entry["linkId"]] = entry
    return found


def without_identity(response: dict[str, Any]) -> dict[str, Any]:
    """A response minus what differs between two stored responses: id and time."""
    return {k: v for k, v in response.items() if k not in ("id", "authored")}
