"""Voice command accuracy and false activations with the embedded Whisper engine.

    python benchmarks/commands.py [--quick]

Every phrase of every action in the registry (`telehealth.navigation.actions`) is spoken by
espeak-ng with four voices at three rates and recognized by the real Whisper tiny.en
engine with the phrase list of the page it belongs to (`CommandMatcher.phrases()`): call
actions are said with the wake phrase ("assistant, mute my microphone") on the call page,
the others bare on their first page; "yes"/"no" answer a pending "end the call", and
"start listening" is said while listening is stopped. A command counts as right when the
matcher performs the expected action (end_call: asks to confirm) and nothing else.

Then over a hundred sentences of an ordinary consultation, some using command words ("I
can't mute the TV at night"), are spoken inside the call; any command or spoken hint for
them is a false activation.

Partial decodes are switched off (`first_partial_after_s`): they only produce `Partial`
events, which the command path ignores, and would double the CPU time on a shared machine.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telehealth.navigation.actions import ACTIONS
from telehealth.navigation.commands import CommandMatch, CommandMatcher, CommandResult, NoCommand
from voice.audio import AudioConverter, read_wav
from voice.engines import list_installed_models, select_model
from voice.recognition import Final, NotUnderstood
from voice.whisper_engine import WhisperEngine, WhisperSettings

VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp")
RATES = (130, 175, 240)
WAKE = "assistant"
CHUNK_MS = 160
LEAD_S, TAIL_S = 0.3, 0.8

CONVERSATION = (
    "Hello doctor, thank you for seeing me today.",
    "I've had this cough for about a week now.",
    "It started last Monday after I got back from a trip.",
    "The cough is worse at night and keeps me awake.",
    "I can't mute the TV at night because my husband watches it late.",
    "Sometimes I bring up yellow phlegm in the morning.",
    "I don't think I've had a fever, but I feel warm.",
    "My temperature was thirty eight yesterday evening.",
    "I took some paracetamol and it helped a little.",
    "No, I haven't been short of breath.",
    "Yes, I get a bit wheezy when I climb the stairs.",
    "I have a mild asthma, I use an inhaler now and then.",
    "The blue inhaler, twice a day at the moment.",
    "My camera at home is better than this one.",
    "Sorry, can you hear me all right?",
    "I think the connection is a bit slow today.",
    "My daughter set up the computer for me.",
    "I've also had a sore throat on and off.",
    "It hurts when I swallow, mostly in the morning.",
    "No rash, nothing like that.",
    "I had a headache for two days but it's gone now.",
    "I'm sleeping badly because of the coughing.",
    "I work in a school, so lots of children are ill.",
    "Several of my colleagues had the same thing.",
    "I'm not a smoker, I gave up ten years ago.",
    "I drink maybe a glass of wine at the weekend.",
    "I'm allergic to penicillin, it gives me a rash.",
    "I take a tablet for my blood pressure every morning.",
    "It's called amlodipine, five milligrams I think.",
    "My blood pressure was fine at my last check up.",
    "Should I stay off work for a few days?",
    "Do I need to do a test for anything?",
    "How long will the cough last, do you think?",
    "Is it all right to keep taking the paracetamol?",
    "I'd rather not take antibiotics unless I really need them.",
    "My mother had pneumonia last winter, so I'm a bit worried.",
    "The pain is on the right side of my chest when I cough.",
    "It's a sharp pain, but it only lasts a second.",
    "I can breathe in deeply without any trouble.",
    "I've lost my appetite a little.",
    "I'm drinking plenty of water and tea with honey.",
    "I tried a cough syrup from the pharmacy.",
    "It made me quite sleepy, so I stopped it.",
    "Can you speak up a little, the sound is quite quiet.",
    "Could you say that more slowly please?",
    "I didn't quite catch the name of the medicine.",
    "Let me write that down, one moment please.",
    "I have a pen here, go ahead.",
    "Twice a day for five days, is that right?",
    "With food or on an empty stomach?",
    "What should I do if it gets worse?",
    "If I get a high fever I'll call the surgery.",
    "My video keeps freezing, but I can still hear you.",
    "I turned the volume down on my hearing aid earlier.",
    "I'll ask my son to help me with the settings later.",
    "The captions on the screen are very helpful.",
    "I read the leaflet you sent me last time.",
    "Thank you, that makes sense.",
    "I feel much better knowing it's probably a virus.",
    "I have a follow up appointment next month anyway.",
    "Can I get a sick note for my employer?",
    "I'll pick up the prescription from the chemist tomorrow.",
    "My knee has also been stiff in the mornings.",
    "It's been like that for a few months, it's not new.",
    "I go for a walk every day with the dog.",
    "Walking helps, but stairs are difficult.",
    "I'm sixty two years old.",
    "I had my flu jab in October.",
    "I haven't had the latest booster yet.",
    "I was a bit dizzy when I stood up this morning.",
    "It only lasted a few seconds.",
    "I haven't fainted or fallen over.",
    "I eat fairly well, lots of vegetables.",
    "I've been a bit stressed at work lately.",
    "My sleep has not been great for a while.",
    "I usually go to bed around eleven.",
    "I wake up at three and can't get back to sleep.",
    "I don't want sleeping pills if I can avoid them.",
    "Maybe some advice on sleep would help.",
    "The nurse said I should stop looking at my phone in bed.",
    "I could try reading a book instead.",
    "My husband snores, which doesn't help.",
    "We could ask him to see someone about that.",
    "I'll mention it to him tonight.",
    "Is there anything else you need to know?",
    "I think that's everything for today.",
    "Oh, one more thing about my repeat prescription.",
    "I'm running low on my blood pressure tablets.",
    "Could you send the prescription to the usual pharmacy?",
    "It's the one on the high street.",
    "That would be great, thank you.",
    "I'll book the blood test at the front desk.",
    "Do I need to fast before the blood test?",
    "So nothing to eat after midnight.",
    "Water is fine though, is it?",
    "I'll call back if I have any questions.",
    "The help line number is on the letter, isn't it?",
    "I can't find my glasses, give me a second.",
    "Here they are, on top of my head.",
    "I'm sorry, I'm a bit slow with the computer.",
    "My grandson says I should stop apologising.",
    "It was nice to talk to you.",
    "I'll keep an eye on the cough and let you know.",
    "Have a good day, doctor.",
    "Goodbye, and thanks again.",
    "I can hear you louder now, that's better.",
    "The picture was off for a moment but it's back.",
    "I was on a call with my sister earlier.",
    "Please tell me if I need to go to the hospital.",
    "My neighbour can drive me if I need to go in.",
)


@dataclass(frozen=True)
class Trial:
    """One utterance and what the matcher should make of it."""

    text: str  # what espeak-ng says
    page: str
    expected: str | None  # the action id, or None for conversation
    outcome: str = "perform"
    confirming: bool = False  # "end the call" was asked first
    stopped: bool = False  # listening was stopped first
    voice: str = "en-us"
    rate: int = 175
    said: str = "conversation"  # the action id whose phrase is spoken


def command_trials(voices: tuple[str, ...], rates: tuple[int, ...], quick: bool) -> list[Trial]:
    trials: list[Trial] = []
    for action in ACTIONS:
        phrases = action.phrases[:1] if quick else action.phrases
        for phrase in phrases:
            for voice in voices:
                for rate in rates:
                    trials.append(command_trial(action.id, phrase, voice, rate))
    return trials


def command_trial(action_id: str, phrase: str, voice: str, rate: int) -> Trial:
    action = next(a for a in ACTIONS if a.id == action_id)
    if action.confirmation_answer:
        outcome = "perform" if action_id == "yes" else "cancel"
        trial = Trial(phrase, "call", "end_call", outcome, confirming=True)
    elif action_id == "start_listening":
        trial = Trial(f"{WAKE}, {phrase}", "call", action_id, stopped=True)
    elif "call" in action.pages:
        outcome = "confirm" if action.confirm else "perform"
        trial = Trial(f"{WAKE}, {phrase}", "call", action_id, outcome)
    else:
        trial = Trial(phrase, action.pages[0], action_id)
    return replace(trial, voice=voice, rate=rate, said=action_id)


def conversation_trials(
    voices: tuple[str, ...], rates: tuple[int, ...], quick: bool
) -> list[Trial]:
    sentences = CONVERSATION[:20] if quick else CONVERSATION
    return [
        Trial(text, "call", None, voice=voices[i % len(voices)], rate=rates[i % len(rates)])
        for i, text in enumerate(sentences)
    ]


def matcher_for(trial: Trial) -> CommandMatcher:
    matcher = CommandMatcher(trial.page, wake_phrase=WAKE)
    if trial.confirming:
        asked = matcher.match(f"{WAKE} end the call")
        assert isinstance(asked, CommandMatch) and asked.outcome == "confirm"
    if trial.stopped:
        matcher.set_listening(False)
    return matcher


def synthesize(trial: Trial, path: Path) -> np.ndarray:
    subprocess.run(
        ["espeak-ng", "-v", trial.voice, "-s", str(trial.rate), "-w", str(path), trial.text],
        check=True,
        timeout=30,
    )
    wav = read_wav(path)
    converter = wav.converter(16_000, CHUNK_MS)
    chunks = [*converter.convert(wav.data), *converter.flush()]
    return np.concatenate([chunk.samples() for chunk in chunks])


def judge(trial: Trial, results: list[CommandResult]) -> bool:
    if trial.expected is None:
        return all(isinstance(result, NoCommand) for result in results)
    commands = [r for r in results if isinstance(r, CommandMatch)]
    return len(commands) == 1 and (commands[0].action, commands[0].outcome) == (
        trial.expected,
        trial.outcome,
    )


async def run_trial(
    engine: WhisperEngine, trial: Trial, samples: np.ndarray
) -> tuple[bool, list[str], list[CommandResult]]:
    matcher = matcher_for(trial)
    stream = engine.stream(matcher.phrases())
    lead = np.zeros(int(LEAD_S * 16_000), np.int16)
    tail = np.zeros(int(TAIL_S * 16_000), np.int16)
    converter = AudioConverter(
        input_rate=16_000, input_channels=1, output_rate=16_000, chunk_ms=CHUNK_MS
    )
    audio = np.concatenate([lead, samples, tail]).tobytes()
    events = []
    try:
        for chunk in [*converter.convert(audio), *converter.flush()]:
            events += await stream.feed(chunk)
        events += await stream.flush()
    finally:
        await stream.close()
    utterances = [e for e in events if isinstance(e, Final | NotUnderstood)]
    heard = [e.text if isinstance(e, Final) else f"?{e.heard}" for e in utterances]
    results = [matcher.match_event(e) for e in utterances]
    return judge(trial, results), heard, results


async def run_all(
    engine: WhisperEngine, trials: list[Trial], workdir: Path, parallel: int
) -> list[tuple[Trial, bool, list[str]]]:
    queue: asyncio.Queue[tuple[int, Trial]] = asyncio.Queue(maxsize=len(trials) + 1)
    for item in enumerate(trials):
        queue.put_nowait(item)
    outcomes: list[tuple[Trial, bool, list[str]] | None] = [None] * len(trials)

    async def worker() -> None:
        while not queue.empty():
            index, trial = queue.get_nowait()
            samples = await asyncio.to_thread(synthesize, trial, workdir / f"{index}.wav")
            ok, heard, _ = await run_trial(engine, trial, samples)
            outcomes[index] = (trial, ok, heard)
            if not ok:
                print(f"MISS {trial.voice}@{trial.rate} {trial.text!r} -> {heard}", flush=True)

    await asyncio.gather(*(worker() for _ in range(parallel)))
    return [outcome for outcome in outcomes if outcome is not None]


def by(key: str, outcomes: list[tuple[Trial, bool, list[str]]]) -> dict[str, float]:
    tried: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for trial, ok, _ in outcomes:
        value = str(getattr(trial, key))
        tried[value] += 1
        right[value] += ok
    return {value: round(right[value] / tried[value], 4) for value in tried}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="main phrases, 2 voices, 1 rate")
    parser.add_argument("--parallel", type=int, default=2, help="utterances in flight")
    args = parser.parse_args()
    voices = VOICES[:2] if args.quick else VOICES
    rates = (175,) if args.quick else RATES

    info = select_model("whisper", "en", list_installed_models(models_dir=None))
    started = time.monotonic()
    engine = WhisperEngine(
        info.path,
        model_name=info.model,
        settings=WhisperSettings(first_partial_after_s=3600.0),
    )
    print(f"loaded {info.model} in {time.monotonic() - started:.1f} s", flush=True)
    commands = command_trials(voices, rates, args.quick)
    conversation = conversation_trials(voices, rates, args.quick)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            command_outcomes = await run_all(engine, commands, Path(tmp), args.parallel)
            conversation_outcomes = await run_all(engine, conversation, Path(tmp), args.parallel)
    finally:
        await engine.close()
    elapsed = time.monotonic() - started
    right = sum(ok for _, ok, _ in command_outcomes)
    false_activations = sum(not ok for _, ok, _ in conversation_outcomes)
    print(f"by voice: {by('voice', command_outcomes)}")
    print(f"by rate: {by('rate', command_outcomes)}")
    print(f"by action: {by('said', command_outcomes)}")
    print(
        json.dumps(
            {
                "commands_tried": len(command_outcomes),
                "command_accuracy": round(right / max(1, len(command_outcomes)), 4),
                "conversation_sentences": len(conversation_outcomes),
                "false_activations": false_activations,
                "engine": info.model,
                "voices": list(voices),
                "rates_wpm": list(rates),
                "seconds": round(elapsed, 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
