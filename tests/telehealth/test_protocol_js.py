"""web/static/js/protocol.js and assistant-protocol.js say what the server says: close codes
and message types of the signaling websocket and of the assistant data channel."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

from signaling.messages import ClientMessage
from signaling.server_messages import PROTOCOL_VERSION, ServerMessage
from telehealth.assistant import channel_messages
from telehealth.realtime.socket import Close
from voice import peer_messages

SCRIPTS = Path(__file__).resolve().parents[2] / "web" / "static" / "js"
MODULE = SCRIPTS / "protocol.js"


def browser_protocol(module: Path = MODULE) -> dict[str, Any]:
    """The module's exports, as node sees them (sets as sorted lists)."""
    node = shutil.which("node")
    assert node, "node is needed to read the browser modules (scripts/setup --test)"
    script = (
        f"const m = await import({json.dumps(module.as_uri())});"
        "const plain = (v) => v instanceof Set ? [...v].sort() : v;"
        "console.log(JSON.stringify(Object.fromEntries("
        "Object.entries(m).map(([k, v]) => [k, plain(v)]))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    exported: dict[str, Any] = json.loads(result.stdout)
    return exported


def message_types(union: Any) -> list[str]:
    models = get_args(get_args(union)[0])
    return [model.model_fields["type"].default for model in models]


def test_close_codes_match_the_server() -> None:
    js = browser_protocol()
    assert js["CLOSE"] == {code.name: code.value for code in Close}
    assert {int(code) for code in js["CLOSE_MESSAGES"]} == {code.value for code in Close}
    assert set(js["FINAL_CODES"]) <= {code.value for code in Close}


def test_message_types_and_version_match_the_server() -> None:
    js = browser_protocol()
    assert js["PROTOCOL_VERSION"] == PROTOCOL_VERSION
    assert js["CLIENT_MESSAGES"] == message_types(ClientMessage)
    assert js["SERVER_MESSAGES"] == message_types(ServerMessage)
    assert set(js["FINAL_MESSAGES"]) <= set(js["SERVER_MESSAGES"])


def test_assistant_channel_message_types_match_the_models() -> None:
    js = browser_protocol(SCRIPTS / "assistant-protocol.js")
    page_messages = {**peer_messages.PEER_CLIENT_MESSAGES, **channel_messages.NAVIGATOR_MESSAGES}
    assert set(js["PAGE_MESSAGES"]) == set(page_messages)
    assert len(js["PAGE_MESSAGES"]) == len(page_messages)
    assert js["EVENT_MESSAGES"] == list(peer_messages.EVENT_TYPES)
    server = [peer_messages.ChannelError, *channel_messages.SERVER_MESSAGES]
    assert js["SERVER_MESSAGES"] == [model.model_fields["type"].default for model in server]
    assert js["MAX_PAGE_MESSAGE_CHARS"] == peer_messages.MAX_CLIENT_MESSAGE_CHARS
