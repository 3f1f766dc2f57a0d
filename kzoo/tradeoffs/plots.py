"""Pictures of a speed/accuracy study: latency against AP with the Pareto frontier, and the proposal sweep."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MARKERS = "osD^v<>pXh*"


def pareto_frontier(points):
    """Indices of the points no other point beats: as fast or faster and as accurate or more, one strictly.

    ``points`` are ``(latency, ap)`` pairs; the result is sorted by latency.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    frontier, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            frontier.append(i)
            best = points[i][1]
    return frontier


def _finite(row, *keys):
    return all(isinstance(row.get(k), (int, float)) and math.isfinite(row[k]) for k in keys)


def plot_latency_vs_ap(rows, path, latency="keras_ms"):
    """Each scored configuration as a point (colour: meta-architecture, marker: backbone), frontier joined."""
    rows = [r for r in rows if _finite(r, latency, "AP")]
    fig, ax = plt.subplots(figsize=(7, 5))
    models = sorted({r["model"] for r in rows})
    backbones = sorted({r["backbone"] for r in rows})
    colours = plt.get_cmap("tab10")
    for r in rows:
        ax.scatter(r[latency], r["AP"], color=colours(models.index(r["model"]) % 10),
                   marker=MARKERS[backbones.index(r["backbone"]) % len(MARKERS)], s=50, alpha=0.85)
        label = f"{int(r['image_size'])}" + ("" if not _finite(r, "proposals") else f"/{int(r['proposals'])}")
        ax.annotate(label, (r[latency], r["AP"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    frontier = [rows[i] for i in pareto_frontier([(r[latency], r["AP"]) for r in rows])]
    if frontier:
        ax.plot([r[latency] for r in frontier], [r["AP"] for r in frontier], "k--", lw=1, label="Pareto frontier")
    for m in models:
        ax.scatter([], [], color=colours(models.index(m) % 10), label=m)
    for b in backbones:
        ax.scatter([], [], color="grey", marker=MARKERS[backbones.index(b) % len(MARKERS)], label=b)
    ax.set_xlabel(f"{latency.replace('_ms', '')} latency, ms per image (batch 1)")
    ax.set_ylabel("COCO AP@[0.5:0.95]")
    ax.set_title("speed / accuracy (labels: image size / proposals)")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "no scored configurations yet", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_proposals(rows, path, latency="keras_ms"):
    """AP and latency against the number of proposals, one line per region-based configuration."""
    rows = [r for r in rows if _finite(r, "proposals", latency)]
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["backbone"], int(r["image_size"])), []).append(r)
    fig, (ap_ax, ms_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for (model, backbone, size), members in sorted(groups.items()):
        members.sort(key=lambda r: r["proposals"])
        label = f"{model} {backbone} {size}"
        counts = [r["proposals"] for r in members]
        ms_ax.plot(counts, [r[latency] for r in members], "o-", label=label)
        scored = [r for r in members if _finite(r, "AP")]
        if scored:
            ap_ax.plot([r["proposals"] for r in scored], [r["AP"] for r in scored], "o-", label=label)
    for ax, name in ((ap_ax, "COCO AP@[0.5:0.95]"), (ms_ax, f"{latency.replace('_ms', '')} ms per image")):
        ax.set_xscale("log")
        ax.set_xlabel("proposals per image")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no region-based configurations", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
