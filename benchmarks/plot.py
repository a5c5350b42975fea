"""Chart of a runner result: one panel per workload, one bar per tool
(median, whiskers = min..max over rounds).  Runs in benchmarks/.peers/plot.

    python plot.py results/latest.json results/latest.png
"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        d = json.load(f)
    wls = list(d["summary"])
    tools = d["tools"]
    cols = 2 if len(wls) > 1 else 1
    rows = (len(wls) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.2 * rows),
                             squeeze=False)
    for ax in axes.flat[len(wls):]:
        ax.axis("off")
    for ax, wl in zip(axes.flat, wls):
        row = d["summary"][wl]
        unit = "MiB/s" if d["kinds"][wl] == "bytes" else "objects/s"
        xs, hs, lo, hi, colors, labels = [], [], [], [], [], []
        for i, t in enumerate(tools):
            v = row[t]
            xs.append(i)
            labels.append(t)
            if v["status"] == "ok":
                hs.append(v["rate"])
                lo.append(v["rate"] - v["rate_min"])
                hi.append(v["rate_max"] - v["rate"])
            else:
                hs.append(0)
                lo.append(0)
                hi.append(0)
            colors.append("tab:red" if t == "s3ferry" else "tab:blue")
        ax.bar(xs, hs, yerr=[lo, hi], color=colors, capsize=3)
        top = max(hs + [1])
        for x, t, h in zip(xs, tools, hs):
            v = row[t]
            txt = ("%.0f" % h) if v["status"] == "ok" else v["status"]
            ax.text(x, h + top * 0.02, txt, ha="center", va="bottom",
                    fontsize=7)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, rotation=30, fontsize=8)
        ax.set_ylim(0, top * 1.2)
        ax.set_title(d["titles"][wl], fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
    m = d["machine"]
    fig.suptitle("s3ferry vs peers, local Ceph RGW; %s cores, %s" %
                 (m["nproc"], m["cpu"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main()
