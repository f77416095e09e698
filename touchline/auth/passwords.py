"""Password hashing with Argon2id, and the bearer tokens of the API."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from touchline.errors import InvalidInput
from touchline.i18n import gettext as _

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "tl_"  # noqa: S105 (a label, not a secret)
# Verifying against this keeps the time of a login for an unknown account like a known one.
_DUMMY_HASH = _hasher.hash("touchline-timing-equaliser")


def hash_password(password: str) -> str:
    """Return the Argon2id hash of ``password``; refuses one shorter than 8 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("The password must have at least %(length)s characters.", length=MIN_PASSWORD_LENGTH),
            field="password",
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for no hash or a bad one."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """Return a fresh random API token, to be shown once and stored only as its digest."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored.

    A fast hash is right here: tokens carry 256 random bits, so nothing can be guessed.
    """
    return hashlib.sha256(token.encode()).hexdigest()
