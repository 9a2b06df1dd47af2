#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/plot.py RESULTS_DIR BENCH_DIR: turns the JSON that bench/run.sh
collected into the data files the gnuplot scripts read (enqueue-batch.dat,
scale.dat) and into results/tables.md, the tables of BENCHMARKS.md.
Standard library only."""

import json
import os
import sys

BATCHES = (1, 10, 100, 1000)
SIDES = ("mp", "raw_same", "raw_min")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def workload(doc, name):
    for w in doc["workloads"]:
        if w["name"] == name:
            return w
    return None


def rate(side):
    return side["msg_s"] if side else float("nan")


def cpu_rate(side):
    return 1e6 / side["cpu_us_per_msg"] if side and side["cpu_us_per_msg"] else float("nan")


def ratio(v):
    return "-" if v is None else "%.2fx" % v


def enqueue_batch(results, lines):
    rows = []
    for b in BATCHES:
        path = os.path.join(results, "sweep-%d.json" % b)
        if not os.path.exists(path):
            continue
        doc = load(path)
        w2, w5 = workload(doc, "W2"), workload(doc, "W5")
        rows.append((b, w2, w5))
    with open(os.path.join(results, "enqueue-batch.dat"), "w", encoding="utf-8") as f:
        f.write("# batch  wall msg/s: mp_enqueue mp_enqueue_batch raw-same raw-min"
                "  cpu msg/s: same order\n")
        for b, w2, w5 in rows:
            f.write("%d %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n" % (
                b, rate(w2["mp"]), rate(w5["mp"]), rate(w2["raw_same"]), rate(w2["raw_min"]),
                cpu_rate(w2["mp"]), cpu_rate(w5["mp"]), cpu_rate(w2["raw_same"]),
                cpu_rate(w2["raw_min"])))
    lines.append("### Enqueue throughput against messages per transaction\n")
    lines.append("| per tx | mp_enqueue msg/s | mp_enqueue_batch msg/s | raw-same msg/s "
                 "| raw-min msg/s | cpu us/msg: mp_enqueue / _batch / raw-same / raw-min |")
    lines.append("|---:|---:|---:|---:|---:|---|")
    for b, w2, w5 in rows:
        lines.append("| %d | %.0f | %.0f | %.0f | %.0f | %.1f / %.1f / %.1f / %.1f |" % (
            b, rate(w2["mp"]), rate(w5["mp"]), rate(w2["raw_same"]), rate(w2["raw_min"]),
            w2["mp"]["cpu_us_per_msg"], w5["mp"]["cpu_us_per_msg"],
            w2["raw_same"]["cpu_us_per_msg"], w2["raw_min"]["cpu_us_per_msg"]))
    lines.append("")


def bench_table(results, lines):
    path = os.path.join(results, "mp-bench.json")
    if not os.path.exists(path):
        return
    doc = load(path)
    lines.append("### mp-bench (%s rounds, batch %s, claim %s, temp_store %s)\n" % (
        doc["rounds"], doc["batch"], doc["claim"], doc["temp_store"]))
    lines.append("| workload | msgs | mp msg/s | raw-same msg/s | raw-min msg/s | mp/same "
                 "| mp/min | mp cpu us | same cpu us | min cpu us | cpu mp/same | cpu mp/min "
                 "| target | met vs raw-same | met vs raw-min |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for w in doc["workloads"]:
        t = w["target"]
        target = (">= %.0f msg/s" % t["value"]) if t["kind"] == "mp_msg_s" else (
            ">= %.2fx raw" % t["value"])
        yes = {True: "yes", False: "**no**", None: "-"}
        met = yes[w["met"]]
        met_min = yes[w.get("met_min")]
        lines.append("| %s %s | %d | %.0f | %.0f | %.0f | %s | %s | %.1f | %.1f | %.1f "
                     "| %s | %s | %s | %s | %s |" % (
                         w["name"], w["title"], w["messages"], rate(w["mp"]),
                         rate(w["raw_same"]), rate(w["raw_min"]), ratio(w["ratio_same"]),
                         ratio(w["ratio_min"]), w["mp"]["cpu_us_per_msg"],
                         w["raw_same"]["cpu_us_per_msg"], w["raw_min"]["cpu_us_per_msg"],
                         ratio(w["cpu_ratio_same"]), ratio(w["cpu_ratio_min"]), target, met,
                         met_min))
    lines.append("")


def micros(us):
    """A duration in microseconds, as us below 1 ms, else as ms."""
    return "%.0f us" % us if us < 1000 else "%.2f ms" % (us / 1000)


def scale(results, lines):
    path = os.path.join(results, "mp-scale.json")
    if not os.path.exists(path):
        return
    doc = load(path)
    sizes = doc["sizes"]
    with open(os.path.join(results, "scale.dat"), "w", encoding="utf-8") as f:
        f.write("# rows  claim_tx(wall cpu)  stats  next_due  enqueue  (us)\n")
        for s in sizes:
            f.write("%d %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n" % (
                s["rows"], s["claim_tx"]["wall_us"], s["claim_tx"]["cpu_us"],
                s["stats"]["wall_us"], s["stats"]["cpu_us"], s["next_due"]["wall_us"],
                s["next_due"]["cpu_us"], s["enqueue"]["wall_us"], s["enqueue"]["cpu_us"]))
    base = sizes[0]
    lines.append("### mp-scale (%s%% pending, %s layout, medians of %s)\n" % (
        doc["pending_pct"], doc["layout"], doc["reps"]))
    lines.append("| rows | db MB | claim(100)+100 confirms, tx: wall / cpu | x (cpu) "
                 "| stats wall / cpu | x (cpu) | next_due cpu | enqueue wall / cpu "
                 "| foreign id cpu | recover: rows, wall / cpu, heap |")
    lines.append("|---:|---:|---|---:|---|---:|---:|---|---:|---|")
    for s in sizes:
        rec = s["recover"]
        lines.append("| %d | %.0f | %.2f ms / %.2f ms | %.2fx | %.0f us / %.0f us | %.2fx "
                     "| %s | %.0f us / %.0f us | %s | %d, %.2f s / %.2f s, %s MB |" % (
                         s["rows"], s["db_bytes"] / 1e6, s["claim_tx"]["wall_us"] / 1000,
                         s["claim_tx"]["cpu_us"] / 1000,
                         s["claim_tx"]["cpu_us"] / base["claim_tx"]["cpu_us"],
                         s["stats"]["wall_us"], s["stats"]["cpu_us"],
                         s["stats"]["cpu_us"] / base["stats"]["cpu_us"],
                         micros(s["next_due"]["cpu_us"]), s["enqueue"]["wall_us"],
                         s["enqueue"]["cpu_us"], micros(s["foreign_id"]["cpu_us"]),
                         rec["rows"], rec["wall_s"], rec["cpu_s"],
                         "%.1f" % rec["heap_mb"] if "heap_mb" in rec else "?"))
    lines.append("")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py RESULTS_DIR BENCH_DIR")
    results = sys.argv[1]
    lines = []
    bench_table(results, lines)
    enqueue_batch(results, lines)
    scale(results, lines)
    with open(os.path.join(results, "tables.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
