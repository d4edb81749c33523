"""我的文件 at scale: page 1 and a deep page of one heavy user among a million records, on SQLite
and on MariaDB (the throwaway server of tests/mariadb.py; skipped with one line where mariadbd is
not installed). `Database.list_uploads` is what the route runs; the plan of both pages is printed
(EXPLAIN) for docs/performance.md.

The rows are seeded straight into `uploads`: every tenth record is the heavy user's, the others
belong to users of a hundred files each. Goal: the deep page's median at most 1.5x page 1's.
"""
from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from server.db import Database, uploads

GOAL_RATIO = 1.5
PAGE = 20  # the mini-program's page size; list_uploads is asked one more
HEAVY = "f" * 24
# (rows, the heavy user's share 1 in N, the deep page's number, timed calls per page)
PLAN = {"tiny": (2_000, 10, 8, 30), "small": (100_000, 10, 400, 200), "full": (1_000_000, 10, 1_000, 400)}
BATCH = 10_000


def _rows(start: int, count: int, every: int):
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n in range(start, start + count):
        folder = HEAVY if n % every == 0 else f"{n // (every * 100):024x}"
        key = f"uploads/{folder}/2026/01/01/{n:08d}.jpg"
        yield {"bucket": "bench-bucket", "object_key": key,
               "key_hash": hashlib.sha256(f"bench-bucket/{key}".encode()).hexdigest(), "user_folder": folder,
               "name": f"{n}.jpg", "size": 1000 + n % 5000, "etag": f"{n:032X}", "content_type": "image/jpeg",
               "created_at": created + timedelta(seconds=n)}


def _seed(db: Database, rows: int, every: int) -> float:
    started = time.perf_counter()
    db.ensure_tables()
    statement = insert(uploads)
    with db.engine.connect() as conn:
        for start in range(1, rows + 1, BATCH):
            with conn.execution_options(write=True).begin():
                conn.execute(statement, list(_rows(start, min(BATCH, rows + 1 - start), every)))
    return time.perf_counter() - started


def _p50_ms(call, samples: int) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(db: Database, rows: int, every: int, deep: int, samples: int) -> dict:
    seeded = _seed(db, rows, every)
    # The cursor of the deep page: the id of the last record on the page before it (found by walking).
    before = None
    for _ in range(deep - 1):
        before = db.list_uploads(HEAVY, PAGE, before)[-1].id
    pages = {"first": None, "deep": before}
    for cursor in pages.values():  # warm the caches both pages use
        _p50_ms(lambda: db.list_uploads(HEAVY, PAGE + 1, cursor), 5)
    p50 = {name: _p50_ms(lambda: db.list_uploads(HEAVY, PAGE + 1, cursor), samples) for name, cursor in pages.items()}
    plans = {name: db.explain_list_uploads(HEAVY, PAGE + 1, cursor) for name, cursor in pages.items()}
    result = {"seconds_to_seed": seeded, "first_ms": p50["first"], "deep_ms": p50["deep"],
              "ratio": p50["deep"] / p50["first"], "explain": plans}
    if db.url.get_backend_name() in ("mysql", "mariadb"):
        # For comparison only: the same deep page without the index hint, as the optimizer plans it.
        bare = (select(uploads).where(uploads.c.user_folder == HEAVY, uploads.c.id < before)
                .order_by(uploads.c.id.desc()).limit(PAGE + 1))
        result["deep_unhinted_ms"] = _p50_ms(lambda: db._run(lambda conn: conn.execute(bare).all()), max(5, samples // 10))
    return result


def _sqlite(rows, every, deep, samples) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-keyset-") as folder:
        db = Database(f"sqlite:///{Path(folder) / 'uploads.sqlite3'}")
        try:
            return measure(db, rows, every, deep, samples)
        finally:
            db.close()


def _mariadb(rows, every, deep, samples):
    from tests.mariadb import MariaDB, find_mariadbd

    binary = find_mariadbd()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-mariadb-") as folder:
        server = MariaDB(binary, Path(folder), buffer_pool="512M")
        server.start()
        try:
            db = Database(server.new_database("bench"))
            try:
                result = measure(db, rows, every, deep, samples)
                result["version"] = db._run(lambda conn: conn.exec_driver_sql("SELECT VERSION()").scalar())
                return result
            finally:
                db.close()
        finally:
            server.stop()


def _plan_text(rows: list) -> str:
    if rows and "detail" in rows[0]:  # SQLite
        return "; ".join(row["detail"] for row in rows)
    return "; ".join(f"type={row.get('type')} key={row.get('key')} key_len={row.get('key_len')} ref={row.get('ref')} "
                     f"rows={row.get('rows')} Extra={row.get('Extra')}" for row in rows)


def run(size) -> dict:
    rows, every, deep, samples = PLAN[size.name]
    results = {"sqlite": _sqlite(rows, every, deep, samples), "mariadb": _mariadb(rows, every, deep, samples)}
    print(f"keyset pages (Database.list_uploads, {PAGE + 1} rows asked; {rows:,} records, one user with "
          f"{rows // every:,}; page 1 vs page {deep:,}; median of {samples} calls each):")
    met = {}
    for name, r in results.items():
        if r is None:
            print(f"  {name}: skipped (mariadbd not installed; `make test` unpacks it into .venv)")
            continue
        met[name] = r["ratio"] <= GOAL_RATIO
        label = f"{name} {r['version']}" if "version" in r else name
        print(f"  {label}: seeded in {r['seconds_to_seed']:.0f} s; page 1 {r['first_ms']:.2f} ms, page {deep:,} "
              f"{r['deep_ms']:.2f} ms = {r['ratio']:.2f}x; goal <= {GOAL_RATIO}x -> {'met' if met[name] else 'NOT met'}")
        print(f"    EXPLAIN page 1: {_plan_text(r['explain']['first'])}")
        print(f"    EXPLAIN page {deep:,}: {_plan_text(r['explain']['deep'])}")
        if "deep_unhinted_ms" in r:
            print(f"    for comparison, page {deep:,} without the index hint: {r['deep_unhinted_ms']:.2f} ms")
    return {"name": "keyset_pages", "records": rows, "heavy_records": rows // every, "deep_page": deep, "results": results,
            "met": all(met.values()),
            "rows": [(f"list page {deep:,} vs page 1 ({rows:,} records), {name} (p50 ratio)",
                      f"{results[name]['ratio']:.2f}x ({results[name]['deep_ms']:.2f} / {results[name]['first_ms']:.2f} ms)",
                      f"<= {GOAL_RATIO}x", ok) for name, ok in met.items()]}
