"""The client against a live swamp server (``swamp up`` with workers).

SWAMP_URL and SWAMP_TOKEN name the server; test/clients/python-client.test.ts starts one and runs
this suite twice, once with SWAMP_CLIENT_NO_PANDAS=1 (tables as lists of dicts). The fixture sweep
(imp vs swamp × 2 seeds, tiny configs) is created by the first run and found again by the second.
"""

import math
import os
import statistics
import unittest
import uuid

import numpy as np

from swamp_client import (AuthenticationError, ConflictError, InvalidInputError, NotFoundError, Swamp, to_torch_state_dict,
                          torch_state_dict_names)
from swamp_client.client import ANALYSIS_COLUMNS, CYCLE_COLUMNS, EXPERIMENT_COLUMNS, FRONTIER_STATS, METRIC_COLUMNS, PARTICLE_COLUMNS

SWEEP_NAME = "py-client-fixture"
BASE = {
    "name": "py-client",
    "data": {"name": "synthetic", "trainSubset": 256, "testSubset": 128},
    "model": {"name": "lenet-300-100"},
    "method": {"name": "imp"},
    "pruning": {"rate": 0.5, "cycles": 1},
    "training": {"epochs": 1, "rewindEpochs": 0, "batchSize": 64, "lr": 0.05, "bnRecalibrationExamples": 128},
    "swa": {"lr": 0.02, "startFraction": 0.5},
}
GRID = {"method": [{"name": "imp"}, {"name": "swamp", "particles": 2}], "seed": [0, 1]}
PANDAS = os.environ.get("SWAMP_CLIENT_NO_PANDAS", "") in ("", "0")

swamp: Swamp
sweep_id: str


def setUpModule():
    global swamp, sweep_id
    url, token = os.environ.get("SWAMP_URL"), os.environ.get("SWAMP_TOKEN")
    if not url or not token:
        raise RuntimeError("set SWAMP_URL and SWAMP_TOKEN to a live server (test/clients/python-client.test.ts does)")
    swamp = Swamp(url, token)
    existing = [s for s in records(swamp.sweeps()) if s["name"] == SWEEP_NAME]
    sweep_id = existing[0]["id"] if existing else swamp.create_sweep(SWEEP_NAME, BASE, GRID, tags=["py-fixture"])
    swamp.wait(sweep_id, timeout=600)


def records(result):
    """Rows as dicts, from a DataFrame or a list of dicts; checks the table type of this pass."""
    if PANDAS:
        import pandas
        assert isinstance(result, pandas.DataFrame), type(result)
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in result.to_dict("records")]
    assert isinstance(result, list), type(result)
    return result


def columns(result):
    return list(result.columns) if PANDAS else list(result[0].keys())


class ReadingTest(unittest.TestCase):
    def test_the_url_may_be_the_base_or_the_graphql_endpoint(self):
        self.assertEqual(Swamp(swamp.url + "/graphql/").url, swamp.url)
        self.assertFalse(swamp.url.endswith("/"))

    def test_the_sweep_finished_and_counts_its_experiments(self):
        statuses = swamp.wait(sweep_id, timeout=5)
        self.assertEqual(sorted(statuses.values()), ["completed"] * 4)
        sweep = swamp.sweep(sweep_id)
        self.assertEqual((sweep["name"], sweep["size"], sweep["counts"]["completed"]), (SWEEP_NAME, 4, 4))
        self.assertEqual(sorted(sweep["experiment_ids"]), sorted(statuses))
        self.assertIn(sweep_id, [s["id"] for s in records(swamp.sweeps())])

    def test_experiments_take_the_filters_of_the_graphql_api(self):
        table = swamp.experiments(sweep=sweep_id)
        self.assertEqual(columns(table), EXPERIMENT_COLUMNS)
        rows = records(table)
        self.assertEqual(len(rows), 4)
        self.assertEqual(sorted((r["method"], r["seed"]) for r in rows), [("imp", 0), ("imp", 1), ("swamp", 0), ("swamp", 1)])
        for row in rows:
            self.assertEqual((row["status"], row["model"], row["dataset"], row["sweep"], row["progress"]), ("completed", "lenet-300-100", "synthetic", sweep_id, 1.0))
        def ids(**filters):
            return sorted(r["id"] for r in records(swamp.experiments(sweep=sweep_id, **filters)))
        by = {(r["method"], r["seed"]): r["id"] for r in rows}
        self.assertEqual(ids(methods="imp"), sorted([by["imp", 0], by["imp", 1]]))
        self.assertEqual(ids(config={"method.name": "swamp"}), sorted([by["swamp", 0], by["swamp", 1]]))
        self.assertEqual(ids(config={"seed": [1]}), sorted([by["imp", 1], by["swamp", 1]]))
        self.assertEqual(ids(config={"seed": [0], "method.particles": 2}), [by["swamp", 0]])
        self.assertEqual(ids(tags=["py-fixture"]), sorted(by.values()))
        self.assertEqual(ids(tags_any=["no-such-tag", "py-fixture"]), sorted(by.values()))
        self.assertEqual(ids(tags=["no-such-tag", "py-fixture"]), [])
        self.assertEqual(ids(name_contains=SWEEP_NAME.upper()), sorted(by.values()))
        self.assertEqual(ids(ids=[by["imp", 0]]), [by["imp", 0]])
        self.assertEqual(ids(statuses="COMPLETED", models=["lenet-300-100"], datasets="synthetic"), sorted(by.values()))
        self.assertEqual(ids(statuses=["failed"]), [])
        self.assertEqual(ids(owner=rows[0]["owner"]), sorted(by.values()))
        self.assertEqual(ids(accuracy_min=1.5), [])
        with self.assertRaisesRegex(TypeError, "unknown filter method"):
            swamp.experiments(method="imp")

    def test_a_bad_filter_names_its_field(self):
        with self.assertRaises(InvalidInputError) as raised:
            swamp.experiments(config={"no.such.path": 1})
        self.assertEqual(raised.exception.fields, ["filter.config.0.path"])

    def test_experiment_gives_its_cycles_and_particles(self):
        row = [r for r in records(swamp.experiments(sweep=sweep_id, methods="swamp"))][0]
        experiment = swamp.experiment(row["id"])
        for key in EXPERIMENT_COLUMNS:
            self.assertEqual(experiment[key], row[key], key)
        self.assertEqual(experiment["config"]["method"], {"name": "swamp", "particles": 2})
        self.assertEqual(columns(experiment["cycles"]), CYCLE_COLUMNS)
        self.assertEqual(columns(experiment["particles"]), PARTICLE_COLUMNS)
        cycles, particles = records(experiment["cycles"]), records(experiment["particles"])
        self.assertEqual([c["index"] for c in cycles], [0, 1])
        self.assertEqual([c["sparsity"] for c in cycles], [0.0, 0.5])
        self.assertEqual(len(particles), 4)
        for cycle in cycles:
            mine = [p["accuracy"] for p in particles if p["cycle"] == cycle["index"]]
            self.assertEqual(cycle["best_particle_accuracy"], max(mine))
            self.assertTrue(0 <= cycle["accuracy"] <= 1)

    def test_experiment_errors_carry_the_field(self):
        with self.assertRaises(NotFoundError):
            swamp.experiment(str(uuid.uuid4()))
        with self.assertRaises(InvalidInputError) as raised:
            swamp.experiment("not-an-id")
        self.assertEqual(raised.exception.fields, ["id"])
        with self.assertRaises(AuthenticationError):
            Swamp(swamp.url, "swamp_not_a_token").experiments()

    def test_frontier_equals_the_numbers_computed_by_hand(self):
        table = swamp.frontier(group_by=["method.name"], sweep=sweep_id)
        self.assertEqual(columns(table), ["method.name"] + FRONTIER_STATS)
        rows = records(table)
        self.assertEqual([(r["method.name"], r["cycle"]) for r in rows], [("imp", 0), ("imp", 1), ("swamp", 0), ("swamp", 1)])
        for method in ("imp", "swamp"):
            runs = [swamp.experiment(r["id"]) for r in records(swamp.experiments(sweep=sweep_id, methods=method))]
            for cycle in (0, 1):
                accuracies = [records(run["cycles"])[cycle]["accuracy"] for run in runs]
                best = [records(run["cycles"])[cycle]["best_particle_accuracy"] for run in runs]
                row = [r for r in rows if r["method.name"] == method and r["cycle"] == cycle][0]
                self.assertEqual(row["n"], 2)
                self.assertAlmostEqual(row["sparsity"], cycle * 0.5)
                self.assertAlmostEqual(row["accuracy_mean"], statistics.mean(accuracies))
                self.assertAlmostEqual(row["accuracy_std"], statistics.stdev(accuracies))
                self.assertEqual((row["accuracy_min"], row["accuracy_max"]), (min(accuracies), max(accuracies)))
                self.assertAlmostEqual(row["best_particle_mean"], statistics.mean(best))
                self.assertEqual(row["best_particle_max"], max(best))

    def test_cycles_carry_their_inference_profile_and_frontiers_plot_against_it(self):
        runs = [swamp.experiment(r["id"]) for r in records(swamp.experiments(sweep=sweep_id, methods="imp"))]
        for run in runs:
            for cycle in records(run["cycles"]):
                self.assertEqual(cycle["parameters"], cycle["alive_weights"] + 410, "kept weights plus lenet-300-100's biases")
                self.assertEqual(cycle["dense_bytes"], 4 * (cycle["total_weights"] + 410))
                self.assertLess(cycle["sparse_flops"], cycle["dense_flops"] + 1)
                self.assertGreater(cycle["throughput_dense"], 0)
                self.assertGreater(cycle["latency_ms_sparse"], 0)
        rows = records(swamp.frontier(group_by=["method.name"], sweep=sweep_id, x="bytes"))
        for cycle in (0, 1):
            sizes = [records(run["cycles"])[cycle]["sparse_bytes"] for run in runs]
            row = [r for r in rows if r["method.name"] == "imp" and r["cycle"] == cycle][0]
            self.assertEqual(row["x_n"], 2)
            self.assertAlmostEqual(row["x_mean"], statistics.mean(sizes))
            self.assertEqual((row["x_min"], row["x_max"]), (min(sizes), max(sizes)))
        self.assertLess(rows[1]["x_mean"], rows[0]["x_mean"], "half the weights pruned: a smaller sparse file")
        with self.assertRaises(InvalidInputError) as raised:
            swamp.frontier(sweep=sweep_id, x="cost")
        self.assertEqual(raised.exception.fields, ["x"])

    def test_frontier_groups_by_every_differing_setting_by_default(self):
        rows = records(swamp.frontier(sweep=sweep_id))
        self.assertEqual(sorted({(r["method.name"], r["method.particles"]) for r in rows}), [("imp", 1), ("swamp", 2)])
        with self.assertRaises(InvalidInputError) as raised:
            swamp.frontier(group_by=["method.nope"], sweep=sweep_id)
        self.assertEqual(raised.exception.fields, ["groupBy.0"])

    def test_metrics_of_every_cycle_on_one_step_axis(self):
        row = records(swamp.experiments(sweep=sweep_id, methods="swamp"))[0]
        table = swamp.metrics(row["id"], ["test/accuracy", "train/epoch-loss"])
        self.assertEqual(columns(table), METRIC_COLUMNS)
        points = records(table)
        averaged = sorted((p["cycle"], p["value"]) for p in points if p["key"] == "test/accuracy" and p["particle"] is None)
        cycles = records(swamp.experiment(row["id"])["cycles"])
        self.assertEqual(averaged, [(c["index"], c["accuracy"]) for c in cycles])
        losses = [p for p in points if p["key"] == "train/epoch-loss" and p["particle"] == 0]
        self.assertEqual([p["cycle"] for p in losses], [0, 1])
        self.assertLess(losses[0]["step"], losses[1]["step"], "steps rise across cycles")
        self.assertEqual({p["experiment"] for p in points}, {row["id"]})

    def test_weights_and_masks_of_a_cycle(self):
        row = records(swamp.experiments(sweep=sweep_id, methods="swamp"))[0]
        cycle = records(swamp.experiment(row["id"])["cycles"])[1]
        weights = swamp.weights(row["id"], 1)
        masks = swamp.masks(row["id"], 1)
        self.assertEqual(list(weights), ["fc1/kernel", "fc1/bias", "fc2/kernel", "fc2/bias", "fc3/kernel", "fc3/bias"])
        self.assertEqual(list(masks), ["fc1/kernel", "fc2/kernel", "fc3/kernel"])
        self.assertEqual(weights["fc1/kernel"].shape, (784, 300))
        self.assertEqual(weights["fc1/kernel"].dtype, np.float32)
        self.assertEqual(sum(int(m.sum()) for m in masks.values()), cycle["alive_weights"])
        for name, keep in masks.items():
            self.assertEqual(keep.dtype, np.bool_)
            self.assertTrue((weights[name][~keep] == 0).all(), f"pruned entries of {name} are exactly 0")
            self.assertGreater(np.count_nonzero(weights[name][keep]), 0)
        sparse = swamp.weights(row["id"], 1, dense=False)
        self.assertEqual(list(sparse), list(weights))
        for name, array in sparse.items():
            if name in masks:
                self.assertIsInstance(array, np.ma.MaskedArray)
                np.testing.assert_array_equal(array.mask, ~masks[name])
                np.testing.assert_array_equal(array.filled(0), weights[name])
            else:
                np.testing.assert_array_equal(array, weights[name])
        state = to_torch_state_dict(weights, row["model"])
        self.assertEqual(state["fc1.weight"].shape, (300, 784))
        np.testing.assert_array_equal(state["fc1.weight"], weights["fc1/kernel"].T)
        self.assertEqual(torch_state_dict_names(row["model"], weights)["fc3/bias"], "fc3.bias")

    def test_weight_export_errors_name_the_field(self):
        row = records(swamp.experiments(sweep=sweep_id))[0]
        with self.assertRaises(NotFoundError) as missing:
            swamp.weights(row["id"], 9)
        self.assertEqual(missing.exception.status, 404)
        with self.assertRaises(InvalidInputError) as bad:
            swamp.masks(row["id"], -1)
        self.assertEqual(bad.exception.fields, ["cycle"])


class WritingTest(unittest.TestCase):
    def test_an_invalid_config_names_its_fields(self):
        with self.assertRaises(InvalidInputError) as raised:
            swamp.create_experiment({**BASE, "training": {**BASE["training"], "lr": -1}, "swa": {"lr": 0.01}})
        self.assertIn("training.lr", raised.exception.fields)
        self.assertEqual(raised.exception.code, "BAD_USER_INPUT")

    def test_an_invalid_grid_names_its_fields_and_creates_nothing(self):
        before = len(records(swamp.experiments()))
        with self.assertRaises(InvalidInputError) as raised:
            swamp.create_sweep("py-client-bad", BASE, {"seed": [0, 1], "training.lr": [0.1, -1]})
        self.assertTrue(any(f.startswith("points.") and f.endswith("training.lr") for f in raised.exception.fields), raised.exception.fields)
        with self.assertRaises(InvalidInputError) as empty:
            swamp.create_sweep("py-client-bad", BASE, {"seed": []})
        self.assertEqual(empty.exception.fields, ["grid.seed"])
        self.assertEqual(len(records(swamp.experiments())), before)

    def test_notes(self):
        row = records(swamp.experiments(sweep=sweep_id))[0]
        swamp.set_notes(row["id"], "checked from Python")
        self.assertEqual(swamp.experiment(row["id"])["notes"], "checked from Python")

    def test_wait_times_out_then_follow_streams_the_run_until_it_ends(self):
        experiment_id = swamp.create_experiment({**BASE, "name": "py-client-live", "seed": 7 + (0 if PANDAS else 1)})
        with self.assertRaisesRegex(TimeoutError, "1 of 1 experiment"):
            swamp.wait(experiment_id, timeout=0)
        points = list(swamp.follow(experiment_id))
        self.assertEqual(swamp.wait(experiment_id, timeout=30), "completed")
        cycles = records(swamp.experiment(experiment_id)["cycles"])
        accuracy = sorted((p["cycle"], p["value"]) for p in points if p["key"] == "test/accuracy" and p["particle"] is None)
        self.assertEqual(accuracy, [(c["index"], c["accuracy"]) for c in cycles])
        self.assertEqual(len({(p["key"], p["cycle"], p["particle"], p["step"]) for p in points}), len(points), "no point twice")
        self.assertEqual(set(points[0]), {"cycle", "particle", "key", "step", "task_step", "epoch", "value", "time", "history"})
        exported = {(p["key"], p["cycle"], p["particle"], p["task_step"]): p["step"] for p in records(swamp.metrics(experiment_id, sorted({p["key"] for p in points})))}
        self.assertEqual({(p["key"], p["cycle"], p["particle"], p["task_step"]): p["step"] for p in points}, exported, "follow and metrics share the step axis")

    def test_follow_replays_a_finished_run_and_ends(self):
        row = records(swamp.experiments(sweep=sweep_id, methods="imp"))[0]
        points = list(swamp.follow(row["id"], keys=["test/accuracy"]))
        self.assertTrue(points and all(p["history"] and p["key"] == "test/accuracy" for p in points))
        averaged = sorted((p for p in points if p["particle"] is None), key=lambda p: p["cycle"])
        self.assertEqual([p["value"] for p in averaged], [c["accuracy"] for c in records(swamp.experiment(row["id"])["cycles"])])


if __name__ == "__main__":
    unittest.main()


class AnalysisTest(unittest.TestCase):
    def test_analyze_waits_for_the_result_which_is_listed_and_deterministic(self):
        experiment = records(swamp.experiments(sweep=sweep_id, methods="swamp"))[0]["id"]
        overlap = swamp.analyze(experiment, "mask-overlap", cycles=[0, 1])
        # Cycle 0 is dense and cycle 1 keeps half of it (rate 0.5).
        self.assertEqual(overlap["aliveA"], overlap["total"])
        self.assertAlmostEqual(overlap["jaccard"], overlap["aliveB"] / overlap["total"])
        self.assertAlmostEqual(overlap["jaccard"], 0.5, places=2)
        first = swamp.analyze(experiment, "interpolate", cycle=1, pairs="average", points=3, train_examples=64, seed=7)
        second = swamp.analyze(experiment, "interpolate", cycle=1, pairs="average", points=3, train_examples=64, seed=7)
        self.assertEqual(first, second)
        self.assertEqual(len(first["pairs"]), 2)
        self.assertEqual(first["pairs"][0]["alphas"], [0, 0.5, 1])
        listed = records(swamp.analyses(experiment, kind="interpolate"))
        self.assertEqual(columns(swamp.analyses(experiment)), ANALYSIS_COLUMNS)
        self.assertGreaterEqual(len(listed), 2)
        self.assertEqual(listed[0]["result"], first)
        self.assertEqual(listed[0]["input"]["trainExamples"], 64)
        self.assertEqual(listed[0]["seed"], 7)
        self.assertEqual(swamp.analysis(listed[0]["id"])["status"], "succeeded")

    def test_bad_analyses_name_the_field(self):
        experiment = records(swamp.experiments(sweep=sweep_id, methods="swamp"))[0]["id"]
        with self.assertRaises(InvalidInputError) as raised:
            swamp.analyze(experiment, "interpolate", cycle=1, points=1)
        self.assertEqual(raised.exception.fields, ["input.points"])
        with self.assertRaises(ConflictError):
            swamp.analyze(experiment, "plane", cycle=9)
        with self.assertRaises(NotFoundError):
            swamp.analysis("999999")
