"""Charts for docs/performance.md from a saved bench run (needs the `bench` extra: matplotlib).

    BENCH_JSON=/tmp/bench.json python -m bench full
    python -m bench.charts /tmp/bench.json docs/
"""
from __future__ import annotations

import json
import os
import sys


def _by_name(results: list) -> dict:
    return {r.get("name"): r for r in results if isinstance(r, dict)}


def _label_bars(axis, xs, values, fmt: str) -> None:
    for x, value in zip(xs, values):
        axis.annotate(fmt.format(value), (x, value), ha="center", va="bottom", fontsize=8)


def _records_keyset_workers(plt, results: dict, out_dir: str):
    """The record routes next to signing, the keyset pages at scale, 1 vs 2 gunicorn workers."""
    records, keyset, workers = results.get("records"), results.get("keyset_pages"), results.get("gunicorn_workers")
    if not (records and keyset and workers):
        return None
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.8))
    names = ["sign", "list", "callback", "confirm"]
    labels = ["/generate_\nsignature", f"/api/files\n({records['list_urls']} URLs)", "oss-callback", "confirm"]
    rps = [records[f"{name}_rps"] for name in names]
    left.bar(labels, rps, color=["#2f7ed8", "#8bbc21", "#910000", "#f28f43"])
    _label_bars(left, range(len(rps)), rps, "{:,.0f}")
    left.set_ylabel("requests/s (median of rounds)")
    left.set_title("record routes (werkzeug, 1 client, quota on)", fontsize=10)
    backends = [name for name, r in keyset["results"].items() if r]
    width = 0.35
    for offset, (key, label) in enumerate((("first_ms", "page 1"), ("deep_ms", f"page {keyset['deep_page']:,}"))):
        xs = [i + offset * width for i in range(len(backends))]
        values = [keyset["results"][name][key] for name in backends]
        middle.bar(xs, values, width, label=label)
        _label_bars(middle, xs, values, "{:.2f}")
    middle.set_xticks([i + width / 2 for i in range(len(backends))], backends)
    middle.set_ylabel("ms (median)")
    middle.set_title(f"keyset pages, {keyset['records']:,} records", fontsize=10)
    middle.legend()
    counts = [str(n) for n in workers["rps"]]
    values = list(workers["rps"].values())
    right.bar([f"{n} worker(s)" for n in counts], values, color=["#999999", "#2f7ed8"])
    _label_bars(right, range(len(values)), values, "{:,.0f}")
    right.set_ylabel("signing requests/s")
    right.set_title(f"gunicorn workers ({workers['ratio']:.2f}x, 2 cores shared)", fontsize=10)
    figure.tight_layout()
    path = os.path.join(out_dir, "perf-records-scale.png")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw(results_path: str, out_dir: str) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(results_path, encoding="utf-8") as handle:
        results = _by_name(json.load(handle)["results"])
    written = []

    compare = results.get("tutorial_compare")
    if compare:
        ours, tutorial = compare["ours"], compare["tutorial"]
        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        labels = ["ours\n(cached STS)", "tutorial\n(AssumeRole per request)"]
        colors = ["#2f7ed8", "#c0504d"]
        left.bar(labels, [ours["sequential"]["p50_ms"], tutorial["sequential"]["p50_ms"]], color=colors)
        left.set_yscale("log")
        left.set_ylabel("ms (log scale)")
        left.set_title("median latency, sequential requests")
        right.bar(labels, [ours["concurrent"]["rps"], tutorial["concurrent"]["rps"]], color=colors)
        right.set_ylabel("requests/s")
        right.set_title("8 concurrent connections")
        for axis, values, fmt in ((left, [ours["sequential"]["p50_ms"], tutorial["sequential"]["p50_ms"]], "{:.2f} ms"),
                                  (right, [ours["concurrent"]["rps"], tutorial["concurrent"]["rps"]], "{:,.0f}")):
            _label_bars(axis, range(len(values)), values, fmt)
        pinned = ", server and client on separate cores" if compare.get("pinned") else ""
        figure.suptitle(f"STS stand-in answering in 50 ms, gunicorn deploy config{pinned}", fontsize=11)
        figure.tight_layout()
        path = os.path.join(out_dir, "perf-vs-tutorial.png")
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)

    routes = results.get("gunicorn_routes")
    if routes:
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        names = ["sign", "fixed", "ping"]
        labels = ["/generate_signature", "/bench/fixed\n(same-size JSON)", "/bench/ping\n(tiny JSON)"]
        rps = [routes[name]["rps"] for name in names]
        left.bar(labels, rps, color=["#2f7ed8", "#999999", "#cccccc"])
        _label_bars(left, range(len(rps)), rps, "{:,.0f}")
        left.set_ylabel("requests/s (median of rounds)")
        left.set_title(f"throughput (ratio vs same-size {routes['ratio']:.2f})")
        width = 0.35
        for offset, (name, key) in enumerate((("p50", "p50_ms"), ("p99", "p99_ms"))):
            right.bar([i + offset * width for i in range(3)], [routes[n][key] for n in names], width, label=name)
        right.set_xticks([i + width / 2 for i in range(3)], labels)
        right.set_ylabel("ms")
        right.set_title(f"latency, {routes['connections']} connections")
        right.legend()
        pinned = "server and load generator on separate cores" if routes.get("pinned") else "not pinned"
        figure.suptitle(f"same app under gunicorn (deploy config), loopback, {routes['tool']}, {pinned}")
        figure.tight_layout()
        path = os.path.join(out_dir, "perf-routes.png")
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    path = _records_keyset_workers(plt, results, out_dir)
    if path:
        written.append(path)
    return written


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        written = draw(argv[0], argv[1])
    except ImportError:
        print("matplotlib 未安装：pip install -e '.[bench]'", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
