"""Exceptions raised by the client; each carries what the server said, field paths included."""

from typing import Any, Dict, List, Optional


class SwampError(Exception):
    """Base of every error the client raises.

    Attributes:
        message: the server's message (or the client's, for transport problems).
        code: the server's error code (``BAD_USER_INPUT``, ``NOT_FOUND``, ...) when there is one.
        fields: dotted paths of the offending fields (``training.lr``, ``grid.seed``), possibly empty.
        problems: ``[{"path": ..., "message": ...}]`` as the server listed them.
        status: the HTTP status, when the error came from an HTTP answer.
        extensions: the GraphQL error's ``extensions`` as received.
    """

    def __init__(self, message: str, code: Optional[str] = None, problems: Optional[List[Dict[str, str]]] = None,
                 status: Optional[int] = None, extensions: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = list(problems or [])
        self.fields = [p["path"] for p in self.problems if p.get("path") is not None]
        self.status = status
        self.extensions = dict(extensions or {})


class InvalidInputError(SwampError):
    """The request was refused as invalid (a config, a filter, a parameter); see ``fields``."""


class NotFoundError(SwampError):
    """No experiment, sweep, cycle or artifact with that id."""


class ConflictError(SwampError):
    """The record's state forbids the request (e.g. cancelling a finished experiment)."""


class AuthenticationError(SwampError):
    """No token, or a token the server does not accept (HTTP 401)."""


class ForbiddenError(SwampError):
    """The token lacks the scope the request needs (HTTP 403)."""


class ServerError(SwampError):
    """The server failed (HTTP 5xx or ``INTERNAL_SERVER_ERROR``), or answered something unreadable."""


class ConnectionFailedError(SwampError):
    """The server could not be reached."""


class AnalysisFailedError(SwampError):
    """An analysis ran and failed; ``message`` is its stored error."""


_BY_CODE = {
    "BAD_USER_INPUT": InvalidInputError,
    "GRAPHQL_VALIDATION_FAILED": InvalidInputError,
    "GRAPHQL_PARSE_FAILED": InvalidInputError,
    "BAD_REQUEST": InvalidInputError,
    "QUERY_TOO_COMPLEX": InvalidInputError,
    "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "UNAUTHENTICATED": AuthenticationError,
    "FORBIDDEN": ForbiddenError,
    "INTERNAL_SERVER_ERROR": ServerError,
}

_BY_STATUS = {400: InvalidInputError, 401: AuthenticationError, 403: ForbiddenError, 404: NotFoundError, 409: ConflictError}


def from_graphql_error(error: Dict[str, Any], status: Optional[int] = None) -> SwampError:
    """The exception for one entry of a GraphQL response's ``errors``."""
    extensions = error.get("extensions") or {}
    code = extensions.get("code")
    problems = extensions.get("problems") or []
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status or 0) or SwampError
    return cls(error.get("message", "unknown error"), code=code, problems=problems, status=status, extensions=extensions)


def from_http_error(status: int, body: Any, url: str = "") -> SwampError:
    """The exception for a failed plain HTTP request (exports): ``{"error": {"message", "field"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message", f"HTTP {status}"))
        field = error.get("field")
        problems = [{"path": field, "message": message}] if field else []
    else:
        # Not the exports' JSON (a route this server lacks, a proxy's page): short plain text only.
        text = body.strip() if isinstance(body, str) else ""
        detail = f": {text}" if text and len(text) < 200 and "<" not in text else ""
        message = f"HTTP {status} for {url or 'the request'}{detail}"
        problems = []
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else SwampError)
    return cls(message.strip(), problems=problems, status=status)
