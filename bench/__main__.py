"""`python -m bench [tiny|small|full]` (or BENCH_SIZE=...): the signer's performance goals.

Prints the measurements and whether each goal was met; the exit code is 0 either way, since a
busy machine is not a broken build.
"""
from __future__ import annotations

import sys

from . import (emulator_throughput, gunicorn_routes, gunicorn_workers, http_routes, keyset_pages, multipart_resume,
               records_routes, report, signing_core, startup, tutorial_compare)
from .sizes import pick

BENCHES = (signing_core, http_routes, records_routes, keyset_pages, gunicorn_routes, tutorial_compare,
           gunicorn_workers, emulator_throughput, multipart_resume, startup)


def main(argv) -> int:
    size = pick(argv)
    print(f"bench size: {size.name}")
    results = [bench.run(size) for bench in BENCHES]
    report.print_table(results)
    report.save(results, size.name)
    print("all goals met" if all(r["met"] for r in results) else "some goals NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
