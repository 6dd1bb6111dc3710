"""Errors raised by services; pages and the API map them to 422, 404, 403 and 409."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error a service raises on purpose."""


class InvalidInput(ServiceError):  # noqa: N818 (the contract's name)
    """Bad input: one list of messages per offending field; nothing was written."""

    def __init__(self, field_errors: dict[str, list[str]]) -> None:
        self.field_errors = field_errors
        super().__init__(
            "; ".join(
                f"{field}: {message}"
                for field, messages in field_errors.items()
                for message in messages
            )
        )


class NotFound(ServiceError):  # noqa: N818
    """The object does not exist, or is outside the actor's scope."""


class NotAllowed(ServiceError):  # noqa: N818
    """The actor's role may never do this."""


class Conflict(ServiceError):  # noqa: N818
    """The change lost a race with another one."""
