#!/usr/bin/env python3
"""Load on the hub service: simulated learners send ticks the way the kernel's sender does.

    .venv/bin/python bench/hub_load.py                    # 200 learners x 50 ticks, SQLite then PostgreSQL
    .venv/bin/python bench/hub_load.py --batch 1 --backend postgresql

Needs what `bash scripts/test` sets up: .venv, configurable-http-proxy under .venv/node, postgresql.

For each backend it starts a real JupyterHub with the companion service on the loopback address
(tests/hubkit.py; PostgreSQL in a fresh cluster with its default durability, fsync on), gives each
learner a hub-issued token with a single-user server's scopes, and sends every learner's ticks
through `companion.hub.client.Channel` (the sender's kept-alive connection), `--batch` ticks per
request, `--concurrency` learners at a time. The first request of each learner includes the
service's check of the token with the hub. Prints ticks/s accepted, request latency p50/p95 and
the ticks lost (sent but not in the database afterwards). Bounded: `--max-seconds` per backend.
Everything (hub, proxy, service, database, this client) shares the machine's cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hubkit import CATALOG_PATH, Hub, Postgres  # noqa: E402

from companion.hub import db  # noqa: E402
from companion.hub.client import Channel  # noqa: E402


def run(backend: str, args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"companion-bench-{backend}-"))
    pg = Postgres(fsync=True) if backend == "postgresql" else None
    url = pg.url if pg else f"sqlite:///{work}/companion.sqlite"
    hub = Hub(work / "hub", url, CATALOG_PATH)
    hub.start()
    try:
        names = [f"learner-{n:04d}" for n in range(args.learners)]
        hub.api("POST", "/users", json={"usernames": names})
        tokens = [hub.user_token(name) for name in names]
        latencies: list[tuple[bool, float]] = []  # (first request of its learner, seconds)
        failures: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds

        def learner(n: int) -> None:
            channel = Channel(hub.service_url, tokens[n])
            ticks = [{"course": "bench", "lesson": f"lesson-{k // 10}", "item": f"item-{k}", "done": True,
                      "changed_at": time.time()} for k in range(args.ticks)]
            mine = []
            for start in range(0, len(ticks), args.batch):
                if time.monotonic() > deadline:
                    failures.append(f"{names[n]}: out of time")
                    break
                t0 = time.perf_counter()
                try:
                    channel.post(ticks[start:start + args.batch])
                except Exception as e:  # noqa: BLE001 - a failure is counted, the run goes on
                    with lock:
                        failures.append(f"{names[n]}: {e}")
                    continue
                mine.append((start == 0, time.perf_counter() - t0))
            channel.close()
            with lock:
                latencies.extend(mine)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(learner, range(args.learners)))
        wall = time.perf_counter() - t0
        stored = db.count(db.engine_for(url))
        expected = args.learners * args.ticks
        every = sorted(s for _, s in latencies)
        warm = sorted(s for first, s in latencies if not first)
        cold = sorted(s for first, s in latencies if first)
        return {"backend": backend, "requests": len(latencies), "wall_s": wall, "ticks_per_s": stored / wall,
                "p50_ms": _ms(every, 0.5), "p95_ms": _ms(every, 0.95), "warm_p50_ms": _ms(warm, 0.5),
                "warm_p95_ms": _ms(warm, 0.95), "cold_p95_ms": _ms(cold, 0.95),
                "lost": expected - stored, "failures": len(failures), "first_failure": failures[:1]}
    finally:
        hub.stop()
        if pg:
            pg.stop()


def _ms(sorted_seconds: list[float], q: float) -> float:
    return 1000 * sorted_seconds[int(q * (len(sorted_seconds) - 1))] if sorted_seconds else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--learners", type=int, default=200)
    p.add_argument("--ticks", type=int, default=50, help="ticks per learner")
    p.add_argument("--batch", type=int, default=10, help="ticks per request (the sender sends what piled up)")
    p.add_argument("--concurrency", type=int, default=50, help="learners sending at the same time")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = p.parse_args()
    print(f"{args.learners} learners x {args.ticks} ticks, {args.batch} per request, {args.concurrency} at a time")
    for backend in args.backend or ["sqlite", "postgresql"]:
        r = run(backend, args)
        print(f"{r['backend']:<11} {r['ticks_per_s']:8.0f} ticks/s accepted  {r['requests']} requests in "
              f"{r['wall_s']:.2f} s  p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms (after a learner's first "
              f"request: p50 {r['warm_p50_ms']:.1f}, p95 {r['warm_p95_ms']:.1f}; first requests, token checked "
              f"with the hub: p95 {r['cold_p95_ms']:.1f})  lost {r['lost']}  "
              f"failed requests {r['failures']} {r['first_failure'] or ''}", flush=True)


if __name__ == "__main__":
    main()
