"""The errors a remote call answers with, typed on both ends.

Registered with nameko (deserialize_to_instance), so a caller catches
`NotFound` or `Conflict` instead of comparing RemoteError.exc_type strings. A
service raises these classes themselves (not subclasses: nameko finds the class
by its module path) from its RPC methods; everything else still arrives as
nameko's RemoteError, meaning "that service failed", worth a retry.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class NotFound(LookupError):
    """No such ticket, agent, …: asking again will not help."""


@deserialize_to_instance
class Conflict(Exception):
    """The thing changed since the caller looked (a version or expected value did not match)."""


@deserialize_to_instance
class Invalid(ValueError):
    """The request breaks a rule (a status change not allowed, an unknown priority); the message says which."""


@deserialize_to_instance
class Unauthorized(Exception):
    """No credential, or one that is not valid for this service (HTTP 401)."""


@deserialize_to_instance
class Forbidden(PermissionError):
    """A valid credential that does not allow this call or this act (HTTP 403)."""


# What a caller should treat as "the other side said no", as opposed to "the other side failed".
CALLER_ERRORS = (NotFound, Conflict, Invalid, Unauthorized, Forbidden)
