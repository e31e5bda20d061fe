#!/usr/bin/env python3
"""Load on the hub service: simulated learners send ticks the way the kernel's sender does.

    .venv/bin/python bench/hub_load.py                    # 200 learners x 50 ticks, SQLite then PostgreSQL
    .venv/bin/python bench/hub_load.py --batch 1 --backend postgresql
    .venv/bin/python bench/hub_load.py --batch 1 --flood  # while one more learner floods the service

Needs what `bash scripts/test` sets up: .venv, configurable-http-proxy under .venv/node, postgresql.

For each backend it starts a real JupyterHub with the companion service on the loopback address
(tests/hubkit.py; PostgreSQL in a fresh cluster with its default durability, fsync on), gives each
learner a hub-issued token with a single-user server's scopes, and sends every learner's ticks
through `companion.kernel.sender.Channel` (the sender's kept-alive connection), `--batch` ticks per
request, `--concurrency` learners at a time, each ticking items of the catalog (the service takes
no others). The first request of each learner includes the service's check of the token with the
hub. With `--flood`, one more learner sends, as fast as one connection goes, bodies over the size
limit, 1,000 rows outside the catalog, 100,000-deep JSON and a 401-digit number. Prints ticks/s
accepted, request latency p50/p95 and the ticks lost (sent but not in the database afterwards).
Bounded: `--max-seconds` per backend. Everything (hub, proxy, service, database, this client)
shares the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hubkit import CATALOG_PATH, Hub, Postgres  # noqa: E402

from companion.course.catalog import load  # noqa: E402
from companion.hub import db  # noqa: E402
from companion.kernel.sender import Channel  # noqa: E402
from companion.learner.tally import lesson_items  # noqa: E402


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
        cat = load(CATALOG_PATH)  # the service takes only items of its catalog
        items = [(c.id, lesson.id, item) for c in cat.courses.values() for lesson in c.ordered()
                 for item, _ in lesson_items(cat, lesson)]
        latencies: list[tuple[bool, float]] = []  # (first request of its learner, seconds)
        failures: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds
        stop = threading.Event()
        flood = threading.Thread(target=flooder, args=(hub, deadline, stop)) if args.flood else None
        if flood:
            flood.start()

        def learner(n: int) -> None:
            channel = Channel(hub.service_url, tokens[n])
            ticks = [{"course": c, "lesson": l, "item": i, "done": True, "changed_at": time.time()}
                     for c, l, i in items[:args.ticks]]
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
        stop.set()
        if flood:
            flood.join()
        stored = db.count(db.engine_for(url))
        expected = args.learners * min(args.ticks, len(items))
        every = sorted(s for _, s in latencies)
        warm = sorted(s for first, s in latencies if not first)
        cold = sorted(s for first, s in latencies if first)
        return {"backend": backend, "flood": FLOOD["sent"], "requests": len(latencies), "wall_s": wall,
                "ticks_per_s": stored / wall,
                "p50_ms": _ms(every, 0.5), "p95_ms": _ms(every, 0.95), "warm_p50_ms": _ms(warm, 0.5),
                "warm_p95_ms": _ms(warm, 0.95), "cold_p95_ms": _ms(cold, 0.95),
                "lost": expected - stored, "failures": len(failures), "first_failure": failures[:1]}
    finally:
        hub.stop()
        if pg:
            pg.stop()


FLOOD = {"sent": 0}  # requests the flooding learner made


def flooder(hub: Hub, deadline: float, stop: threading.Event) -> None:
    """One hostile learner with a valid token, as fast as one connection goes: bodies over the limit,
    1,000 rows outside the catalog, JSON nested 100,000 deep, a 401-digit number; each answer is read."""
    import requests

    token = hub.user_token("flooder")
    junk = [{"course": "junk", "lesson": "l", "item": f"i{k}", "done": True, "changed_at": 1.0} for k in range(1000)]
    huge = b'{"ticks": [{"course": "c", "lesson": "l", "item": "i", "done": true, "changed_at": 1' + b"0" * 400
    bodies = [b"x" * (3 * 2**20), json.dumps({"ticks": junk}).encode(), b"[" * 100_000, huge + b"}]}"]
    session = requests.Session()
    while not stop.is_set() and time.monotonic() < deadline:
        for body in bodies:
            try:
                session.post(hub.service_url + "api/ticks", data=body, timeout=30,
                             headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
            except requests.RequestException:
                session = requests.Session()  # the service closed it (a body over the limit)
            FLOOD["sent"] += 1


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
    p.add_argument("--flood", action="store_true", help="one more learner floods the service with hostile requests")
    args = p.parse_args()
    print(f"{args.learners} learners x {args.ticks} ticks, {args.batch} per request, {args.concurrency} at a time"
          + (", while one more learner floods the service" if args.flood else ""))
    for backend in args.backend or ["sqlite", "postgresql"]:
        r = run(backend, args)
        print(f"{r['backend']:<11} {r['ticks_per_s']:8.0f} ticks/s accepted  {r['requests']} requests in "
              f"{r['wall_s']:.2f} s  p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms (after a learner's first "
              f"request: p50 {r['warm_p50_ms']:.1f}, p95 {r['warm_p95_ms']:.1f}; first requests, token checked "
              f"with the hub: p95 {r['cold_p95_ms']:.1f})  lost {r['lost']}  "
              f"failed requests {r['failures']} {r['first_failure'] or ''}"
              + (f"  flooding requests {r['flood']}" if args.flood else ""), flush=True)


if __name__ == "__main__":
    main()
