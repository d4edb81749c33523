"""Start-up time and memory of the server per credential mode, and which SDKs each mode loads.

Each mode starts in a fresh interpreter: import `server`, `create_app()` from the environment,
then report the time, the peak RSS and the heavy modules in sys.modules. Non-loopback connections
are refused in the child, so ecs_ram_role's first metadata fetch fails at once instead of
reaching out (start-up never waits for it anyway).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from .gunicorn_run import REPO

HEAVY = ("alibabacloud_sts20150401", "alibabacloud_credentials", "alibabacloud_tea_openapi", "aiohttp")
MODES = {
    "local": {"CREDENTIALS_TYPE": "local"},
    "ram_role_arn": {
        "CREDENTIALS_TYPE": "ram_role_arn", "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tBenchAccessKeyId",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "bench-long-term-secret",
        "ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1234567890123456:role/bench", "STS_ENDPOINT": "http://127.0.0.1:9",
    },
    "ecs_ram_role": {"CREDENTIALS_TYPE": "ecs_ram_role", "ALIBABA_CLOUD_ECS_METADATA": "bench-role"},
}
RUNS = {"tiny": 1, "small": 3, "full": 5}
GOAL_SECONDS = 0.5  # local mode, import + create_app(): what `make run` waits for before it listens

CHILD = r"""
import ipaddress, json, socket, sys, time
started = time.perf_counter()
real = socket.socket.connect
def loopback_only(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
        raise ConnectionRefusedError("bench: loopback only")
    return real(self, address)
socket.socket.connect = loopback_only
from server import create_app
create_app()
seconds = time.perf_counter() - started
with open("/proc/self/status") as handle:
    status = dict(line.split(":", 1) for line in handle)
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps({"seconds": seconds, "peak_rss_mib": int(status["VmHWM"].split()[0]) / 1024, "heavy": heavy}))
"""


def measure(mode: str, runs: int) -> dict:
    samples = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as workdir:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "OSS_", "STS_", "CREDENTIALS_"))}
        env = {**clean, "AUTH_REQUIRED": "false", "OSS_BUCKET": "bench-bucket", "LOCAL_OSS_DIR": os.path.join(workdir, "oss"),
               "DATABASE_URL": f"sqlite:///{os.path.join(workdir, 'uploads.sqlite3')}", "PYTHONPATH": str(REPO), **MODES[mode]}
        for _ in range(runs):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, ",".join(HEAVY)], cwd=workdir, env=env,
                                 capture_output=True, text=True, timeout=60, check=True).stdout
            sample = json.loads(out.strip().splitlines()[-1])
            sample["process_seconds"] = time.perf_counter() - started  # interpreter start and exit too
            samples.append(sample)
    return {
        "mode": mode,
        "seconds": statistics.median(s["seconds"] for s in samples),
        "process_seconds": statistics.median(s["process_seconds"] for s in samples),
        "peak_rss_mib": statistics.median(s["peak_rss_mib"] for s in samples),
        "heavy": samples[0]["heavy"],
    }


def run(size) -> dict:
    results = [measure(mode, RUNS[size.name]) for mode in MODES]
    local = results[0]
    no_sdk = not {"alibabacloud_sts20150401", "alibabacloud_credentials"} & set(local["heavy"])
    fast = local["seconds"] <= GOAL_SECONDS
    met = no_sdk and fast
    print(f"start-up (import server + create_app(), fresh interpreter, median of {RUNS[size.name]}):")
    for r in results:
        print(f"  {r['mode']:>12}: {r['seconds'] * 1000:,.0f} ms ({r['process_seconds'] * 1000:,.0f} ms with the "
              f"interpreter), peak RSS {r['peak_rss_mib']:.0f} MiB, "
              f"SDKs loaded: {', '.join(r['heavy']) or 'none'}")
    print(f"  goal: local mode loads no cloud SDK -> {'met' if no_sdk else 'NOT met'}; local mode within "
          f"{GOAL_SECONDS * 1000:,.0f} ms -> {'met' if fast else 'NOT met'}")
    return {
        "name": "startup", "modes": results, "met": met,
        "rows": [(f"start-up {r['mode']}: time, peak RSS", f"{r['seconds'] * 1000:,.0f} ms, {r['peak_rss_mib']:.0f} MiB",
                  f"local: no cloud SDK, <= {GOAL_SECONDS * 1000:,.0f} ms" if r is local else "-",
                  met if r is local else None)
                 for r in results],
    }
