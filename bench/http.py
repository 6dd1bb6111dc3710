"""HTTP benchmark: gunicorn (2 workers) on PostgreSQL or SQLite at 100,000 and 1,000,000 irritants.

Prints, per size: irritants logged per second through the API with 1 and 4
clients and their p50/p95 latency; p50/p95 of the queue page, the irritant
page and the list API; the RSS of the gunicorn workers. Figures only: no
assertion, these machines are noisy.

    .venv/bin/python bench/http.py                       # PostgreSQL, 100k then 1M
    .venv/bin/python bench/http.py --sizes 100000 --sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-42"
CATEGORIES = [
    ("late-delivery", "delivery", "gesture", ["carrier-portal"]),
    ("refund-refused", "product", "refund", ["refund-terminal"]),
    ("billing-error", "billing", "refund", ["crm"]),
    ("unwelcoming", "service", None, []),
    ("app-crash", "digital", None, ["app-admin"]),
]


def generated_org(stores_per_region: int = 20, regions: int = 10) -> dict[str, object]:
    """A retailer of about 1 + 3 + regions * (stores + 1) units, with bench users."""
    units: list[dict[str, object]] = [
        {"key": "hq", "name": "Siège", "parent": None,
         "competencies": ["billing", "delivery", "product", "service", "digital"],
         "authorities": {"gesture": None, "refund": None}, "tools": ["crm", "erp"]},
        {"key": "cs", "name": "Service client", "parent": "hq",
         "competencies": ["billing", "delivery", "product", "service"],
         "authorities": {"gesture": 1000, "refund": 2000}, "tools": ["crm", "carrier-portal"]},
        {"key": "digital", "name": "Digital", "parent": "hq", "competencies": ["digital"],
         "authorities": {"gesture": 100}, "tools": ["app-admin"]},
        {"key": "logistics", "name": "Logistique", "parent": "hq", "competencies": ["delivery"],
         "authorities": {"gesture": 200}, "tools": ["carrier-portal", "wms"]},
    ]
    for r in range(regions):
        region = f"region-{r}"
        units.append({"key": region, "name": f"Région {r}", "parent": "cs",
                      "competencies": ["billing", "product", "service", "delivery"],
                      "authorities": {"gesture": 300, "refund": 500}, "tools": ["crm"]})
        units.append({"key": f"{region}-bo", "name": f"Back-office {r}", "parent": region,
                      "competencies": ["billing", "delivery"],
                      "authorities": {"gesture": 300, "refund": 500},
                      "tools": ["crm", "carrier-portal"]})
        for s in range(stores_per_region):
            tools = ["pos", "refund-terminal"] if s % 3 == 0 else ["pos"]
            units.append({"key": f"store-{r}-{s}", "name": f"Magasin {r}-{s}", "parent": region,
                          "competencies": ["product", "service"],
                          "authorities": {"gesture": 50, "refund": 150}, "tools": tools})
    categories = [
        {"key": key, "label": key, "competency": competency, "authority": authority,
         "tools": tools}
        for key, competency, authority, tools in CATEGORIES
    ]
    users = [
        {"email": "agent@bench.test", "name": "Agent", "unit": "store-0-0", "role": "agent",
         "password": PASSWORD},
        {"email": "lead@bench.test", "name": "Lead", "unit": "region-0", "role": "lead",
         "password": PASSWORD},
        {"email": "director@bench.test", "name": "Director", "unit": "hq", "role": "director",
         "password": PASSWORD},
    ]
    return {"units": units, "categories": categories, "users": users}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                   check=True, capture_output=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    admin = sa.create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = f"irritants_bench_{secrets.token_hex(3)}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fill(url: str, target: int, seed: int = 11) -> None:
    """Bulk-insert irritants (with their routing event) up to `target` rows."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    rng = random.Random(seed)
    with engine.begin() as connection:
        have = connection.execute(sa.text("SELECT count(*) FROM irritant")).scalar_one()
        units = dict(connection.execute(sa.text("SELECT key, id FROM unit")).all())
        categories = dict(connection.execute(sa.text("SELECT key, id FROM category")).all())
        reporter = connection.execute(sa.text("SELECT id FROM \"user\" LIMIT 1")).scalar_one()
        next_id = connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM irritant")).scalar_one() + 1
    stores = [key for key in units if key.startswith("store-")]
    now = datetime.now(UTC)
    batch: list[dict[str, object]] = []
    events: list[dict[str, object]] = []

    def flush() -> None:
        with engine.begin() as connection:
            connection.execute(irritant_insert, batch)
            connection.execute(event_insert, events)
        batch.clear()
        events.clear()

    irritant_insert = sa.text(
        "INSERT INTO irritant (id, category_id, severity, description, origin_unit_id, reporter_id,"
        " assignee_id, status, initial_requirements, requirements, excluded, rank, unroutable,"
        " gaps, escalation_level, occurrences, created_at, due_at, updated_at, resolved_at,"
        " row_version) VALUES (:id, :category_id, :severity, :description, :origin, :reporter,"
        " :assignee, :status, :req, :req, '[]', :rank, false, '[]', 0, 1, :created, :due,"
        " :created, :resolved, 1)"
    )
    event_insert = sa.text(
        "INSERT INTO irritant_event (irritant_id, type, at, assignee_id, rank, gaps, unroutable,"
        " data) VALUES (:irritant_id, 'routed', :at, :assignee, :rank, '[]', false, '{}')"
    )
    for offset in range(target - have):
        irritant_id = next_id + offset
        category = rng.choice(CATEGORIES)
        origin = rng.choice(stores)
        region = origin.rsplit("-", 1)[0].replace("store", "region")
        assignee = origin if category[0] == "unwelcoming" else rng.choice(
            [f"{region}-bo", region, "cs", "digital"])
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        status = rng.choices(["resolved", "open", "in_progress"], [80, 15, 5])[0]
        requirements = json.dumps({"competencies": [category[1]], "authorities": {},
                                   "tools": category[3]})
        rank = json.dumps([2, 1, 0, assignee])
        batch.append({
            "id": irritant_id, "category_id": categories[category[0]],
            "severity": rng.choice(["low", "medium", "high", "critical"]),
            "description": "Client mécontent : commande en retard de plusieurs jours.",
            "origin": units[origin], "reporter": reporter, "assignee": units[assignee],
            "status": status, "req": requirements, "rank": rank, "created": created,
            "due": created + timedelta(hours=72),
            "resolved": created + timedelta(hours=30) if status == "resolved" else None,
        })
        events.append({"irritant_id": irritant_id, "at": created, "assignee": units[assignee],
                       "rank": rank})
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('irritant', 'id'), (SELECT max(id) FROM irritant))"))
            connection.execute(sa.text("ANALYZE"))
    engine.dispose()


@contextlib.contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        time.sleep(0.2)
    try:
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000)


def api_token(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/api/v1/tokens", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["token"])


def logging_rate(base: str, token: str, clients: int, per_client: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client_loop(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as client:
            for i in range(per_client):
                category = rng.choice(CATEGORIES)[0]
                started = time.perf_counter()
                answer = client.post("/api/v1/irritants", json={
                    "category": category, "severity": "medium", "amount": rng.choice([0, 40, 400]),
                    "description": f"Bench irritant {n}-{i}", "origin_unit": "store-0-0"})
                elapsed = time.perf_counter() - started
                if answer.status_code != 201:
                    raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    p50, p95 = percentiles(latencies)
    return len(latencies) / total, p50, p95


def signed_in_client(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = client.get("/auth/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"email": email, "password": PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    answer = client.post("/auth/login", data=data)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return client


def timed_gets(client: httpx.Client, paths: list[str], headers: dict[str, str] | None = None,
               ) -> tuple[float, float]:
    latencies = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code}")
    return percentiles(latencies)


def worker_rss_mb(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def measure(base: str, master_pid: int, url: str, requests: int) -> None:
    agent_token = api_token(base, "agent@bench.test")
    director_token = api_token(base, "director@bench.test")
    for clients in (1, 4):
        rate, p50, p95 = logging_rate(base, agent_token, clients, max(20, requests // clients))
        print(f"  log via API, {clients} client(s): {rate:7.1f} irritants/s"
              f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        ids = [row[0] for row in connection.execute(sa.text(
            "SELECT id FROM irritant ORDER BY random() LIMIT :n"), {"n": requests})]
    engine.dispose()
    lead = signed_in_client(base, "lead@bench.test")
    director = signed_in_client(base, "director@bench.test")
    print("  queue page (lead, region):   p50 %6.1f ms  p95 %6.1f ms" % timed_gets(
        lead, ["/queue"] * requests))
    print("  irritant page (director):    p50 %6.1f ms  p95 %6.1f ms" % timed_gets(
        director, [f"/irritants/{i}" for i in ids]))
    with httpx.Client(base_url=base, timeout=30) as client:
        headers = {"Authorization": f"Bearer {director_token}"}
        print("  list API (director, page 1): p50 %6.1f ms  p95 %6.1f ms" % timed_gets(
            client, ["/api/v1/irritants?per_page=50"] * requests, headers))
        print("  list API (filtered):         p50 %6.1f ms  p95 %6.1f ms" % timed_gets(
            client, ["/api/v1/irritants?status=open&category=late-delivery&per_page=50"]
            * requests, headers))
    print("  gunicorn worker RSS: " + ", ".join(f"{mb:.0f} MB" for mb in worker_rss_mb(master_pid)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.sqlite:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        else:
            url = stack.enter_context(postgres_database())
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        env.update(DATABASE_URL=url, IRRITANTS_ENV="development", SECRET_KEY=secrets.token_hex(32),
                   LOGIN_RATE_LIMIT="100000 per minute", MAIL_BACKEND="locmem")
        flask(env, "db", "upgrade")
        org_file = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "org.json"
        org_file.write_text(json.dumps(generated_org()))
        flask(env, "org", "import", str(org_file))
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            fill(url, size)
            print(f"{'SQLite' if args.sqlite else 'PostgreSQL'}, {size:,} irritants "
                  f"(filled in {time.perf_counter() - started:.0f} s)")
            with gunicorn(env) as (base, pid):
                measure(base, pid, url, args.requests)


if __name__ == "__main__":
    main()
