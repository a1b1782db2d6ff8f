"""What every command shares: expected failures become one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer

from telehealth.intake import IntakeError
from telehealth.settings import SettingsError
from telehealth.storage import DatabaseUnavailable
from voice.errors import VoiceError

P = ParamSpec("P")
T = TypeVar("T")


class CommandFailed(Exception):
    """An expected failure: printed as one line, exit status 1."""


class PortInUse(CommandFailed):
    pass


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def expected_failures(command: Callable[P, T]) -> Callable[P, T]:
    """Turn the failures an operator can cause into one clear line and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except SettingsError as error:
            raise fail(str(error), code=2) from None
        except (DatabaseUnavailable, CommandFailed, VoiceError, IntakeError) as error:
            raise fail(str(error)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
