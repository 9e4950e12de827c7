"""The client: :class:`Swamp`."""

import io
import json
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from .errors import AnalysisFailedError, InvalidInputError, NotFoundError
from .filters import experiment_filter
from .frames import numpy_module, table
from .http import HttpSession
from .live import TERMINAL_STATUSES, follow_metrics

EXPERIMENT_COLUMNS = [
    "id", "name", "status", "method", "model", "dataset", "seed", "sweep", "tags", "owner",
    "cycles_completed", "cycles_planned", "progress", "final_sparsity", "best_accuracy",
    "particles_per_cycle", "config_hash", "notes", "error", "created_at", "started_at", "finished_at",
]
# The inference columns (from the cycle's profile; None when it was not profiled): sizes, work per
# example, batch-1 latency (median, p95) and batch-256 throughput with the dense and the sparse kernels.
INFERENCE_COLUMNS = [
    "parameters", "sparse_bytes", "dense_bytes", "dense_flops", "sparse_flops",
    "latency_ms_dense", "latency_ms_sparse", "latency_p95_ms_dense", "latency_p95_ms_sparse",
    "throughput_dense", "throughput_sparse", "cpu",
]
CYCLE_COLUMNS = ["index", "status", "sparsity", "accuracy", "loss", "best_particle_accuracy", "alive_weights", "total_weights", "completed_at"] + INFERENCE_COLUMNS
FRONTIER_AXES = ["sparsity", "latency", "throughput", "bytes", "flops"]
PARTICLE_COLUMNS = ["cycle", "index", "status", "accuracy", "loss", "seed", "worker", "error"]
FRONTIER_STATS = [
    "cycle", "sparsity", "n", "accuracy_mean", "accuracy_std", "accuracy_min", "accuracy_max",
    "best_particle_mean", "best_particle_std", "best_particle_min", "best_particle_max", "loss_mean",
    "x_n", "x_mean", "x_std", "x_min", "x_max",
]
# Each FRONTIER_STATS column and the groupedFrontier `columns` list it is read from.
_FRONTIER_FIELDS = list(zip(FRONTIER_STATS, [
    "cycle", "sparsity", "n", "accuracyMean", "accuracyStd", "accuracyMin", "accuracyMax",
    "bestParticleMean", "bestParticleStd", "bestParticleMin", "bestParticleMax", "lossMean",
    "xN", "xMean", "xStd", "xMin", "xMax",
]))
METRIC_COLUMNS = ["experiment", "key", "cycle", "particle", "step", "value", "time", "task_step", "epoch"]
SWEEP_COLUMNS = ["id", "name", "size", "queued", "running", "completed", "failed", "cancelled", "owner", "tags", "created_at"]

ANALYSIS_COLUMNS = [
    "id", "experiment", "experiments", "kind", "status", "progress", "seed", "input", "result", "error",
    "worker", "seconds", "created_at", "started_at", "completed_at",
]
_ANALYSIS_FIELDS = "id experimentId experimentIds kind status progress seed input result error workerId seconds createdAt startedAt completedAt"


def _analysis_row(node: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": node["id"],
        "experiment": node["experimentId"],
        "experiments": list(node["experimentIds"]),
        "kind": node["kind"],
        "status": node["status"].lower(),
        "progress": node["progress"],
        "seed": node["seed"],
        "input": node["input"],
        "result": node.get("result"),
        "error": node.get("error"),
        "worker": node.get("workerId"),
        "seconds": node.get("seconds"),
        "created_at": node["createdAt"],
        "started_at": node.get("startedAt"),
        "completed_at": node.get("completedAt"),
    }


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_EXPERIMENT_FIELDS = """
  id name status method model dataset config configHash tags owner notes sweepId error
  cyclesCompleted cyclesPlanned particlesPerCycle finalSparsity bestAccuracy createdAt startedAt finishedAt
"""
_SWEEP_FIELDS = "id name base grid createdAt owner tags size experimentIds counts { queued running completed failed cancelled total }"
_PAGE = 500


def _experiment_row(node: Dict[str, Any]) -> Dict[str, Any]:
    planned = node["cyclesPlanned"]
    return {
        "id": node["id"],
        "name": node["name"],
        "status": node["status"].lower(),
        "method": node["method"],
        "model": node["model"],
        "dataset": node["dataset"],
        "seed": (node.get("config") or {}).get("seed"),
        "sweep": node.get("sweepId"),
        "tags": list(node["tags"]),
        "owner": node.get("owner"),
        "cycles_completed": node["cyclesCompleted"],
        "cycles_planned": planned,
        "progress": node["cyclesCompleted"] / planned if planned else 0.0,
        "final_sparsity": node["finalSparsity"],
        "best_accuracy": node["bestAccuracy"],
        "particles_per_cycle": node["particlesPerCycle"],
        "config_hash": node["configHash"],
        "notes": node.get("notes"),
        "error": node.get("error"),
        "created_at": node["createdAt"],
        "started_at": node.get("startedAt"),
        "finished_at": node.get("finishedAt"),
    }


class Swamp:
    """A connection to a swamp tracking server.

    ``url`` is the server's base URL (``http://127.0.0.1:4000``) or its GraphQL endpoint
    (``http://127.0.0.1:4000/graphql``); ``token`` is an API token (``swamp up`` prints one), sent
    as ``Authorization: Bearer``. Tables come back as pandas DataFrames, or as lists of dicts where
    pandas is missing (or ``SWAMP_CLIENT_NO_PANDAS=1``). Failures raise :class:`SwampError`
    subclasses carrying the server's field paths in ``.fields``.
    """

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 60.0):
        self.http = HttpSession(url, token, timeout)

    @property
    def url(self) -> str:
        return self.http.base_url

    def graphql(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Runs any GraphQL operation and returns its ``data`` (for what the methods do not cover)."""
        return self.http.graphql(query, variables)

    # ---- reading -------------------------------------------------------------------------------

    def experiments(self, **filters: Any) -> Any:
        """Experiments matching the keyword filters (see :mod:`swamp_client.filters`), newest first.

        Columns: ``id``, ``name``, ``status``, ``method``, ``model``, ``dataset``, ``seed``,
        ``sweep``, ``tags``, ``owner``, ``cycles_completed``, ``cycles_planned``, ``progress``
        (completed / planned), ``final_sparsity``, ``best_accuracy``, ``particles_per_cycle``,
        ``config_hash``, ``notes``, ``error``, ``created_at``, ``started_at``, ``finished_at``.
        Pages through the whole connection.
        """
        return table(self._experiment_nodes(experiment_filter(filters)), EXPERIMENT_COLUMNS)

    def _experiment_nodes(self, graphql_filter: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
        query = f"""query($filter: ExperimentFilter, $after: String, $first: Int!) {{
          experiments(filter: $filter, after: $after, first: $first) {{
            nodes {{ {_EXPERIMENT_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        rows: List[Dict[str, Any]] = []
        after = None
        while True:
            page = self.graphql(query, {"filter": graphql_filter, "after": after, "first": _PAGE})["experiments"]
            rows.extend(_experiment_row(node) for node in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return rows
            after = page["pageInfo"]["endCursor"]

    def experiment(self, experiment_id: str) -> Dict[str, Any]:
        """One experiment: the columns of :meth:`experiments` plus ``config`` (filled), ``cycles``
        (a table: ``index``, ``status``, ``sparsity``, ``accuracy``, ``loss``,
        ``best_particle_accuracy``, ``alive_weights``, ``total_weights``, ``completed_at``) and
        ``particles`` (a table: ``cycle``, ``index``, ``status``, ``accuracy``, ``loss``, ``seed``,
        ``worker``, ``error``). Raises NotFoundError when there is none.
        """
        query = f"""query($id: ID!) {{ experiment(id: $id) {{ {_EXPERIMENT_FIELDS}
          cycles {{ index status sparsity accuracy loss aliveWeights totalWeights completedAt
                    inference {{ parameters sparseBytes denseBytes denseFlops sparseFlops latencyMs {{ dense sparse }}
                                 latencyP95Ms {{ dense sparse }} throughput {{ dense sparse }} cpu }}
                    particles {{ index status accuracy loss seed workerId error }} }} }} }}"""
        node = self.graphql(query, {"id": experiment_id})["experiment"]
        if node is None:
            raise NotFoundError(f"no experiment with id {experiment_id}", code="NOT_FOUND")
        result = _experiment_row(node)
        result["config"] = node["config"]
        cycles, particles = [], []
        for cycle in node["cycles"]:
            accuracies = [p["accuracy"] for p in cycle["particles"] if p["accuracy"] is not None]
            cycles.append({
                "index": cycle["index"], "status": cycle["status"].lower(), "sparsity": cycle["sparsity"],
                "accuracy": cycle["accuracy"], "loss": cycle["loss"],
                "best_particle_accuracy": max(accuracies) if accuracies else None,
                "alive_weights": cycle["aliveWeights"], "total_weights": cycle["totalWeights"], "completed_at": cycle["completedAt"],
                **_inference_columns(cycle["inference"]),
            })
            for p in cycle["particles"]:
                particles.append({"cycle": cycle["index"], "index": p["index"], "status": p["status"].lower(), "accuracy": p["accuracy"],
                                  "loss": p["loss"], "seed": p["seed"], "worker": p["workerId"], "error": p["error"]})
        result["cycles"] = table(cycles, CYCLE_COLUMNS)
        result["particles"] = table(particles, PARTICLE_COLUMNS)
        return result

    def frontier(self, group_by: Optional[Sequence[str]] = None, limit: int = 1000, x: str = "sparsity", **filters: Any) -> Any:
        """The grouped sparsity–accuracy frontier: one row per group and cycle.

        Experiments matching the filters are grouped by the config paths in ``group_by`` (e.g.
        ``["method.name"]``; default: every config path but ``seed``, ``name`` and ``tags``), and
        each cycle's numbers are summarised over the group's experiments that reached it.
        Columns: the group's config values (named by their paths, e.g. ``method.name``), then
        ``cycle``, ``sparsity`` (mean), ``n``, ``accuracy_mean``, ``accuracy_std`` (sample std, None
        when n = 1), ``accuracy_min``, ``accuracy_max``, the same four for ``best_particle_*``
        (each experiment's best particle), ``loss_mean``, and ``x_n``, ``x_mean``, ``x_std``,
        ``x_min``, ``x_max`` of the x-axis ``x``: ``sparsity``, or from the cycles' inference
        profiles (with the faster of the dense and sparse kernels) ``latency`` (batch-1 ms),
        ``throughput`` (batch-256 examples/s), ``bytes`` (compact sparse file) or ``flops`` (per
        example); ``x_n`` counts the experiments with a value (cycles not profiled have none).
        """
        if x not in FRONTIER_AXES:
            raise InvalidInputError(f"x: must be one of {', '.join(FRONTIER_AXES)}, got {x!r}", problems=[{"path": "x", "message": f"must be one of {', '.join(FRONTIER_AXES)}"}])
        # `columns` (one JSON value per group) rather than `points` (a GraphQL object per point):
        # a thousand groups × 26 cycles come back several times faster.
        query = """query($groupBy: [String!], $filter: ExperimentFilter, $limit: Int!, $x: FrontierAxis!) {
          groupedFrontier(groupBy: $groupBy, filter: $filter, limit: $limit, x: $x) { key experimentIds columns } }"""
        variables = {"groupBy": list(group_by) if group_by is not None else None, "filter": experiment_filter(filters), "limit": limit, "x": x.upper()}
        groups = self.graphql(query, variables)["groupedFrontier"]
        key_columns: List[str] = list(group_by) if group_by is not None else []
        for group in groups:
            key_columns.extend(path for path in group["key"] if path not in key_columns)
        rows = []
        for group in groups:
            columns = group["columns"]
            stats = [(name, columns[field]) for name, field in _FRONTIER_FIELDS]
            for i in range(len(columns["cycle"])):
                row = dict(group["key"])
                for name, values in stats:
                    row[name] = values[i]
                rows.append(row)
        return table(rows, key_columns + FRONTIER_STATS)

    def metrics(self, experiment_id: str, keys: Union[str, Sequence[str]], samples: Optional[int] = None) -> Any:
        """Metric points of an experiment (every cycle and particle), e.g. ``keys=["train/loss"]``.

        Columns: ``experiment``, ``key``, ``cycle``, ``particle`` (None for the cycle's averaged
        model), ``step`` (one axis over the whole experiment, cycle-major: pretraining, then each
        cycle's particles, then its averaged model; curves of all cycles share it), ``value``,
        ``time``, ``task_step`` (optimiser steps since the task began) and ``epoch``. With ``samples`` each series is downsampled server-side to at most
        that many points, extremes kept.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise InvalidInputError("keys: give at least one metric key", problems=[{"path": "keys", "message": "give at least one metric key"}])
        query = [("experiment", experiment_id), *(("key", k) for k in keys), ("samples", None if samples is None else str(samples))]
        body = self.http.get("/export/metrics.json", query)
        rows = json.loads(body.decode("utf-8"))
        if isinstance(rows, dict):
            rows = rows.get("rows", [])
        return table(rows, METRIC_COLUMNS)

    def sweeps(self) -> Any:
        """Every sweep, newest first, with its experiments' status counts."""
        query = f"""query($after: String) {{ sweeps(first: 100, after: $after) {{
          edges {{ node {{ {_SWEEP_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        rows, after = [], None
        while True:
            page = self.graphql(query, {"after": after})["sweeps"]
            for edge in page["edges"]:
                node = edge["node"]
                rows.append({**{k: node["counts"][k] for k in ("queued", "running", "completed", "failed", "cancelled")},
                             "id": node["id"], "name": node["name"], "size": node["size"], "owner": node["owner"],
                             "tags": node["tags"], "created_at": node["createdAt"]})
            if not page["pageInfo"]["hasNextPage"]:
                return table(rows, SWEEP_COLUMNS)
            after = page["pageInfo"]["endCursor"]

    def sweep(self, sweep_id: str) -> Dict[str, Any]:
        """One sweep: ``id``, ``name``, ``base``, ``grid``, ``size``, ``counts``, ``experiment_ids``, ..."""
        node = self.graphql(f"query($id: ID!) {{ sweep(id: $id) {{ {_SWEEP_FIELDS} }} }}", {"id": sweep_id})["sweep"]
        if node is None:
            raise NotFoundError(f"no sweep with id {sweep_id}", code="NOT_FOUND")
        return {"id": node["id"], "name": node["name"], "base": node["base"], "grid": node["grid"], "size": node["size"],
                "counts": node["counts"], "experiment_ids": node["experimentIds"], "owner": node["owner"], "tags": node["tags"],
                "created_at": node["createdAt"]}

    # ---- weights ---------------------------------------------------------------------------------

    def weights(self, experiment_id: str, cycle: int, dense: bool = True) -> Dict[str, Any]:
        """The cycle's averaged model: weight name (``fc1/kernel``) → numpy float32 array, in TF.js
        layout (see :mod:`swamp_client.torch_names`), pruned entries exactly 0.

        With ``dense=False`` the prunable kernels come as ``numpy.ma.MaskedArray`` whose mask is
        True where the weight was pruned (``.filled(0)`` gives the dense array back); the other
        tensors stay plain arrays.
        """
        arrays = self._npz("/export/weights.npz", experiment_id, cycle, dense)
        if dense:
            return arrays
        np = numpy_module()
        result = {}
        for name, array in arrays.items():
            if name.endswith(".mask"):
                continue
            keep = arrays.get(f"{name}.mask")
            result[name] = array if keep is None else np.ma.MaskedArray(array, mask=~keep)
        return result

    def masks(self, experiment_id: str, cycle: int) -> Dict[str, Any]:
        """The mask the cycle trained under: prunable weight name → numpy bool array (True = kept)."""
        return self._npz("/export/masks.npz", experiment_id, cycle, None)

    def _npz(self, path: str, experiment_id: str, cycle: int, dense: Optional[bool]) -> Dict[str, Any]:
        np = numpy_module()
        query = [("experiment", experiment_id), ("cycle", str(cycle))]
        if dense:
            query.append(("dense", "1"))
        body = self.http.get(path, query)
        with np.load(io.BytesIO(body), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}

    # ---- writing -------------------------------------------------------------------------------

    def create_experiment(self, config: Dict[str, Any]) -> str:
        """Validates and queues an experiment (``config`` is exactly a config file's JSON); returns its id."""
        data = self.graphql("mutation($config: JSONObject!) { createExperiment(config: $config) { id } }", {"config": config})
        return data["createExperiment"]["id"]

    def create_sweep(self, name: str, base: Dict[str, Any], grid: Dict[str, Any], tags: Optional[Sequence[str]] = None) -> str:
        """Expands ``base`` × ``grid`` into experiments (all or nothing) and returns the sweep's id.

        ``grid`` maps config paths to lists of values, e.g. ``{"seed": [0, 1, 2], "method":
        [{"name": "imp"}, {"name": "swamp", "particles": 4}]}``.
        """
        data = self.graphql(
            "mutation($name: String!, $base: JSONObject!, $grid: JSONObject!, $tags: [String!]) { createSweep(name: $name, base: $base, grid: $grid, tags: $tags) { id } }",
            {"name": name, "base": base, "grid": grid, "tags": list(tags) if tags is not None else None},
        )
        return data["createSweep"]["id"]

    def set_notes(self, experiment_id: str, notes: str) -> None:
        """Replaces the experiment's notes."""
        self.graphql("mutation($id: ID!, $notes: String!) { setNotes(id: $id, notes: $notes) { id } }", {"id": experiment_id, "notes": notes})

    def cancel(self, experiment_id: str) -> str:
        """Stops a queued or running experiment; returns its status."""
        return self.graphql("mutation($id: ID!) { cancelExperiment(id: $id) { status } }", {"id": experiment_id})["cancelExperiment"]["status"].lower()

    def wait(self, experiment_or_sweep_id: Union[str, Sequence[str]], timeout: float = 3600.0, poll: float = 1.0) -> Any:
        """Polls until the experiment, the sweep's experiments, or every experiment in a list ended.

        Returns the final status (``"completed"``, ``"failed"``, ``"cancelled"``) of an experiment,
        or a dict experiment id → status for a sweep or a list. Raises TimeoutError (with where
        things stand) after ``timeout`` seconds, NotFoundError for an unknown id.
        """
        single = isinstance(experiment_or_sweep_id, str)
        if single:
            ids = self._experiments_of(experiment_or_sweep_id)
        else:
            ids = list(experiment_or_sweep_id)
        deadline = time.monotonic() + timeout
        while True:
            statuses = self._statuses(ids)
            if all(s.upper() in TERMINAL_STATUSES for s in statuses.values()):
                if single and ids == [experiment_or_sweep_id]:
                    return statuses[experiment_or_sweep_id]
                return statuses
            if time.monotonic() >= deadline:
                waiting = {i: s for i, s in statuses.items() if s.upper() not in TERMINAL_STATUSES}
                raise TimeoutError(f"after {timeout:g} s, {len(waiting)} of {len(ids)} experiment(s) still queued or running: {waiting}")
            time.sleep(poll)

    def _experiments_of(self, some_id: str) -> List[str]:
        """[the id] for an experiment, the sweep's experiment ids for a sweep."""
        data = self.graphql("query($id: ID!) { experiment(id: $id) { id } }", {"id": some_id})
        if data["experiment"] is not None:
            return [some_id]
        try:
            sweep = self.graphql("query($id: ID!) { sweep(id: $id) { experimentIds } }", {"id": some_id})["sweep"]
        except InvalidInputError:
            sweep = None
        if sweep is None:
            raise NotFoundError(f"no experiment or sweep with id {some_id}", code="NOT_FOUND")
        return list(sweep["experimentIds"])

    def _statuses(self, ids: List[str]) -> Dict[str, str]:
        query = """query($filter: ExperimentFilter, $after: String) {
          experiments(filter: $filter, after: $after, first: 500) { nodes { id status } pageInfo { hasNextPage endCursor } } }"""
        statuses: Dict[str, str] = {}
        for start in range(0, len(ids), _PAGE):
            after = None
            while True:
                page = self.graphql(query, {"filter": {"ids": ids[start:start + _PAGE]}, "after": after})["experiments"]
                statuses.update({node["id"]: node["status"].lower() for node in page["nodes"]})
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
        missing = [i for i in ids if i not in statuses]
        if missing:
            raise NotFoundError(f"no experiment with id {missing[0]}", code="NOT_FOUND")
        return statuses

    # ---- analyses ------------------------------------------------------------------------------

    def analyses(self, experiment_id: str, kind: Optional[str] = None) -> Any:
        """The experiment's analyses, newest first: one row per analysis (its input and result as dicts).

        Columns: ANALYSIS_COLUMNS. ``kind`` keeps one kind (``interpolate``, ``plane``, ``flatness``,
        ``ensemble``, ``mask-overlap``).
        """
        data = self.graphql(
            f"query($id: ID!, $kind: String) {{ experiment(id: $id) {{ analyses(kind: $kind, first: 200) {{ {_ANALYSIS_FIELDS} }} }} }}",
            {"id": experiment_id, "kind": kind},
        )
        if data["experiment"] is None:
            raise NotFoundError(f"no experiment with id {experiment_id}", code="NOT_FOUND")
        return table([_analysis_row(node) for node in data["experiment"]["analyses"]], ANALYSIS_COLUMNS)

    def analysis(self, analysis_id: str) -> Dict[str, Any]:
        """One analysis as a dict (the columns of :meth:`analyses`)."""
        node = self.graphql(f"query($id: ID!) {{ analysis(id: $id) {{ {_ANALYSIS_FIELDS} }} }}", {"id": str(analysis_id)})["analysis"]
        if node is None:
            raise NotFoundError(f"no analysis with id {analysis_id}", code="NOT_FOUND")
        return _analysis_row(node)

    def analyze(self, experiment_id: str, kind: str, others: Optional[Sequence[str]] = None, timeout: float = 3600.0,
                poll: float = 0.5, **input: Any) -> Dict[str, Any]:
        """Starts an analysis of the experiment's stored models, waits for it and returns its result.

        ``input`` is the kind's input in snake or camel case (``cycle=3, pairs="average",
        train_examples=2048``); ``others`` are further experiments it reads (ensemble members, the
        IMP run of ``pairs="swamp-vs-imp"``, the second run of a mask overlap). A bad input raises
        InvalidInputError naming ``input.<field>``; a failed analysis AnalysisFailedError; no result
        within ``timeout`` seconds TimeoutError. Every analysis stays listed by :meth:`analyses`.
        """
        created = self.graphql(
            "mutation($e: ID!, $k: String!, $i: JSONObject, $o: [ID!]) { createAnalysis(experimentId: $e, kind: $k, input: $i, otherExperimentIds: $o) { id } }",
            {"e": experiment_id, "k": kind, "i": {_camel_case(key): value for key, value in input.items()}, "o": list(others or [])},
        )
        analysis_id = created["createAnalysis"]["id"]
        deadline = time.monotonic() + timeout
        while True:
            row = self.analysis(analysis_id)
            if row["status"] == "succeeded":
                return row["result"]
            if row["status"] == "failed":
                raise AnalysisFailedError(f"analysis {analysis_id} ({kind}) failed: {row['error']}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"after {timeout:g} s, analysis {analysis_id} is {row['status']} ({row['progress']:.0%})")
            time.sleep(poll)

    # ---- live ----------------------------------------------------------------------------------

    def follow(self, experiment_id: str, keys: Optional[Sequence[str]] = None, settle: float = 1.0) -> Iterator[Dict[str, Any]]:
        """Live metric points of an experiment (graphql-ws ``metrics`` subscription), history first.

        An iterator of dicts (``cycle``, ``particle``, ``key``, ``step``, ``task_step``, ``epoch``,
        ``value``, ``time``, ``history``) that ends once the experiment completed, failed or was cancelled.
        Needs ``websockets``.
        """
        return follow_metrics(self.http.websocket_url, self.http.token, experiment_id, list(keys) if keys else None, settle=settle)


def _inference_columns(profile: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A cycle's inference profile as INFERENCE_COLUMNS (all None when it was not profiled)."""
    if profile is None:
        return {column: None for column in INFERENCE_COLUMNS}
    return {
        "parameters": profile["parameters"], "sparse_bytes": profile["sparseBytes"], "dense_bytes": profile["denseBytes"],
        "dense_flops": profile["denseFlops"], "sparse_flops": profile["sparseFlops"],
        "latency_ms_dense": profile["latencyMs"]["dense"], "latency_ms_sparse": profile["latencyMs"]["sparse"],
        "latency_p95_ms_dense": profile["latencyP95Ms"]["dense"], "latency_p95_ms_sparse": profile["latencyP95Ms"]["sparse"],
        "throughput_dense": profile["throughput"]["dense"], "throughput_sparse": profile["throughput"]["sparse"], "cpu": profile["cpu"],
    }
