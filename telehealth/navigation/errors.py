"""The exceptions `telehealth.navigation` raises; catch `NavigationError` to catch them all."""

from __future__ import annotations


class NavigationError(Exception):
    """Base of every error raised by the navigation package."""


class UnknownAction(NavigationError, KeyError):
    """No action in the registry has this id."""

    def __str__(self) -> str:
        # KeyError would quote the message; show it as written.
        return str(self.args[0]) if self.args else "unknown action"


class UnknownPage(NavigationError, ValueError):
    """Not one of the pages or states the registry knows (join, device_check, ...)."""


class InvalidWakePhrase(NavigationError, ValueError):
    """The wake phrase has no words, or clashes with a command phrase."""


class NotAVoiceSetting(NavigationError, ValueError):
    """The action does not change the voice (only faster, slower, louder, softer do)."""
