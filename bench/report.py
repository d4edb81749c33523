"""The closing table of `python -m bench`: every goal, what was measured, met or not."""
from __future__ import annotations

import json
import os


def rows(result: dict) -> list:
    """(metric, measured, goal, met or None) rows; the first two benches report plain numbers."""
    if "rows" in result:
        return list(result["rows"])
    if "us_per_signature" in result:
        return [("signing core (us per signature)", f"{result['us_per_signature']:.1f} us", f"<= {result['goal']:.0f} us",
                 result["met"])]
    if "ratio" in result:
        return [("/generate_signature vs trivial route, werkzeug (req/s ratio)", f"{result['ratio']:.2f}",
                 f">= {result['goal']}", result["met"])]
    return []


def print_table(results: list) -> None:
    table = [row for result in results for row in rows(result)]
    widths = [max(len(str(row[i])) for row in table + [("metric", "measured", "goal")]) for i in range(3)]
    line = "  ".join("{:<%d}" % w for w in widths) + "  {}"
    print()
    print(line.format("metric", "measured", "goal", "result"))
    print(line.format(*("-" * w for w in widths), "------"))
    for metric, measured, goal, met in table:
        print(line.format(metric, measured, goal, "-" if met is None else ("met" if met else "NOT met")))


def save(results: list, size_name: str) -> None:
    """With BENCH_JSON=<path>, keep the raw results (docs/performance.md and its charts use them)."""
    path = os.environ.get("BENCH_JSON")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"size": size_name, "results": results}, handle, ensure_ascii=False, indent=1, default=str)
