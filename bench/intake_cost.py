"""What one `POST /api/v1/irritants` costs the web process: SQL statements and CPU time.

In-process (Flask test client, no HTTP server, no gunicorn), so that it can run on a
busy machine: it prints the statements of one logging, the mean statements per
logging and the milliseconds per logging over a batch, and optionally a cProfile of
the batch. Deliveries are not performed here: with Redis the jobs stay queued (the
Redis database is emptied afterwards), without Redis the app's in-process runner is
not started and the e-mail jobs are left out, as a web worker hands them to its
runner thread.

    .venv/bin/python bench/intake_cost.py --database postgresql+psycopg://postgres@127.0.0.1:5432/x
    .venv/bin/python bench/intake_cost.py --database ... --redis redis://127.0.0.1:6379/13
    .venv/bin/python bench/intake_cost.py --database ... --idempotent --profile 30

The database must exist and be empty or hold this script's schema: every table is
dropped and created again, then the bench's generated retailer (bench/http.py) is imported.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import pstats
import random
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ first on the path would make bench/http.py shadow the stdlib's `http`.
sys.path[0] = str(ROOT)

from redis import Redis  # noqa: E402
from sqlalchemy import event  # noqa: E402

from config import Config  # noqa: E402
from irritants import create_app, jobs  # noqa: E402
from irritants.extensions import db  # noqa: E402


def bench_http() -> Any:
    """bench/http.py, loaded under another name (as `http` it would shadow the stdlib's)."""
    spec = importlib.util.spec_from_file_location("bench_http", ROOT / "bench" / "http.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    spec.loader.exec_module(module)
    sys.path[:] = path
    return module


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL of a throw-away db")
    parser.add_argument("--redis", help="REDIS_URL (a database other than 0), else no Redis")
    parser.add_argument("--count", type=int, default=500, help="loggings timed")
    parser.add_argument("--idempotent", action="store_true", help="send an Idempotency-Key")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N most costly functions (cumulative) of the batch")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (e.g. tottime)")
    parser.add_argument("--callers", help="also print who calls the functions matching this")
    parser.add_argument("--show", action="store_true", help="print one logging's statements")
    args = parser.parse_args()

    http = bench_http()
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=args.database, REDIS_URL=args.redis,
                     RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=False,
                     RUN_INPROCESS_SCHEDULER=False, MAIL_BACKEND="locmem",
                     ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024, ARGON2_PARALLELISM=1)
    if args.redis is None:
        # A serving process hands the e-mail jobs to its runner thread: not this request's cost.
        jobs.enqueue = lambda *_args, **_kwargs: True  # type: ignore[assignment]
    with app.app_context():
        db.drop_all()
        db.create_all()
        from irritants.services.org_admin import import_org

        import_org(http.generated_org(regions=10, stores_per_region=20))
        db.session.remove()
    stores = [f"store-{r}-{s}" for r in range(10) for s in range(20)]
    categories = [category[0] for category in http.CATEGORIES]
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"email": "agent@bench.test",
                                                "password": http.PASSWORD}).get_json()["token"]
    rng = random.Random(7)

    def log_one(i: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if args.idempotent:
            headers["Idempotency-Key"] = secrets.token_hex(16)
        body = {"category": rng.choice(categories), "severity": rng.choice(http.SEVERITIES_KEYS),
                "amount": rng.choice([0, 40, 400]), "description": f"Bench irritant {i}",
                "origin_unit": rng.choice(stores)}
        answer = client.post("/api/v1/irritants", data=json.dumps(body), headers=headers,
                             content_type="application/json")
        if answer.status_code != 201:
            raise RuntimeError(f"{answer.status_code} {answer.get_data(as_text=True)[:300]}")

    for i in range(20):  # warm the caches (org snapshot, statement cache, templates)
        log_one(i)
    with app.app_context(), recorded_statements() as seen:
        log_one(-1)
    if args.show:
        for statement in seen:
            print("   ", statement[:160])
    with app.app_context(), recorded_statements() as seen:
        for i in range(50):
            log_one(1000 + i)
    per_logging = len(seen) / 50
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    started = time.process_time()
    wall = time.perf_counter()
    if profiler:
        profiler.enable()
    for i in range(args.count):
        log_one(10_000 + i)
    if profiler:
        profiler.disable()
    cpu_ms = (time.process_time() - started) * 1000 / args.count
    wall_ms = (time.perf_counter() - wall) * 1000 / args.count
    print(f"redis={'yes' if args.redis else 'no'} idempotency-key={args.idempotent}: "
          f"{per_logging:.1f} statements per logging, {cpu_ms:.2f} ms CPU and "
          f"{wall_ms:.2f} ms wall per logging (client included) over {args.count}")
    if profiler:
        stats = pstats.Stats(profiler).sort_stats(args.sort)
        stats.print_stats(args.profile)
        if args.callers:
            stats.print_callers(args.callers)
    if args.redis:
        Redis.from_url(args.redis).flushdb()
    with app.app_context():
        db.drop_all()


if __name__ == "__main__":
    main()
