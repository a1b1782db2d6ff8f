"""Who takes part in a visit: the identity the app hands in, and what other peers see."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

PeerId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")
]
"""A peer's id: chosen by the app, stable for one participant of one visit."""

DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200)]

Role = Literal["clinician", "patient", "interpreter", "observer"]
"""Clinicians enter the room directly and run it; everybody else waits to be admitted."""

PeerState = Literal["waiting", "in_room"]

STAFF_ROLES: tuple[Role, ...] = ("clinician",)
"""Roles that enter the room without admission and may admit, deny and end the call."""


class PeerInfo(BaseModel):
    """An authenticated participant, as the app's websocket endpoint hands it in.

    The app decides ``peer_id`` (stable per participant and visit, so a reconnect is
    recognised), ``role`` and the display ``name`` other participants see.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    peer_id: PeerId
    role: Role
    name: DisplayName


class PeerSummary(BaseModel):
    """What other participants are told about a peer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    peer_id: PeerId
    role: Role
    name: DisplayName
    state: PeerState
    online: bool
    audio: bool
    video: bool
