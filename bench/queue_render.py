"""What the queue page costs the web process to render: p50/p95 of GET /queue in-process.

In-process (Flask test client, no gunicorn, no HTTP), so that it can run on a busy
machine and show where a page's time goes: each figure is the whole request as the
test client sees it (wall p50/p95), then the CPU time of the request (less sensitive to
other work on the machine), the part spent in the template (Jinja's render, between
Flask's before_render_template and template_rendered signals) and the part spent in
SQL (cursor execute to its return). The pages are requested in turn, run after run,
so that a busy spell of the machine weighs on all of them; then the garbage
collector's pauses over those requests. Figures only: nothing is asserted.

    .venv/bin/python bench/queue_render.py                  # SQLite in a temporary folder
    .venv/bin/python bench/queue_render.py --runs 100 --english
    .venv/bin/python bench/queue_render.py --profile 25 --sort tottime
    .venv/bin/python bench/queue_render.py --keep /tmp/q.db     # fill once, keep the file
    .venv/bin/python bench/queue_render.py --reuse /tmp/q.db --save /tmp/pages-before

The organisation is bench/http.py's generated retailer, about 10,000 units by default
(100 regions of 98 stores and a back-office), so that the filter form's team and
origin selects hold every unit, as they would in a large organisation. Background
irritants come from bench/http.py's bulk fill (a year of them, mostly resolved);
then the services log, sweep, take and count again the irritants of Region 0, the
queue of lead@bench.test, so that it holds about 240 unresolved irritants: overdue
ones, ones escalated by the SLA sweep (some overdue again), ones in progress, ones
at their own unit (with a Take form), descriptions long enough to be truncated.

--save DIR writes each page's HTML (CSRF tokens masked) to compare two versions of
the code on the same kept database: `diff -r before after`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ first on the path would make bench/http.py shadow the stdlib's `http`.
sys.path[0] = str(ROOT)

from flask import Flask, before_render_template, template_rendered  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from bench.intake_cost import bench_http  # noqa: E402
from config import Config  # noqa: E402
from irritants import create_app, jobs  # noqa: E402
from irritants.extensions import db  # noqa: E402

LEAD = "lead@bench.test"  # Region 0's lead (bench/http.py's generated org)
BO_LEAD = "lead-region-0-bo@bench.test"
DIRECTOR = "director@bench.test"
_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')
DESCRIPTIONS = (
    "Client mécontent : commande en retard de plusieurs jours.",
    "Facture en double & montant « erroné » sur la dernière commande <réf. 42>.",
    "Accueil jugé désagréable par la cliente, elle souhaite une réponse écrite de la "
    "direction du magasin avant la fin de la semaine, sinon elle portera réclamation "
    "auprès du service client national et des associations de consommateurs.",
    "L'application se ferme au paiement, le panier est perdu.",
)


def build_app(url: str) -> Flask:
    """The app as served (CSRF on: each Take form carries a token), on the bench database."""
    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=None,
                      RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=False,
                      RUN_INPROCESS_SCHEDULER=False, MAIL_BACKEND="locmem",
                      ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024, ARGON2_PARALLELISM=1)


# -- the data --------------------------------------------------------------------------


def fill(app: Flask, url: str, http: Any, regions: int, stores: int, background: int,
         seed: int) -> None:
    """Schema, org, background irritants, then Region 0's queue through the services."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        from irritants.services.org_admin import import_org

        org = http.generated_org(regions=regions, stores_per_region=stores)
        import_org(org)
        db.session.remove()
        print(f"org: {len(org['units']):,} units, {len(org['users']):,} users", flush=True)
    if background:
        filler = http.Filler(http.Backend(url), seed)
        filler.fill(background, http.datetime.now(http.UTC))
        print(f"background: {filler.counts['irritant']:,} irritants", flush=True)
    with app.app_context():
        fill_lead_queue(random.Random(seed), stores)
        db.session.remove()


def fill_lead_queue(rng: random.Random, stores: int) -> None:
    """Irritants of Region 0 logged, swept, taken and repeated by the services.

    From a store, billing errors go to Region 0 itself (the lead's Take forms), late
    deliveries to its back-office, unwelcoming service stays at the store.
    """
    from irritants.models import User, utcnow
    from irritants.services.escalation import sweep_overdue
    from irritants.services.intake import add_occurrence, log_irritant
    from irritants.services.resolution import take_irritant

    def user(email: str) -> User:
        return db.session.scalars(select(User).where(User.email == email)).one()

    director, lead, bo_lead = user(DIRECTOR), user(LEAD), user(BO_LEAD)
    now = utcnow()
    region_stores = [f"store-0-{number}" for number in range(stores)]

    def log(category: str, severity: str, hours_ago: float, amount: int | None = None) -> Any:
        return log_irritant(director, category=category, severity=severity,
                            description=rng.choice(DESCRIPTIONS), amount=amount,
                            origin_unit=rng.choice(region_stores),
                            now=now - timedelta(hours=hours_ago))

    # Unwelcoming service at the stores, overdue two days ago: the sweep sends them up to
    # Region 0 (escalation level 1); those of high severity are overdue again since.
    for number in range(40):
        log("unwelcoming", "high" if number % 2 else "medium", 96 if number % 2 else 144)
    sweep_overdue(now=now - timedelta(hours=48))
    # Overdue and not escalated (no sweep since): billing errors and late deliveries.
    for _ in range(40):
        log("billing-error", "medium", rng.uniform(80, 120), amount=rng.choice((20, 80, 400)))
    for _ in range(20):
        log("late-delivery", "medium", rng.uniform(80, 120), amount=rng.choice((0, 50)))
    # Recent ones, due later (critical ones a few hours old are overdue too).
    recent = []
    for _ in range(140):
        category = rng.choice(("billing-error", "billing-error", "late-delivery", "unwelcoming"))
        severity = rng.choice(("low", "medium", "medium", "high", "critical"))
        recent.append(log(category, severity, rng.uniform(0.2, 40),
                          amount=rng.choice((0, 20, 80, 400))))
    # A third of them in progress, some happened again.
    takers = {lead.unit_id: lead, bo_lead.unit_id: bo_lead}
    for irritant in recent[::3]:
        taker = takers.get(irritant.assignee_id)
        if taker is not None:
            take_irritant(irritant.id, actor=taker)
    for irritant in recent[1::9]:
        add_occurrence(irritant.id, actor=director)


def describe_queue(html: str) -> str:
    """What the page shows, counted from its HTML (to check the data and the code)."""
    items = html.split('<li class="queue-item')[1:]
    total = re.search(r'class="queue__total">([^<]*)<', html)
    return (f"{total.group(1) if total else '?'}: {len(items)} rows, "
            f"{sum(item.startswith(' queue-item--overdue') for item in items)} overdue, "
            f"{sum('label--level' in item for item in items)} escalated, "
            f"{sum('label--in_progress' in item for item in items)} in progress, "
            f"{html.count('/take')} take forms, {html.count('<option')} options, "
            f"{len(html.encode()) / 1024:.0f} KiB")


# -- the measure -----------------------------------------------------------------------


class Stopwatch:
    """Time spent in SQL and in templates during the current request."""

    def __init__(self, app: Flask) -> None:
        self.sql = 0.0
        self.render = 0.0
        self._render_started = 0.0
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", self._before_sql)
        event.listen(engine, "after_cursor_execute", self._after_sql)
        before_render_template.connect(self._before_render, app)
        template_rendered.connect(self._after_render, app)

    def reset(self) -> None:
        self.sql = self.render = 0.0

    def _before_sql(self, conn: Any, *_args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after_sql(self, conn: Any, *_args: Any) -> None:
        self.sql += time.perf_counter() - conn.info["bench_started"].pop()

    def _before_render(self, *_args: Any, **_kwargs: Any) -> None:
        self._render_started = time.perf_counter()

    def _after_render(self, *_args: Any, **_kwargs: Any) -> None:
        self.render += time.perf_counter() - self._render_started


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


class Samples:
    """One page's timings, in milliseconds."""

    def __init__(self, label: str, get: Callable[[], Any]) -> None:
        self.label, self.get = label, get
        self.total: list[float] = []
        self.cpu: list[float] = []
        self.render: list[float] = []
        self.sql: list[float] = []

    def take(self, watch: Stopwatch) -> None:
        watch.reset()
        started, cpu_started = time.perf_counter(), time.thread_time()
        answer = self.get()
        self.total.append((time.perf_counter() - started) * 1000)
        self.cpu.append((time.thread_time() - cpu_started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{self.label}: {answer.status_code}")
        self.render.append(watch.render * 1000)
        self.sql.append(watch.sql * 1000)

    def report(self) -> None:
        total = p50_p95(self.total)
        print(f"  {self.label:<34} p50 {total[0]:6.1f} ms  p95 {total[1]:6.1f} ms   "
              f"(CPU p50 {p50_p95(self.cpu)[0]:5.1f}, template p50 {p50_p95(self.render)[0]:5.1f},"
              f" SQL p50 {p50_p95(self.sql)[0]:4.1f})", flush=True)


class CollectorPauses:
    """The garbage collector's pauses, per generation (a full collection of a process
    holding a large organisation's caches shows in the slowest requests)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __enter__(self) -> CollectorPauses:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def report(self, requests: int) -> None:
        print(f"  garbage collector over {requests} requests: " + ", ".join(
            f"gen{generation} {len(pauses)}x (total {sum(pauses):.0f} ms, "
            f"max {max(pauses, default=0):.1f} ms)"
            for generation, pauses in self.pauses.items()), flush=True)


def measure(pages: list[Samples], watch: Stopwatch, runs: int, warmup: int) -> None:
    """The pages in turn, run after run: a busy spell of the machine spreads over all."""
    for _ in range(warmup):
        for page in pages:
            page.get()
    with CollectorPauses() as collector:
        for _ in range(runs):
            for page in pages:
                page.take(watch)
    for page in pages:
        page.report()
    collector.report(runs * len(pages))


def signed_in(app: Flask, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    match = _CSRF_VALUE.search(page)
    data = {"email": email, "password": password}
    if match:
        data["csrf_token"] = page[match.end(1):match.start(2)]
    answer = client.post("/auth/login", data=data)
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {email}: {answer.status_code}")
    return client


@contextmanager
def database(args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """The SQLite file's URL, and whether it must be filled."""
    if args.reuse:
        yield f"sqlite:///{Path(args.reuse).resolve()}", False
    elif args.keep:
        path = Path(args.keep).resolve()
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        yield f"sqlite:///{path}", True
    else:
        with tempfile.TemporaryDirectory(prefix="queue-render-") as folder:
            yield f"sqlite:///{folder}/bench.db", True


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first")
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--stores", type=int, default=98, help="stores per region")
    parser.add_argument("--background", type=int, default=20_000,
                        help="irritants of the bulk fill (bench/http.py) before Region 0's")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--english", action="store_true", help="also the lead's page in English")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="then profile the lead's /queue and print the N costliest functions")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (e.g. tottime)")
    parser.add_argument("--dump", metavar="FILE", help="also write the profile there (pstats)")
    parser.add_argument("--keep", metavar="FILE", help="fill this SQLite file and keep it")
    parser.add_argument("--reuse", metavar="FILE", help="measure a file kept by --keep")
    parser.add_argument("--save", metavar="DIR", help="write each page's HTML there")
    args = parser.parse_args()

    http = bench_http()
    # No Redis: the notifications' jobs would run inline, which is no page's cost.
    jobs.enqueue = lambda *_args, **_kwargs: True  # type: ignore[assignment]
    with database(args) as (url, empty):
        app = build_app(url)
        if empty:
            started = time.perf_counter()
            fill(app, url, http, args.regions, args.stores, args.background, args.seed)
            print(f"fill: {time.perf_counter() - started:.0f} s", flush=True)
        with app.app_context():
            from irritants.models import Irritant, Unit

            units = db.session.scalar(select(func.count()).select_from(Unit))
            irritants = db.session.scalar(select(func.count()).select_from(Irritant))
            db.session.remove()
        print(f"SQLite, {units:,} units, {irritants:,} irritants; {args.runs} runs per page "
              f"after {args.warmup}", flush=True)
        watch = Stopwatch(app)
        lead = signed_in(app, LEAD, http.PASSWORD)
        director = signed_in(app, DIRECTOR, http.PASSWORD)
        english = {"Accept-Language": "en"}
        pages: list[tuple[str, str, Callable[[], Any]]] = [
            ("lead /queue", "lead-queue", lambda: lead.get("/queue")),
            ("lead /queue?page=3", "lead-queue-page-3", lambda: lead.get("/queue?page=3")),
            ("director /queue", "director-queue", lambda: director.get("/queue")),
        ]
        if args.english:
            pages.append(("lead /queue (English)", "lead-queue-en",
                          lambda: lead.get("/queue", headers=english)))
        for label, name, get in pages:
            html = get().get_data(as_text=True)
            print(f"  {label:<34} {describe_queue(html)}")
            if args.save:
                folder = Path(args.save)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{name}.html").write_text(_CSRF_VALUE.sub(r"\1CSRF\2", html))
        measure([Samples(label, get) for label, _name, get in pages], watch, args.runs,
                args.warmup)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.runs):
                lead.get("/queue")
            profiler.disable()
            print(f"\nlead /queue, {args.runs} requests:")
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.profile)
            if args.dump:
                profiler.dump_stats(args.dump)


if __name__ == "__main__":
    main()
