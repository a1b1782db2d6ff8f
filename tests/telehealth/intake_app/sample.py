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
    """A response minus what differs between two stored responses: id, times, version."""
    return {k: v for k, v in response.items() if k not in ("id", "authored", "meta")}


# What the patient says to each question (the same answers FORM_ANSWERS types), and the
# words the assistant's read-back must contain for the patient to confirm it. Phrasings
# are ones Whisper tiny.en hears right from espeak-ng's voice.
SPOKEN: dict[str, tuple[str, list[str]]] = {
    "reason": ("My throat is sore.", []),
    "onset": ("For three days.", ["3 days"]),
    "severity": ("I would say seven.", ["7 out of 10"]),
    "symptoms": ("I have a fever and a cough.", ["fever", "cough"]),
    "age": ("I am thirty four years old.", ["34"]),
    "sex-at-birth": ("Female.", ["female"]),
    "pregnant": ("No.", []),
    "conditions": ("I've got asthma.", ["asthma"]),
    "medications": ("I take ibuprofen and metformin.", ["ibuprofen", "metformin"]),
    "allergies": ("I don't know.", []),
}
