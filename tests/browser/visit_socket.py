"""A participant of a visit played from Python over the real websocket, for page tests
whose other side is not under test: it waits, gets admitted or admits, and records every
message it receives. The socket is read on a thread of its own (Playwright's sync API owns
the test's thread), which also sends the heartbeat the server asks for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.browser.conftest import Server

Message = dict[str, Any]

HEARTBEAT_S = 10.0  # the server closes a socket silent for 60 s
WAIT_S = 15.0


class VisitSocket:
    """One participant's websocket to a visit (`with VisitSocket(...) as socket:`)."""

    def __init__(self, base_url: str, visit_id: str, cookie: tuple[str, str]) -> None:
        self.base_url = base_url
        self.visit_id = visit_id
        self.cookie = cookie
        self.received: list[Message] = []
        self.welcome: Message = {}
        self._arrived = threading.Condition()
        self._stopping = threading.Event()
        self._closing = ExitStack()
        self._connection: ClientConnection | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> VisitSocket:
        name, value = self.cookie
        opened = connect(
            self.base_url.replace("http://", "ws://") + f"/ws/visits/{self.visit_id}",
            additional_headers={"Cookie": f"{name}={value}"},
            origin=Origin(self.base_url),
            compression=None,
            open_timeout=10,
        )
        self._connection = self._closing.enter_context(opened)
        self._reader = threading.Thread(target=self._read, name="visit-socket", daemon=True)
        self._reader.start()
        try:
            self.send({"type": "hello", "version": 1})
            self.welcome = self.wait_for("welcome")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._closing.close()
        if self._reader is not None:
            self._reader.join(timeout=WAIT_S)

    def send(self, message: Message) -> None:
        assert self._connection is not None
        self._connection.send(json.dumps(message))

    def mark(self) -> int:
        """How many messages arrived so far: pass it as `since` to wait for newer ones."""
        with self._arrived:
            return len(self.received)

    def wait_for(
        self, kind: str, matching: Callable[[Message], bool] = lambda _: True, since: int = 0
    ) -> Message:
        """The first message of type `kind` (from number `since` on) that `matching` accepts."""
        deadline = time.monotonic() + WAIT_S
        with self._arrived:
            while True:
                for message in self.received[since:]:
                    if message["type"] == kind and matching(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [m["type"] for m in self.received]
                    raise AssertionError(f"no {kind!r} message within {WAIT_S} s; got {kinds}")
                self._arrived.wait(timeout=left)

    def _read(self) -> None:
        assert self._connection is not None
        last_ping = time.monotonic()
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_ping >= HEARTBEAT_S:
                    self.send({"type": "ping"})
                    last_ping = time.monotonic()
                frame = self._connection.recv(timeout=1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            with self._arrived:
                self.received.append(json.loads(frame))
                self._arrived.notify_all()


def patient_socket(server: Server, invite_url: str, name: str, *, consent: bool) -> VisitSocket:
    """A patient who opened the invite (and answered the consent question), not yet joined."""
    token = invite_url.split("#invite=")[1]
    with httpx.Client(base_url=server.base_url, timeout=10) as patient:
        opened = patient.post("/api/patient/session", json={"invite": token, "display_name": name})
        opened.raise_for_status()
        patient.put("/api/patient/consent", json={"transcript": consent}).raise_for_status()
        visit_id = str(opened.json()["visit_id"])
        cookie = patient.cookies["th_patient"]
    return VisitSocket(server.base_url, visit_id, ("th_patient", cookie))


def clinician_socket(server: Server, visit_id: str) -> VisitSocket:
    """The clinician of the visit, signed in, not yet joined."""
    with server.clinician_client() as client:
        cookie = client.cookies["th_clinician"]
    return VisitSocket(server.base_url, visit_id, ("th_clinician", cookie))
