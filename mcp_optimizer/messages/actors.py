"""What actors say to each other: requests, replies, and the typed failure replies.

Every ask between actors gets one of its reply types, or :class:`ActorFailed` (the actor
crashed while handling this very request: it is being restarted), or :class:`ActorUnavailable`
(the actor was not running, or did not answer in time). A request is never silently lost.
"""

from __future__ import annotations

from .base import TaggedMessage

ACTOR_PROTOCOL_VERSION = 1
"""Version of the actor message set; raised when a field changes meaning."""


class ActorFailed(TaggedMessage):
    """The actor crashed while handling the request; it is restarted, the request is not."""

    actor: str
    """Name of the actor that crashed (its name in the supervisor's registry)."""
    request: str
    """Type name of the request it was handling."""
    error_type: str
    """Class name of the exception that escaped."""
    error: str
    """The exception's message."""
    at_s: int
    """When it crashed (Unix seconds)."""


class ActorUnavailable(TaggedMessage):
    """The request was not handled: the actor was not running or did not answer in time."""

    actor: str
    """Name of the actor asked."""
    request: str
    """Type name of the request."""
    reason: str
    """Why it was not handled, in words (stopped, restarting, no reply within N s...)."""
    at_s: int
    """When the asker gave up (Unix seconds)."""


ActorFailure = ActorFailed | ActorUnavailable
