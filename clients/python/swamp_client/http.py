"""GraphQL over HTTP and plain GETs (exports), with the bearer token, on the standard library."""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, Optional, Tuple

from .errors import ConnectionFailedError, ServerError, from_graphql_error, from_http_error

Query = Iterable[Tuple[str, Any]]


def base_url_of(url: str) -> str:
    """The server's base URL from either it or its GraphQL endpoint (``http://host:4000/graphql``)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"url: expected http(s)://host:port, got {url!r}")
    path = parsed.path.rstrip("/")
    if path.endswith("/graphql"):
        path = path[: -len("/graphql")]
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


class HttpSession:
    """Sends requests to one server with one token."""

    def __init__(self, url: str, token: Optional[str], timeout: float = 60.0):
        self.base_url = base_url_of(url)
        self.token = token
        self.timeout = timeout

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    @property
    def websocket_url(self) -> str:
        scheme, rest = self.base_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/graphql"

    def headers(self) -> Dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def graphql(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Runs one operation; returns its ``data`` or raises the first error as a SwampError."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode("utf-8")
        status, payload = self._send(urllib.request.Request(
            self.graphql_url, data=body, method="POST",
            headers={"content-type": "application/json", "accept": "application/json", **self.headers()}))
        try:
            answer = json.loads(payload.decode("utf-8"))
        except ValueError:
            raise ServerError(f"the server answered HTTP {status} with something that is not JSON", status=status) from None
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            raise from_graphql_error(errors[0], status if status >= 400 else None)
        if status >= 400 or not isinstance(answer, dict) or answer.get("data") is None:
            raise from_http_error(status, answer)
        return answer["data"]

    def get(self, path: str, query: Query = ()) -> bytes:
        """GETs ``path`` (e.g. ``/export/weights.npz``) with repeated query parameters; returns the body."""
        url = f"{self.base_url}{path}"
        encoded = urllib.parse.urlencode([(k, v) for k, v in query if v is not None])
        if encoded:
            url = f"{url}?{encoded}"
        status, payload = self._send(urllib.request.Request(url, method="GET", headers=self.headers()))
        if status >= 400:
            text = payload.decode("utf-8", "replace")
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            raise from_http_error(status, body, url.split("?", 1)[0])
        return payload

    def _send(self, request: urllib.request.Request) -> Tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ConnectionFailedError(f"cannot reach {request.full_url}: {reason}") from None
