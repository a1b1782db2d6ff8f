"""Phrase matching: normalization, thresholds, ambiguity, Korean."""

from __future__ import annotations

import pytest

from voice.errors import VoiceError
from voice.phrases import PhraseList, normalize_text

COMMANDS = [
    "mute",
    "unmute",
    "camera off",
    "camera on",
    "what can I say",
    "join the call",
    "repeat",
]


def test_normalize_text_drops_case_punctuation_and_extra_space() -> None:
    assert normalize_text("  What can I   SAY?! ") == "what can i say"
    assert normalize_text("Ｃａｍｅｒａ　off…") == "camera off"


@pytest.mark.parametrize(
    ("heard", "phrase"),
    [
        ("Mute.", "mute"),
        ("Unmute!", "unmute"),
        ("Camera off.", "camera off"),
        ("camera of", "camera off"),
        ("What can I say?", "what can I say"),
        ("Join the call.", "join the call"),
        ("Repeat.", "repeat"),
        ("mutes", "mute"),
    ],
)
def test_close_hypotheses_map_to_their_phrase(heard: str, phrase: str) -> None:
    match = PhraseList(COMMANDS).match(heard)
    assert match is not None
    assert match.phrase == phrase


@pytest.mark.parametrize(
    "heard", ["he was not an ill disposed young man", "you", "", "...", "Camera."]
)
def test_unrelated_or_ambiguous_hypotheses_match_nothing(heard: str) -> None:
    assert PhraseList(COMMANDS).match(heard) is None


def test_threshold_is_respected_and_ranked_is_best_first() -> None:
    strict = PhraseList(COMMANDS, threshold=99)
    assert strict.match("camera of") is None
    ranked = strict.ranked("camera of")
    assert [m.phrase for m in ranked] == ["camera off", "camera on"]
    assert ranked[0].score > ranked[1].score


def test_korean_near_miss_scores_by_letter() -> None:
    phrases = PhraseList(["음소거", "카메라 꺼", "안녕하세요"])
    match = phrases.match("음소거 꺼")
    assert match is not None and match.phrase == "음소거"
    assert phrases.match("아니요 꺼 주세요 주세요") is None


def test_duplicates_collapse_and_words_are_listed_once() -> None:
    phrases = PhraseList(["Mute", "mute!", "camera off", "camera on"])
    assert phrases.phrases == ("Mute", "camera off", "camera on")
    assert phrases.words() == ["mute", "camera", "off", "on"]


@pytest.mark.parametrize(
    ("phrases", "kwargs", "message"),
    [
        ([], {}, "at least one"),
        (["ok", "?!"], {}, "no words"),
        ("mute", {}, "not one string"),
        (["x" * 201], {}, "at most 200"),
        (["ok"], {"threshold": 0}, "threshold"),
        (["w"] * 501, {}, "at most 500"),
    ],
)
def test_bad_phrase_lists_are_refused(
    phrases: object, kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(VoiceError, match=message):
        PhraseList(phrases, **kwargs)  # type: ignore[arg-type]


def test_repeats_collapse_unless_turned_off() -> None:
    assert PhraseList(COMMANDS).match("repeat repeat repeat") is not None
    assert PhraseList(COMMANDS).match("Camera off. Camera off.") is not None
    assert PhraseList(COMMANDS, collapse_repeats=False).match("repeat repeat repeat") is None
