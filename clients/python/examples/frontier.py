"""Does swamp beat IMP? A 3-seed sweep of both on a short config, its grouped frontier, and a plot.

    python3 examples/frontier.py PLOT.png [--url http://127.0.0.1:4000] [--token T] [--synthetic]

Against a running ``swamp up`` (the token is the one it prints; or set SWAMP_URL / SWAMP_TOKEN):
creates the sweep (LeNet-300-100 on 4,000 Fashion-MNIST images, or on generated data with
``--synthetic``; 4 pruning cycles of 50%), waits for it, prints mean ± std accuracy per method and
sparsity, and saves accuracy vs sparsity with ±1 std bands to PLOT.png.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swamp_client import Swamp  # noqa: E402


def short_config(synthetic: bool) -> dict:
    data = {"name": "synthetic", "trainSubset": 1024, "testSubset": 512} if synthetic else {"name": "fashion-mnist", "trainSubset": 4000, "testSubset": 2000}
    return {
        "name": "frontier-example",
        "data": data,
        "model": {"name": "lenet-300-100"},
        "method": {"name": "imp"},
        "pruning": {"rate": 0.5, "cycles": 4},
        "training": {"epochs": 2, "rewindEpochs": 1, "batchSize": 64, "lr": 0.05, "bnRecalibrationExamples": 512},
        "swa": {"lr": 0.02, "startFraction": 0.5},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("plot", help="where to save the PNG")
    parser.add_argument("--url", default=os.environ.get("SWAMP_URL", "http://127.0.0.1:4000"))
    parser.add_argument("--token", default=os.environ.get("SWAMP_TOKEN"))
    parser.add_argument("--synthetic", action="store_true", help="generated data instead of Fashion-MNIST")
    args = parser.parse_args()

    swamp = Swamp(args.url, args.token)
    grid = {"method": [{"name": "imp"}, {"name": "swamp", "particles": 4}], "seed": [0, 1, 2]}
    started = time.monotonic()
    sweep = swamp.create_sweep(f"frontier-example-{int(time.time())}", short_config(args.synthetic), grid)
    print(f"sweep {sweep}: {len(swamp.sweep(sweep)['experiment_ids'])} experiments; waiting ...", flush=True)
    statuses = swamp.wait(sweep, timeout=3600, poll=2)
    print(f"done in {time.monotonic() - started:.0f} s: {sorted(statuses.values())}")

    frontier = swamp.frontier(group_by=["method.name"], sweep=sweep)
    table = frontier.assign(
        sparsity=[f"{s:.2%}" for s in frontier.sparsity],
        accuracy=[f"{m:.4f} ± {s:.4f}" for m, s in zip(frontier.accuracy_mean, frontier.accuracy_std)],
    )
    print(table.pivot(index=["cycle", "sparsity"], columns="method.name", values="accuracy").to_string())

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for method, group in frontier.groupby("method.name"):
        sparsity = group.sparsity * 100
        axes.plot(sparsity, group.accuracy_mean, marker="o", label=f"{method} (n={group.n.min()})")
        axes.fill_between(sparsity, group.accuracy_mean - group.accuracy_std, group.accuracy_mean + group.accuracy_std, alpha=0.25)
    axes.set_xlabel("sparsity (% of prunable weights removed)")
    axes.set_ylabel("test accuracy (averaged model)")
    axes.set_title("LeNet-300-100, mean ± std over 3 seeds")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.plot, dpi=120)
    print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
