"""The visit websocket: a thin pump between a browser and the room hub.

Authentication, the Origin check and mapping errors to close codes happen here and only
here; the room logic lives in `signaling`. Close codes are documented in docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from enum import IntEnum
from typing import cast

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from signaling.connection import Connection
from signaling.errors import (
    BackendUnavailable,
    ConnectionClosed,
    HubClosed,
    ProtocolError,
    RateLimited,
    RoomEnded,
    RoomFull,
)
from signaling.messages import (
    MAX_FRAME_BYTES,
    SendChat,
    encode_server_message,
    parse_client_message,
    parse_hello,
    protocol_error_notice,
)
from signaling.peers import PeerInfo
from signaling.server_messages import CloseReason, ServerMessage
from telehealth.middleware.cross_site import is_allowed_origin
from telehealth.realtime.chat import ChatLine
from telehealth.realtime.participants import NotAParticipant, participant_for
from telehealth.services import Services

log = logging.getLogger("telehealth.ws")
router = APIRouter()

# Signaling frames are small (an SDP, the largest, is 5-15 KiB); anything larger closes the
# socket with 1009 (uvicorn's ws_max_size in `telehealth serve` is the same bound).
MAX_MESSAGE_BYTES = MAX_FRAME_BYTES
HELLO_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 60.0
# How often an open connection checks that its session still holds (expired, signed out,
# or the visit closed) when nothing told it to: a fallback for a lost revocation
# announcement (telehealth/realtime/revocations.py), which wakes it at once.
SESSION_CHECK_S = 5.0
# Every this many checks also counts as the clinician's activity (a session write), so a
# call keeps its session open without a write every few seconds.
CHECKS_PER_ACTIVITY = 6


class Close(IntEnum):
    """The websocket close codes; web/static/js/protocol.js mirrors them (checked by a test)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008
    TOO_BIG = 1009
    SERVER_ERROR = 1011
    BAD_MESSAGE = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    TIMEOUT = 4408
    REPLACED = 4409
    VISIT_CLOSED = 4410
    # The patient's link was opened again on another device, which ended this session.
    OPENED_ELSEWHERE = 4411
    SLOW_CONSUMER = 4429


CLOSE_FOR_REASON: dict[CloseReason, int] = {
    "left": Close.NORMAL,
    "call_ended": Close.NORMAL,
    "denied": Close.VISIT_CLOSED,
    "room_ended": Close.VISIT_CLOSED,
    "room_full": Close.POLICY,
    "replaced": Close.REPLACED,
    "expired": Close.TIMEOUT,
    "slow_consumer": Close.SLOW_CONSUMER,
    "send_failed": Close.GOING_AWAY,
    "hub_closed": Close.GOING_AWAY,
    "backend_unavailable": Close.SERVER_ERROR,
}


class Rejected(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


CLOSE_FOR_REFUSAL = {
    "unauthenticated": Close.UNAUTHENTICATED,
    "forbidden": Close.FORBIDDEN,
    "closed": Close.VISIT_CLOSED,
    "opened_elsewhere": Close.OPENED_ELSEWHERE,
}


async def _authenticate(services: Services, websocket: WebSocket, visit_id: str) -> PeerInfo:
    if not is_allowed_origin(websocket.headers.get("origin"), services.settings.allowed_origins):
        raise Rejected(Close.FORBIDDEN, "origin not allowed")
    try:
        peer, _ = await participant_for(
            services.database, websocket.cookies, visit_id, staff_idle_after=_staff_idle(services)
        )
    except NotAParticipant as refusal:
        raise Rejected(CLOSE_FOR_REFUSAL[refusal.kind], str(refusal)) from None
    return peer


async def _receive_text(websocket: WebSocket, timeout_s: float) -> str:
    async with asyncio.timeout(timeout_s):
        message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(int(message.get("code") or Close.NORMAL))
    data = message.get("text")
    if data is None:
        raw = message.get("bytes") or b""
        if len(raw) > MAX_MESSAGE_BYTES:
            raise Rejected(Close.TOO_BIG, "message too big")
        raise ProtocolError("send JSON text frames")
    if len(data) > MAX_MESSAGE_BYTES:  # uvicorn enforces this too (ws_max_size)
        raise Rejected(Close.TOO_BIG, "message too big")
    return cast(str, data)


@router.websocket("/ws/visits/{visit_id}")
async def visit_socket(websocket: WebSocket, visit_id: str) -> None:
    services = cast(Services, websocket.app.state.services)
    await websocket.accept()
    try:
        peer = await _authenticate(services, websocket, visit_id)
        try:
            hello = parse_hello(await _receive_text(websocket, HELLO_TIMEOUT_S))
        except ProtocolError as error:
            raise Rejected(Close.BAD_MESSAGE, str(error)) from None
        except TimeoutError:
            raise Rejected(Close.TIMEOUT, "no hello in time") from None
        session_ended = asyncio.create_task(_session_ended(services, websocket, visit_id))
        try:
            code, reason = await _pump(
                services, websocket, visit_id, peer, hello.resume_token, session_ended
            )
        finally:
            session_ended.cancel()
    except Rejected as rejection:
        code, reason = rejection.code, rejection.reason
    except WebSocketDisconnect:
        return
    services.metrics.ws_closes.labels(str(code)).inc()
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError):  # the client closed at the same moment
            await websocket.close(code=code, reason=reason[:120])


def _staff_idle(services: Services) -> timedelta:
    # Being in a call is activity: the clinician's session stays open while it lasts.
    return timedelta(minutes=services.settings.staff_idle_timeout_minutes)


async def _session_ended(services: Services, websocket: WebSocket, visit_id: str) -> Rejected:
    """Wait until this connection's session no longer admits it to the visit: checked when
    any account's access is revoked, and every SESSION_CHECK_S anyway."""
    checks = 0
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SESSION_CHECK_S):
                await services.revocations.wait()
        checks += 1
        active = checks % CHECKS_PER_ACTIVITY == 0
        try:
            await participant_for(
                services.database,
                websocket.cookies,
                visit_id,
                staff_idle_after=_staff_idle(services) if active else None,
            )
        except NotAParticipant as refusal:
            return Rejected(CLOSE_FOR_REFUSAL[refusal.kind], str(refusal))
        except Exception:  # the database hiccuped: check again next time, keep the call
            log.warning("could not check a session", extra={"visit_id": visit_id}, exc_info=True)


async def _pump(
    services: Services,
    websocket: WebSocket,
    visit_id: str,
    peer: PeerInfo,
    resume_token: str | None,
    session_ended: asyncio.Task[Rejected],
) -> tuple[int, str]:
    async def send(message: ServerMessage) -> None:
        await websocket.send_text(encode_server_message(message))

    try:
        async with services.hub.connect(visit_id, peer, send, resume_token) as connection:
            closed = asyncio.create_task(connection.wait_closed())
            try:
                return await _read_until_closed(
                    services, websocket, connection, closed, session_ended
                )
            finally:
                closed.cancel()
    except (RoomEnded, RoomFull) as error:
        return Close.VISIT_CLOSED, str(error) or "the visit is closed"
    except BackendUnavailable:
        log.error("room backend unavailable", extra={"visit_id": visit_id})
        return Close.SERVER_ERROR, "rooms are unavailable; try again"
    except HubClosed:
        return Close.GOING_AWAY, "server shutting down"


def _in_room(services: Services, connection: Connection) -> bool:
    """Whether the sender is in the call (a waiting patient's chat is refused by the room)."""
    room = services.hub.room(connection.visit_id)
    summary = room.peer(connection.peer.peer_id) if room is not None else None
    return summary is not None and summary.state == "in_room"


async def _read_until_closed(
    services: Services,
    websocket: WebSocket,
    connection: Connection,
    closed: asyncio.Task[CloseReason | None],
    session_ended: asyncio.Task[Rejected],
) -> tuple[int, str]:
    while True:
        receive = asyncio.create_task(_receive_text(websocket, IDLE_TIMEOUT_S))
        done, _ = await asyncio.wait(
            {receive, closed, session_ended}, return_when=asyncio.FIRST_COMPLETED
        )
        if session_ended in done:
            receive.cancel()
            ended = session_ended.result()
            return ended.code, ended.reason
        if closed in done:
            receive.cancel()
            reason = closed.result() or "left"
            # Let the sender flush the final message (bye, call_ended) before closing.
            return CLOSE_FOR_REASON.get(reason, Close.NORMAL), reason
        try:
            raw = receive.result()
        except TimeoutError:
            return Close.TIMEOUT, "idle for too long"
        try:
            message = parse_client_message(raw)
            in_room = _in_room(services, connection)
            await connection.submit(message)
            if isinstance(message, SendChat) and in_room:
                services.chat.record(ChatLine(connection.visit_id, connection.peer, message.text))
        except RateLimited as error:  # a flood, or refused messages again and again
            return Close.POLICY, str(error)
        except ConnectionClosed:
            continue
        except ProtocolError as error:
            # Bad or not allowed yet (NotAdmitted: a waiting patient's chat or offer, refused
            # before the room's log). Through the connection's outbox, so it keeps its
            # place among other messages.
            connection.deliver(protocol_error_notice(error))
