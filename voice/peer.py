"""The assistant peer: one server-side WebRTC connection per participant using speech.

The participant's browser offers a connection with its microphone and an "assistant" data
channel; `AssistantPeer.accept_offer` answers (after ICE gathering, no trickle). Then:
- the microphone audio is recognized (`voice.peer_pump`) and every event goes to the app
  (`on_event`) and, as JSON, to the browser on the data channel when the page subscribed
  to it (`voice.peer_events`, `voice.peer_subscription`);
- `say()` speaks on an outgoing audio track (`voice.peer_speech`);
- the page's messages are parsed strictly (`voice.peer_messages`): `subscribe` is the
  peer's own, the app's `client_messages` reach it as `ClientMessage`s, and anything else
  gets an `error` reply on the channel.
Everything is closed when the connection fails or closes, or on `close()`.

aiortc's camelCase stays inside this adapter; the API is snake_case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

from voice.audio import DEFAULT_CHUNK_MS
from voice.errors import VoiceError
from voice.peer_channel import EventChannel
from voice.peer_events import (
    AssistantPeerError,
    ClientMessage,
    PeerClosed,
    PeerEvent,
    event_channel_message,
)
from voice.peer_messages import (
    PEER_CLIENT_MESSAGES,
    ChannelMessage,
    EventType,
    MessageRefused,
    Subscribe,
    parse_channel_message,
)
from voice.peer_pump import AudioPump, RecognizerFactory
from voice.peer_speech import SpeechTrack, to_webrtc_audio
from voice.peer_subscription import EventSubscription
from voice.peer_tasks import TASK_PREFIX, cancel_and_wait, spawn
from voice.recognition import SpeechEngine
from voice.tts import SpeechSynthesizer

__all__ = ["AssistantPeer", "EventConsumer"]

logger = logging.getLogger("voice.peer")

EventConsumer = Callable[[PeerEvent], Awaitable[None]]
"""An async callback receiving the peer's events in order."""

_CLOSE_STEP_TIMEOUT_S = 5.0


class AssistantPeer:
    """Speech recognition in and synthesized speech out, over one aiortc connection.

    `recognizer` is a loaded `SpeechEngine` or a factory `(phrases) -> StreamingRecognizer`
    (so the app picks engine and language per participant). `phrases` starts the peer in
    command mode (None: dictation); `set_phrases` switches at runtime. `configuration`
    defaults to no ICE servers at all (aiortc would otherwise ask a public STUN server).
    `on_event` is an async callback (called in order, one at a time, each within
    `consumer_timeout_s`) or an `asyncio.Queue` (put without waiting; a full queue loses the
    event). The data channel is the one the browser creates with label `channel_label`, or,
    with `channel_id`, a negotiated channel both sides create with that id. The page may send
    `subscribe` and the models of `client_messages` (by type); events go to it as in
    `subscribed` until it subscribes itself. A connection not established within
    `connect_timeout_s` of the answer is closed.
    """

    def __init__(
        self,
        recognizer: SpeechEngine | RecognizerFactory,
        *,
        phrases: Sequence[str] | None = None,
        synthesizer: SpeechSynthesizer | None = None,
        configuration: RTCConfiguration | None = None,
        on_event: EventConsumer | asyncio.Queue[PeerEvent] | None = None,
        channel_label: str = "assistant",
        channel_id: int | None = None,
        client_messages: Mapping[str, type[ChannelMessage]] | None = None,
        subscribed: Iterable[EventType] = (),
        max_backlog_s: float = 3.0,
        chunk_ms: int = DEFAULT_CHUNK_MS,
        answer_timeout_s: float = 10.0,
        connect_timeout_s: float = 30.0,
        consumer_timeout_s: float = 5.0,
        max_pending_events: int = 256,
        max_prompts: int = 8,
        name: str = TASK_PREFIX,
    ) -> None:
        factory = recognizer if callable(recognizer) else recognizer.stream
        self.name = name
        self._configuration = configuration or RTCConfiguration(iceServers=[])
        self._synthesizer = synthesizer
        self._consumer = on_event
        self._channel_label = channel_label
        self._channel_id = channel_id
        self._answer_timeout_s = answer_timeout_s
        self._consumer_timeout_s = consumer_timeout_s
        self._pump = AudioPump(
            factory,
            emit=self._emit,
            phrases=phrases,
            on_failure=lambda _error: self._close_soon("recognition failed"),
            max_backlog_s=max_backlog_s,
            chunk_ms=chunk_ms,
            name=name,
        )
        self._speech = SpeechTrack(on_event=self._emit, max_prompts=max_prompts)
        self._pc: RTCPeerConnection | None = None
        self._channel = EventChannel(on_message=self._on_client_message)
        self._accepted = {**(client_messages or {}), **PEER_CLIENT_MESSAGES}
        self.subscription = EventSubscription(subscribed)
        self.client_messages_refused = 0
        self._connected = asyncio.Event()
        self._connect_timeout_s = connect_timeout_s
        self._connect_watch: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[PeerEvent] = asyncio.Queue(maxsize=max_pending_events)
        self._dispatcher: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._started = False
        self._offer_accepted = False
        self.events_dropped = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def connection_state(self) -> str:
        """aiortc's `connectionState` ("new" before an offer, "closed" after `close`)."""
        if self._pc is None:
            return "closed" if self._closing else "new"
        return self._pc.connectionState

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def is_speaking(self) -> bool:
        """True while a prompt is being synthesized, waits, or plays."""
        return self._speech.is_speaking

    @property
    def phrases(self) -> list[str] | None:
        return self._pump.phrases

    @property
    def messages_dropped(self) -> int:
        """Data-channel messages dropped because the browser stopped reading."""
        return self._channel.dropped

    @property
    def pump(self) -> AudioPump:
        """The incoming audio pump (its counters: received, dropped, backlog)."""
        return self._pump

    @property
    def speech_track(self) -> SpeechTrack:
        return self._speech

    def tasks(self) -> list[asyncio.Task[None]]:
        """The peer's own background tasks (for monitoring and tests)."""
        own = [self._dispatcher, self._connect_watch, self._close_task, *self._pump.tasks()]
        return [task for task in own if task is not None]

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Make the recognizer and start the background tasks (`accept_offer` calls this).
        Raises `VoiceError` when the engine refuses another stream."""
        if self._closing:
            raise AssistantPeerError("the assistant peer is closed")
        if self._started:
            return
        self._pump.start()
        self._dispatcher = spawn(self._dispatch(), f"{self.name}-events")
        self._started = True

    async def accept_offer(self, sdp: str, type: str = "offer") -> RTCSessionDescription:
        """Answer the participant's offer; returns the answer with all ICE candidates.

        Raises `AssistantPeerError` for anything but one offer with audio, or when ICE
        gathering does not finish within `answer_timeout_s`; the engine's `VoiceError` when
        it refuses another stream. The peer is closed after any of these.
        """
        if type != "offer":
            raise AssistantPeerError(f"expected an SDP offer, got {type!r}")
        if self._offer_accepted:
            raise AssistantPeerError("this peer already answered an offer; make a new peer")
        self._offer_accepted = True
        try:
            self.start()
        except VoiceError:
            await self.close("recognizer unavailable")
            raise
        pc = self._pc = RTCPeerConnection(self._configuration)
        pc.on("connectionstatechange", self._on_connection_state)
        pc.on("datachannel", self._on_datachannel)
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                self._wire_media(pc)
                if self._channel_id is not None:
                    self._channel.adopt(
                        pc.createDataChannel(
                            self._channel_label, negotiated=True, id=self._channel_id
                        )
                    )
                # aiortc gathers every candidate inside setLocalDescription: no trickle.
                await pc.setLocalDescription(await pc.createAnswer())
        except TimeoutError:
            await self.close("answer timed out")
            raise AssistantPeerError("ICE gathering did not finish in time") from None
        except AssistantPeerError:
            await self.close("bad offer")
            raise
        except Exception as error:  # aiortc raises ValueError and friends for a bad SDP
            await self.close("bad offer")
            raise AssistantPeerError(
                f"cannot answer this offer ({error.__class__.__name__})"
            ) from None
        self._connect_watch = spawn(self._watch_connect(), f"{self.name}-connect-watch")
        return pc.localDescription

    def _wire_media(self, pc: RTCPeerConnection) -> None:
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise AssistantPeerError("the offer has no audio")
        first = audio[0]
        first.sender.replaceTrack(self._speech)
        first.direction = "sendrecv"  # the answer narrows it to what the offer allows
        self._pump.attach(first.receiver.track)
        for transceiver in pc.getTransceivers():
            if transceiver is not first:
                transceiver.direction = "inactive"  # no video, one microphone: decline

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful end: stop listening, deliver the last utterance's events, then close."""
        if self._closing:
            await self.wait_closed(timeout_s)
            return
        await self._pump.stop(timeout_s)
        await self.close()

    async def close(self, reason: str = "closed") -> None:
        """Stop the tracks, tasks and recognizer, close the connection. Idempotent."""
        if self._closing:
            if asyncio.current_task() is not self._close_task:
                await self.wait_closed(3 * _CLOSE_STEP_TIMEOUT_S)
            return
        self._closing = True
        try:
            self._speech.stop()
            await cancel_and_wait(self._connect_watch)
            await self._pump.close()
            if self._pc is not None:
                try:
                    await asyncio.wait_for(self._pc.close(), _CLOSE_STEP_TIMEOUT_S)
                except TimeoutError:
                    logger.warning(
                        "peer connection did not close within %.0f s", _CLOSE_STEP_TIMEOUT_S
                    )
            self._channel.close()
            self._emit(PeerClosed(reason))
            await self._finish_dispatch()
        finally:
            self._closed.set()

    async def wait_closed(self, timeout_s: float) -> bool:
        """Wait until the peer is closed; False if `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self._closed.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def _close_soon(self, reason: str) -> None:
        if self._closing or self._close_task is not None:
            return
        self._close_task = spawn(self.close(reason), f"{self.name}-close")

    async def _watch_connect(self) -> None:
        # A browser that leaves before ICE connects would keep aiortc "connecting" forever.
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await self._connected.wait()
        except TimeoutError:
            self._close_soon("connection timed out")

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState if self._pc is not None else "closed"
        if state == "connected":
            self._connected.set()
        elif state in ("failed", "closed"):
            self._close_soon(f"connection {state}")

    # -- recognition and speech ------------------------------------------------------------

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Switch to command mode with `phrases`, or to dictation with None (from the next
        audio chunk on; the utterance in progress is dropped). Raises `VoiceError`."""
        self._pump.set_phrases(phrases)

    async def say(
        self,
        text: str,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        volume: float = 1.0,
        interrupt: bool = True,
    ) -> float:
        """Speak `text` on the outgoing track; returns the seconds of speech queued.

        With `interrupt` (the default) the prompt playing is cut at once; otherwise the
        prompt plays after those queued. Returns 0.0 if a later prompt cut this one before
        it could play. Raises `AssistantPeerError` (no synthesizer, closed, queue full) or
        the synthesizer's `SynthesisError`.
        """
        if self._synthesizer is None:
            raise AssistantPeerError("this peer has no speech synthesizer")
        if self._closing:
            raise AssistantPeerError("the assistant peer is closed")
        prompt = self._speech.reserve(text, interrupt=interrupt)
        try:
            speech = await self._synthesizer.synthesize(
                text, voice=voice, rate_wpm=rate_wpm, volume=volume
            )
            samples = await asyncio.to_thread(to_webrtc_audio, speech.pcm, speech.sample_rate)
        except BaseException:
            self._speech.discard(prompt)
            raise
        return self._speech.fill(prompt, samples)

    def send_message(self, message: ChannelMessage) -> None:
        """Send an app message on the data channel; one made before the channel opens is kept
        (bounded) and sent when it opens."""
        self._channel.send(message.to_json())

    def stop_speaking(self) -> None:
        """Cut the prompt playing and drop the queued ones (e.g. the user started talking)."""
        self._speech.stop_speaking()

    # -- events ----------------------------------------------------------------------------

    def _emit(self, event: PeerEvent) -> None:
        """Send `event` to the browser and the app without ever blocking the caller."""
        # Most pages subscribe to nothing: then no message is even built.
        message = event_channel_message(event) if self.subscription.events else None
        if message is not None and self.subscription.wants(message.type):
            self._channel.send(message.to_json())
        consumer = self._consumer
        if consumer is None:
            return
        queue = consumer if isinstance(consumer, asyncio.Queue) else self._outbox
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self.events_dropped += 1
            if self.events_dropped == 1:
                logger.warning("assistant peer events are dropped: the consumer is too slow")

    async def _dispatch(self) -> None:
        consumer = self._consumer
        if consumer is None or isinstance(consumer, asyncio.Queue):
            return
        while True:
            event = await self._outbox.get()
            try:
                await asyncio.wait_for(consumer(event), self._consumer_timeout_s)
            except Exception as error:  # one bad event must not stop the others
                logger.error(
                    "assistant peer event consumer failed: %s",
                    type(error).__name__,
                    exc_info=error,
                )
            if isinstance(event, PeerClosed):
                return

    async def _finish_dispatch(self) -> None:
        """Let the consumer see the last events (ending with PeerClosed), bounded in time."""
        task = self._dispatcher
        if task is None or task.done() or asyncio.current_task() is task:
            return  # closing from inside the consumer: the dispatcher ends by itself
        await asyncio.wait({task}, timeout=_CLOSE_STEP_TIMEOUT_S)
        await cancel_and_wait(task)

    def _on_client_message(self, data: object) -> None:
        try:
            message = parse_channel_message(data, self._accepted)
        except MessageRefused as refused:
            self._refuse(refused)
            return
        if self._closing:
            return
        if isinstance(message, Subscribe):
            self.subscription.replace(message.events)
        else:
            self._emit(ClientMessage(message))

    def _refuse(self, refused: MessageRefused) -> None:
        """Tell the page what was wrong; log the kind of refusal, never the content."""
        self.client_messages_refused += 1
        if self.client_messages_refused == 1 or self.client_messages_refused % 100 == 0:
            logger.warning(
                "a data-channel message from the page was refused",
                extra={
                    "code": refused.error.code,
                    "message_type": refused.known_type,
                    "refused": self.client_messages_refused,
                },
            )
        if not self._closing:
            self._channel.send(refused.error.to_json())

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label == self._channel_label and self._channel_id is None:
            self._channel.adopt(channel)
