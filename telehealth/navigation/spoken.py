"""What the assistant says about the commands: page help, "where am I", and hints."""

from __future__ import annotations

from telehealth.navigation.actions import PAGE_PLACES, actions_for, check_page, get_action

NOT_UNDERSTOOD_HINT = "Sorry, I didn't catch that. Say 'what can I say' to hear the commands."


def not_understood_hint(in_call: bool, wake_phrase: str) -> str:
    """The short hint for a command that was not understood (never silence)."""
    if not in_call:
        return NOT_UNDERSTOOD_HINT
    return f"Sorry, I didn't catch that. Say '{wake_phrase}, what can I say' to hear the commands."


def _spoken_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f", or {items[-1]}"


def help_text(page: str, *, in_call: bool | None = None, wake_phrase: str = "assistant") -> str:
    """ "You can say: ..." for `page`, from the registry (one phrase per action)."""
    checked = check_page(page)
    in_call = checked == "call" if in_call is None else in_call
    # Hearing "start listening" is only useful once listening has stopped: left out here.
    phrases = [
        action.primary_phrase for action in actions_for(checked) if action.id != "start_listening"
    ]
    lead = f"You are {PAGE_PLACES[checked]}. "
    if in_call:
        example = get_action("mute").primary_phrase if "mute" in _ids(checked) else "help"
        lead += f"Start each command with '{wake_phrase}', for example '{wake_phrase}, {example}'. "
    return f"{lead}You can say: {_spoken_list(phrases)}."


def stopped_listening_text(in_call: bool, wake_phrase: str) -> str:
    """Said when voice commands are paused: how to resume."""
    resume = get_action("start_listening").primary_phrase
    said = f"{wake_phrase}, {resume}" if in_call else resume
    return f"I've stopped listening for commands. Say '{said}' when you need me."


def where_am_i_text(page: str) -> str:
    """The answer to "where am I"."""
    return f"You are {PAGE_PLACES[check_page(page)]}."


def _ids(page: str) -> set[str]:
    return {action.id for action in actions_for(page)}
