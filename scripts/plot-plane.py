#!/usr/bin/python3
"""Draws `swamp analyze plane --json` output: train loss contours and test accuracy, with the three models.

usage: swamp analyze plane RUN_DIR --cycle N --json > plane.json
       /usr/bin/python3 scripts/plot-plane.py plane.json out.png [title]
Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        plane = json.load(f)
    title = sys.argv[3] if len(sys.argv) > 3 else ""
    xs, ys = plane["xs"], plane["ys"]
    fig, axes = plt.subplots(2, 1, figsize=(8, 7.5))
    for ax, key, label, cmap in [
        (axes[0], "trainLoss", "train loss", "viridis"),
        (axes[1], "testAccuracy", "test accuracy", "magma"),
    ]:
        grid = plane[key]
        filled = ax.contourf(xs, ys, grid, levels=30, cmap=cmap)
        ax.contour(xs, ys, grid, levels=12, colors="white", linewidths=0.4, alpha=0.6)
        fig.colorbar(filled, ax=ax, label=label)
        for (x, y), name, marker in zip(plane["points"], plane["basis"]["models"], ["o", "s", "*"]):
            ax.plot(x, y, marker, color="red", markersize=10 if marker == "*" else 7, markeredgecolor="white")
            ax.annotate(name.split(" ")[-1], (x, y), textcoords="offset points", xytext=(6, 6), color="white", fontsize=9)
        ax.set_xlabel("u (weight-space distance)")
        ax.set_ylabel("v")
        ax.set_title(label)
        ax.set_aspect("equal", adjustable="box")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
