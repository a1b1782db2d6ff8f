"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from signaling.hub import RoomHub
from telehealth import __version__
from telehealth.access_log import AccessLogMiddleware
from telehealth.api import api_router
from telehealth.api.validation_errors import install_validation_errors
from telehealth.assistant.sessions import AssistantSessions
from telehealth.assistant.transcript_sink import TranscriptWriter
from telehealth.audit_context import AuditRequestContext
from telehealth.auth.login_throttle import open_login_throttle
from telehealth.auth.password_checks import PasswordChecks
from telehealth.auth.second_factor import SecondFactorKeys
from telehealth.auth.sign_in import SignInGuards
from telehealth.event_payloads import room_event_log
from telehealth.intake_service.runtime import open_intake
from telehealth.intake_service.sessions import IntakeSessions
from telehealth.metrics import ServiceMetrics
from telehealth.middleware.body_limit import BodyLimit
from telehealth.middleware.cross_site import CrossSiteGuard
from telehealth.middleware.headers import SecurityHeaders
from telehealth.middleware.host_cookies import HostPrefixedCookies
from telehealth.realtime import socket
from telehealth.realtime.chat import ChatRecorder
from telehealth.realtime.revocations import Revocations
from telehealth.realtime.transitions import VisitStatusRecorder
from telehealth.retention import RetentionTargets
from telehealth.retention_task import RetentionTask
from telehealth.services import Services
from telehealth.settings import Settings, load_settings
from telehealth.speech import SpeechService
from telehealth.storage import Database, upgrade_database
from telehealth.web import install_web
from telehealth.web.api_docs import admin_docs_router

log = logging.getLogger("telehealth.app")


@asynccontextmanager
async def open_services(
    settings: Settings, metrics: ServiceMetrics | None = None
) -> AsyncIterator[Services]:
    """Open everything the app needs; close all of it, in reverse, whatever happens."""
    async with AsyncExitStack() as stack:
        # A bad questionnaire stops start-up before anything is opened.
        intake = await open_intake(settings)
        database = Database.for_settings(settings)
        stack.push_async_callback(database.close)
        await database.ping()
        await upgrade_database(database)
        metrics = metrics or ServiceMetrics()
        # Before the assistants: it stops after them, so their last finals are stored too.
        transcripts = TranscriptWriter(database)
        transcripts.on_drop = metrics.queue_drop_counter(transcripts.name)
        transcripts.start()
        stack.push_async_callback(transcripts.stop)
        secret_key = settings.resolved_secret_key()
        # A visit's log holds its room events (never captions); bounded in bytes and entries.
        # Entries that go to Redis are sealed with a subkey of the application key.
        events = room_event_log(
            settings.pubsub_url,
            secret_key,
            max_entries=settings.room_log_max_entries,
            max_bytes=settings.room_log_max_bytes,
        )
        await events.connect()
        stack.push_async_callback(events.close)
        speech = SpeechService(settings)
        stack.push_async_callback(speech.close)
        await speech.start()
        assistants = AssistantSessions(settings, speech)
        stack.push_async_callback(assistants.close)
        chat = ChatRecorder(database)
        chat.on_drop = metrics.queue_drop_counter(chat.name)
        chat.start()
        stack.push_async_callback(chat.stop)
        recorder = VisitStatusRecorder(database)
        recorder.on_drop = metrics.queue_drop_counter(recorder.name)
        recorder.start()
        stack.push_async_callback(recorder.stop)
        hub = RoomHub(
            events,
            on_transition=recorder,
            on_slow_consumer=metrics.queue_drop_counter("websocket-outbox"),
        )
        stack.push_async_callback(hub.close)
        recorder.delete_room_log = hub.delete_visit_log
        # After the hub: it deletes room logs through it, and stops before it closes.
        retention = RetentionTask(RetentionTargets(database, hub.delete_visit_log), settings)
        retention.start()
        stack.push_async_callback(retention.stop)
        revocations = Revocations(events)
        revocations.start()
        stack.push_async_callback(revocations.stop)
        passwords = PasswordChecks(settings.password_checks_at_once)
        stack.callback(passwords.close)
        throttle = await stack.enter_async_context(open_login_throttle(settings, secret_key))
        services = Services(
            settings=settings,
            database=database,
            secret_key=secret_key,
            events=events,
            hub=hub,
            speech=speech,
            assistants=assistants,
            caption_sink=transcripts,
            intake=intake,
            intake_sessions=IntakeSessions(intake, database, hub),
            chat=chat,
            sign_in=SignInGuards(
                throttle=throttle,
                passwords=passwords,
                factors=SecondFactorKeys.of(secret_key),
                require_second_factor=settings.second_factor_required,
            ),
            revocations=revocations,
            metrics=metrics,
        )
        metrics.watch(services)
        yield services


class TelehealthApp(FastAPI):
    """FastAPI with the security headers and cookie names outside everything, even the 500
    handler."""

    # HSTS and `__Host-` cookies on every response when the public URL is https (else only
    # on https requests).
    serves_https = False

    def build_middleware_stack(self) -> ASGIApp:
        cookies = HostPrefixedCookies(super().build_middleware_stack(), https=self.serves_https)
        return SecurityHeaders(cookies, https=self.serves_https)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    # Made before the services: the request counter sits in a middleware.
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, metrics) as services:
            app.state.services = services
            log.info(
                "started", extra={"version": __version__, "database": services.database.dialect}
            )
            yield
            log.info("stopping")

    # The API description helps developers and attackers alike: open in development only,
    # for signed-in admins elsewhere (telehealth/web/api_docs.py).
    docs = settings.is_development
    app = TelehealthApp(
        title="Telehealth assistant",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        redoc_url=None,
    )
    app.serves_https = settings.serves_https
    # The last added runs first: note the client for the audit trail, log every request,
    # then refuse cross-site writes, then oversized bodies.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CrossSiteGuard, allowed_origins=settings.allowed_origins)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    # Outermost of these: every audit event of a request knows its client.
    app.add_middleware(AuditRequestContext)
    install_validation_errors(app)
    app.include_router(api_router())
    if not docs:
        app.include_router(admin_docs_router())
    app.include_router(socket.router)
    install_web(app)
    return app
