"""Live metric points over graphql-ws (the ``graphql-transport-ws`` subprotocol), with ``websockets``.

Two subscriptions share one connection: ``metricColumns`` (the stored history first, then live
batches, each column of each series packed into one string, see packed_columns.py) and
``experimentUpdated`` (to know when the experiment ends). The asyncio part runs on a thread of its own, so :func:`follow_metrics` is a plain iterator that also works inside a
notebook, whose own event loop is already running.
"""

import asyncio
import json
import queue
import threading
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional

from .errors import ConnectionFailedError, SwampError, from_graphql_error
from .packed_columns import unpack_floats, unpack_integers

TERMINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELLED")

METRICS_SUBSCRIPTION = """
subscription($id: ID!, $keys: [String!]) {
  metricColumns(experimentId: $id, keys: $keys) {
    history series { cycle particle key packedSteps packedGlobalSteps packedEpochs packedValues packedTimes }
  }
}"""
STATUS_SUBSCRIPTION = """subscription($id: ID!) { experimentUpdated(id: $id) { status } }"""

_END = object()


def follow_metrics(websocket_url: str, token: Optional[str], experiment_id: str, keys: Optional[List[str]] = None,
                   settle: float = 1.0, open_timeout: float = 30.0) -> Iterator[Dict[str, Any]]:
    """Yields the experiment's metric points, history first, until it has ended.

    Each point is a dict: ``cycle``, ``particle`` (None for the cycle's averaged model), ``key``,
    ``step`` (on the experiment's one axis, as in ``Swamp.metrics``), ``task_step``, ``epoch``,
    ``value``, ``time`` and ``history`` (True for points stored before the
    subscription began). Once the experiment is completed, failed or cancelled (or deleted),
    points still in flight are taken until none arrived for ``settle`` seconds.
    """
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise ImportError("follow() needs websockets (pip install websockets, or Debian's python3-websockets)") from None
    items: "queue.Queue[Any]" = queue.Queue()
    stop = threading.Event()
    loop_box: Dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        loop_box["loop"] = loop
        try:
            loop.run_until_complete(_stream(websocket_url, token, experiment_id, keys, settle, open_timeout, items, stop))
        except BaseException as error:  # handed to the consumer, raised there
            items.put(error)
        finally:
            items.put(_END)
            loop.close()

    thread = threading.Thread(target=run, name=f"swamp-follow-{experiment_id}", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=settle + 5)


def _points(series: Dict[str, Any], history: bool) -> Iterator[Dict[str, Any]]:
    """The points of one series of a (packed) column batch, named as the metrics export names its columns."""
    columns = (unpack_integers(series["packedSteps"]), unpack_integers(series["packedGlobalSteps"]), unpack_floats(series["packedEpochs"]),
               unpack_floats(series["packedValues"]), unpack_integers(series["packedTimes"]))
    for step, global_step, epoch, value, time in zip(*columns):
        yield {"cycle": series["cycle"], "particle": series["particle"], "key": series["key"], "step": global_step,
               "task_step": step, "epoch": epoch, "value": value, "time": _iso_time(time), "history": history}


def _iso_time(millis: float) -> str:
    """Milliseconds since the epoch as the ISO text (UTC, milliseconds, Z) the per-point subscription sent."""
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _stream(url: str, token: Optional[str], experiment_id: str, keys: Optional[List[str]], settle: float,
                  open_timeout: float, items: "queue.Queue[Any]", stop: threading.Event) -> None:
    import websockets

    try:
        ws = await asyncio.wait_for(websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None), open_timeout)
    except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as error:
        raise ConnectionFailedError(f"cannot open {url}: {error}") from None
    try:
        await _exchange(ws, token, experiment_id, keys, settle, open_timeout, items, stop)
    finally:
        await ws.close()


async def _exchange(ws: Any, token: Optional[str], experiment_id: str, keys: Optional[List[str]], settle: float,
                    open_timeout: float, items: "queue.Queue[Any]", stop: threading.Event) -> None:
    import websockets

    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), open_timeout))
    if ack.get("type") != "connection_ack":
        raise SwampError(f"the server refused the subscription connection: {ack}")
    await ws.send(json.dumps({"id": "metrics", "type": "subscribe", "payload": {"query": METRICS_SUBSCRIPTION, "variables": {"id": experiment_id, "keys": keys}}}))
    await ws.send(json.dumps({"id": "status", "type": "subscribe", "payload": {"query": STATUS_SUBSCRIPTION, "variables": {"id": experiment_id}}}))
    ended = False
    while not stop.is_set():
        try:
            raw = await asyncio.wait_for(ws.recv(), settle if ended else 0.5)
        except asyncio.TimeoutError:
            if ended:
                return
            continue
        except websockets.exceptions.ConnectionClosed as closed:
            if ended:
                return
            raise ConnectionFailedError(f"the subscription connection closed: {closed}") from None
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif kind == "error":
            errors = message.get("payload") or [{"message": "subscription refused"}]
            raise from_graphql_error(errors[0])
        elif kind == "next":
            result = message.get("payload") or {}
            if result.get("errors"):
                raise from_graphql_error(result["errors"][0])
            data = result.get("data") or {}
            if message.get("id") == "metrics":
                batch = data["metricColumns"]
                for series in batch["series"]:
                    for point in _points(series, batch["history"]):
                        items.put(point)
            elif data.get("experimentUpdated", {}).get("status") in TERMINAL_STATUSES:
                ended = True
        elif kind == "complete" and message.get("id") == "status":
            ended = True  # the experiment was deleted
