"""The local OSS emulator: MB/s and peak memory growth for large streamed uploads, one PostObject
form and multipart (bench/emulator_memory.py does the measuring, in a child process)."""
from __future__ import annotations

from . import emulator_memory

GOAL_GROWTH_MIB = 64.0
# Upload sizes in MiB; tiny only proves the path works.
PLAN = {"tiny": (8, 32), "small": (256,), "full": (256, 1024)}
# Multipart uploads (8 MiB parts, then CompleteMultipartUpload), the same sizes for the comparison.
MULTIPART_PLAN = {"tiny": (8,), "small": (256,), "full": (256, 1024)}


def run(size) -> dict:
    results = []
    plan = [(size_mib, False) for size_mib in PLAN[size.name]] + [(m, True) for m in MULTIPART_PLAN[size.name]]
    for size_mib, multipart in plan:
        result = emulator_memory.measure(size_mib, multipart)
        if result["status"] != 200 or result["stored_bytes"] != size_mib * emulator_memory.MIB:
            raise RuntimeError(f"{size_mib} MiB upload failed: {result}")
        results.append(result)
    met = all(r["growth_mib"] <= GOAL_GROWTH_MIB for r in results)
    print("local OSS emulator (streamed PostObject / multipart, werkzeug threaded, peak RSS of the server process):")
    for r in results:
        print(f"  {r['size_mib']:>5} MiB {r['mode']:>9}: {r['mib_per_second']:,.0f} MiB/s, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB, growth {r['growth_mib']:.1f} MiB")
    print(f"  goal: growth <= {GOAL_GROWTH_MIB:.0f} MiB whatever the size -> {'met' if met else 'NOT met'}")
    return {
        "name": "emulator", "uploads": results, "met": met,
        "rows": [(f"emulator {r['size_mib']} MiB {r['mode']} upload: MiB/s, memory growth",
                  f"{r['mib_per_second']:,.0f} MiB/s, +{r['growth_mib']:.1f} MiB", f"<= {GOAL_GROWTH_MIB:.0f} MiB",
                  r["growth_mib"] <= GOAL_GROWTH_MIB) for r in results],
    }
