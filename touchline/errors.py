"""The one error family that business rules raise; ``app.py`` maps it to HTTP once.

Messages are written for the person who caused them: what is wrong, where, and
what to do instead. ``field`` names the offending input when there is one.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that breaks a business rule. Subclasses fix the HTTP status."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """Input that is malformed or contradicts the data already stored."""

    status_code = 422


class NotFound(DomainError):
    """Something that does not exist, or that the user may not know exists."""

    status_code = 404


class Forbidden(DomainError):
    """Something the user may see but not change, or a page beyond their role."""

    status_code = 403


class Conflict(DomainError):
    """A change that collides with what is stored (a duplicate, a stale edit)."""

    status_code = 409


class NotAuthenticated(DomainError):
    """No valid login or token came with the request."""

    status_code = 401


class TooManyAttempts(DomainError):
    """Too many failed logins in a short time."""

    status_code = 429
