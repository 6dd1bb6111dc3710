"""Benchmark of the routing core (issue 4): snapshot build, routing latency, what-if.

    .venv/bin/python bench/routing.py [--sizes 1000,10000,50000] [--seed N]
        [--whatif-sizes 100000,1000000] [--whatif-orgs 10000] [--routings 20000]
        [--clock wall|cpu]

Generates seeded retail organisations (head office, divisions, zones, regions,
areas, stores, departments, a few teams: depth up to 7), routes random
irritants with the engine and with a naive full scan in the same process, and
replays periods of irritants in what-if. Prints a plain table.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Run as a script, bench/ comes first on the path, and bench/http.py would
# shadow the standard library's http: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from irritants.routing import (  # noqa: E402  (the path above makes the package importable)
    Assignment,
    Change,
    OrgSnapshot,
    Rank,
    ReplayCase,
    Requirements,
    Unit,
    competent,
    gaps_along,
    replay,
    route,
)

COMPETENCIES = [
    "product", "service", "billing", "delivery", "returns", "stock", "digital", "loyalty",
    "payment", "fraud", "legal", "hr", "marketing", "pricing", "safety",
]  # fmt: skip
TOOLS = [
    "pos", "refund-terminal", "crm", "erp", "carrier-portal", "wms", "app-admin",
    "loyalty-console", "payment-gateway", "fraud-monitor", "price-editor", "stock-scanner",
    "ticketing", "email-suite", "phone-system", "courier-tracker", "voucher-printer",
    "kiosk-admin", "cctv", "contract-db",
]  # fmt: skip
AUTHORITIES = ["gesture", "refund", "policy-exception", "credit", "price-override"]

# (key, competency, authority, tools, weight): what irritants are about.
CATEGORIES = [
    ("faulty-product", "product", "refund", ["refund-terminal"], 14),
    ("late-delivery", "delivery", "gesture", ["carrier-portal"], 12),
    ("billing-error", "billing", "refund", ["crm"], 8),
    ("rude-service", "service", None, [], 12),
    ("queue-too-long", "service", "gesture", [], 8),
    ("app-bug", "digital", None, ["app-admin"], 6),
    ("missing-stock", "stock", None, ["stock-scanner"], 10),
    ("loyalty-points", "loyalty", "gesture", ["loyalty-console"], 6),
    ("payment-declined", "payment", None, ["payment-gateway"], 5),
    ("price-error", "pricing", "price-override", ["price-editor"], 6),
    ("return-refused", "returns", "refund", [], 8),
    ("fraud-suspicion", "fraud", None, ["fraud-monitor"], 2),
    ("damaged-parcel", "delivery", "refund", ["courier-tracker"], 2),
    ("safety-issue", "safety", "policy-exception", [], 1),
]


# -- organisations -------------------------------------------------------------


class OrgGenerator:
    """A seeded retail organisation of about `size` units."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.rng = rng
        self.units: list[Unit] = []
        self.kinds: dict[str, str] = {}
        self.size = size

    def unit(
        self,
        kind: str,
        parent: str | None,
        competencies: list[str],
        authorities: Mapping[str, float | int | None],
        tools: list[str],
    ) -> str:
        key = f"{kind}-{len(self.units)}"
        self.units.append(
            Unit(
                key,
                key.title(),
                parent,
                frozenset(competencies),
                dict(authorities),
                frozenset(tools),
            )
        )
        self.kinds[key] = kind
        return key

    def maybe(self, probability: float, *items: str) -> list[str]:
        return list(items) if self.rng.random() < probability else []

    def fanout(self, mean: float) -> int:
        return max(1, round(mean * self.rng.uniform(0.6, 1.4)))

    def generate(self) -> list[Unit]:
        hq = self.unit(
            "hq", None, [c for c in COMPETENCIES if c not in ("fraud", "safety")],
            {"gesture": None, "refund": None, "policy-exception": None, "credit": None},
            ["crm", "erp", "ticketing"],
        )  # fmt: skip
        self.support_divisions(hq)
        cs = self.unit(
            "division", hq, ["product", "service", "billing", "delivery", "returns", "loyalty"],
            {"gesture": 2000, "refund": 5000, "credit": 5000, "policy-exception": 1000},
            ["crm", "erp", "carrier-portal", "ticketing", "phone-system"],
        )  # fmt: skip
        # Aim a little high, then drop the last units created: each unit's
        # parent was created before it, so what remains is still a tree.
        per_level = (self.size * 0.6) ** (1 / 4)
        while len(self.units) < self.size:
            self.zone(cs, per_level)
        del self.units[self.size :]
        kept = {unit.key for unit in self.units}
        self.kinds = {key: kind for key, kind in self.kinds.items() if key in kept}
        return self.units

    def support_divisions(self, hq: str) -> None:
        logistics = self.unit(
            "division", hq, ["delivery", "stock"], {"gesture": 200},
            ["carrier-portal", "wms", "courier-tracker"],
        )  # fmt: skip
        for _ in range(max(2, self.size // 400)):
            warehouse = self.unit(
                "warehouse", logistics, ["delivery", "stock"], {"gesture": 100, "refund": 300},
                ["wms", "stock-scanner", "carrier-portal"],
            )  # fmt: skip
            for _ in range(2):
                self.unit("team", warehouse, ["stock"], {}, ["wms", "stock-scanner"])
        digital = self.unit(
            "division", hq, ["digital", "loyalty", "payment"], {"gesture": 100},
            ["app-admin", "loyalty-console", "kiosk-admin"],
        )  # fmt: skip
        for _ in range(4):
            self.unit("squad", digital, ["digital"], {}, ["app-admin"])
        self.unit(
            "division", hq, ["billing", "payment", "fraud"], {"credit": None, "refund": 10000},
            ["payment-gateway", "fraud-monitor", "erp"],
        )  # fmt: skip
        self.unit("division", hq, ["legal", "safety"], {"policy-exception": None}, ["contract-db"])
        self.unit(
            "division", hq, ["marketing", "pricing", "loyalty"],
            {"price-override": None, "gesture": 500}, ["price-editor", "loyalty-console"],
        )  # fmt: skip

    def zone(self, parent: str, per_level: float) -> None:
        zone = self.unit(
            "zone", parent, ["product", "service", "billing", "returns", "loyalty", "pricing"],
            {"gesture": 1000, "refund": 2000, "policy-exception": 300, "price-override": 500},
            ["crm", "erp", "ticketing", "loyalty-console"],
        )  # fmt: skip
        self.unit(
            "care-centre", zone, ["billing", "delivery", "payment", "service"],
            {"gesture": 500, "refund": 1500, "credit": 1000},
            ["crm", "carrier-portal", "payment-gateway", "phone-system", "email-suite"],
        )  # fmt: skip
        for _ in range(self.fanout(per_level)):
            self.region(zone, per_level)

    def region(self, parent: str, per_level: float) -> None:
        rng = self.rng
        region = self.unit(
            "region", parent,
            ["product", "service", "returns", "pricing", *self.maybe(0.5, "billing")],
            {"gesture": 300, "refund": rng.choice([500, 600, 800]), "policy-exception": 100,
             "price-override": 100},
            ["crm", *self.maybe(0.5, "erp")],
        )  # fmt: skip
        self.unit(
            "back-office", region, ["billing", "delivery", "stock"],
            {"gesture": 300, "refund": 800, "credit": 500},
            ["crm", "carrier-portal", "courier-tracker", *self.maybe(0.3, "stock-scanner")],
        )  # fmt: skip
        for _ in range(self.fanout(per_level)):
            area = self.unit(
                "area", region, ["product", "service", "returns", *self.maybe(0.4, "stock")],
                {"gesture": 150, "refund": rng.choice([250, 300, 400])},
                ["crm", *self.maybe(0.3, "refund-terminal")],
            )  # fmt: skip
            for _ in range(self.fanout(per_level)):
                self.store(area)

    def store(self, parent: str) -> None:
        rng = self.rng
        authorities: dict[str, float | int | None] = {"gesture": rng.choice([30, 50, 50, 80])}
        if rng.random() < 0.8:
            authorities["refund"] = rng.choice([100, 150, 150, 200])
        if rng.random() < 0.3:
            authorities["price-override"] = rng.choice([10, 20, 30])
        store = self.unit(
            "store", parent,
            ["product", "service", *self.maybe(0.6, "returns"), *self.maybe(0.5, "stock")],
            authorities,
            ["pos", *self.maybe(0.4, "refund-terminal"), *self.maybe(0.5, "stock-scanner"),
             *self.maybe(0.3, "voucher-printer"), *self.maybe(0.1, "cctv")],
        )  # fmt: skip
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            department = self.unit(
                "department", store, rng.choice([["product", "service"], ["stock", "safety"]]),
                {"gesture": rng.choice([0, 10, 20])},
                ["pos", *self.maybe(0.4, "stock-scanner")],
            )  # fmt: skip
            if rng.random() < 0.05:
                self.unit("team", department, ["service"], {}, ["pos"])


# -- irritants -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    origin: str
    needs: Requirements
    excluded: frozenset[str]


class IrritantGenerator:
    """Random origins and requirements with a realistic mix."""

    def __init__(self, generator: OrgGenerator, rng: random.Random) -> None:
        self.rng = rng
        keys = [unit.key for unit in generator.units]
        self.front = [k for k in keys if generator.kinds[k] in ("store", "department")]
        self.everyone = keys
        self.categories = [category[:4] for category in CATEGORIES]
        self.weights = [category[4] for category in CATEGORIES]

    def amount(self) -> float | int:
        roll = self.rng.random()
        if roll < 0.7:
            return self.rng.randint(0, 100)
        if roll < 0.9:
            return round(self.rng.uniform(100, 1000), 2)
        return self.rng.randint(1000, 10000)

    def origin(self) -> str:
        pool = self.front if self.rng.random() < 0.85 else self.everyone
        return self.rng.choice(pool)

    def requirements(self) -> Requirements:
        _, competency, authority, tools = self.rng.choices(self.categories, self.weights)[0]
        amount = self.amount() if authority else None
        needs = Requirements.for_category(competency, authority, amount, tools)
        roll = self.rng.random()
        if roll < 0.08:  # escalated: the team named a tool or more authority
            extra = Requirements(tools=frozenset({self.rng.choice(TOOLS)}))
            needs = needs.combined_with(extra)
        elif roll < 0.11:  # a tool nobody has: unroutable
            needs = needs.combined_with(Requirements(tools=frozenset({"teleporter"})))
        return needs

    def query(self) -> Query:
        origin = self.origin()
        excluded = frozenset({origin}) if self.rng.random() < 0.05 else frozenset()
        return Query(origin, self.requirements(), excluded)


# -- the naive full scan ---------------------------------------------------------


def naive_route(
    org: OrgSnapshot,
    origin: str,
    needs: Requirements,
    open_load: Mapping[str, int],
    excluded: frozenset[str],
) -> Assignment:
    """Every unit checked, ranked with the snapshot's depth and LCA."""
    best: Rank | None = None
    origin_depth = org.depth(origin)
    every_key = org.keys()
    for key in every_key:
        if key in excluded or not competent(org.unit(key), needs):
            continue
        meeting_depth = org.depth(org.lca(origin, key))
        up = origin_depth - meeting_depth
        rank = (up + org.depth(key) - meeting_depth, up, open_load.get(key, 0), key)
        if best is None or rank < best:
            best = rank
    assignee = org.root if best is None else best[3]
    return Assignment(assignee, best, best is None, gaps_along(org, origin, assignee, needs))


# -- measurements ------------------------------------------------------------------


def build_figures(units: list[Unit]) -> tuple[OrgSnapshot, float, float]:
    """(snapshot, median build seconds, MB the snapshot adds to its units)."""
    times = []
    for _ in range(3):
        gc.collect()
        started = time.process_time()  # CPU time: steady on a shared machine
        org = OrgSnapshot.build(units)
        times.append(time.process_time() - started)
    del org
    gc.collect()
    tracemalloc.start()
    org = OrgSnapshot.build(units)
    snapshot_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return org, statistics.median(times), snapshot_bytes / 2**20


def units_memory(size: int, seed: int) -> float:
    """MB retained by the generated units and their snapshot together."""
    gc.collect()
    tracemalloc.start()
    units = OrgGenerator(size, random.Random(seed)).generate()
    org = OrgSnapshot.build(units)
    total = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del units, org
    return total / 2**20


def latencies(
    router: Callable[..., Assignment],
    org: OrgSnapshot,
    queries: list[Query],
    loads: Mapping[str, int],
    clock: Callable[[], float],
) -> tuple[list[float], list[Assignment]]:
    """Seconds per routing, and the assignments."""
    timings, results = [], []
    for query in queries:
        started = clock()
        assignment = router(org, query.origin, query.needs, loads, query.excluded)
        timings.append(clock() - started)
        results.append(assignment)
    return timings, results


# Per-routing clock: wall time, or this thread's CPU time on a shared, busy machine.
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def whatif_figures(
    generator: OrgGenerator, org: OrgSnapshot, count: int, seed: int
) -> tuple[float, float, int, dict[str, int | float]]:
    """(wall s, CPU s, distinct (origin, requirements), figures) of a replay of `count`."""
    rng = random.Random(seed)
    irritants = IrritantGenerator(generator, rng)
    cases = [
        ReplayCase(number, irritants.origin(), irritants.requirements()) for number in range(count)
    ]
    changes = whatif_changes(generator, rng)
    distinct = len({(case.origin, case.requirements) for case in cases})
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    report = replay(org, changes, cases)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return wall, cpu, distinct, report.figures()


def whatif_changes(generator: OrgGenerator, rng: random.Random) -> list[Change]:
    """Refund terminals for 100 stores, gesture 500 for 20 areas, loyalty for 3 regions."""
    by_kind: dict[str, list[str]] = {}
    for key, kind in generator.kinds.items():
        by_kind.setdefault(kind, []).append(key)
    changes = [
        Change(key, grant_tools=frozenset({"refund-terminal"}))
        for key in rng.sample(by_kind["store"], min(100, len(by_kind["store"])))
    ]
    changes += [
        Change(key, set_authorities={"gesture": 500})
        for key in rng.sample(by_kind["area"], min(20, len(by_kind["area"])))
    ]
    changes += [
        Change(
            key,
            grant_competencies=frozenset({"loyalty"}),
            grant_tools=frozenset({"loyalty-console"}),
        )
        for key in rng.sample(by_kind["region"], min(3, len(by_kind["region"])))
    ]
    return changes


# -- the table -------------------------------------------------------------------


def bench_size(
    size: int, seed: int, routings: int, clock: Callable[[], float]
) -> tuple[OrgGenerator, OrgSnapshot, list[str]]:
    generator = OrgGenerator(size, random.Random(seed))
    units = generator.generate()
    org, build_seconds, snapshot_mb = build_figures(units)
    total_mb = units_memory(size, seed)
    rng = random.Random(seed + 1)
    irritants = IrritantGenerator(generator, rng)
    queries = [irritants.query() for _ in range(routings)]
    # A third of the units have open work: ties are broken on it.
    loads = {unit.key: rng.randint(0, 6) for unit in rng.sample(units, len(units) // 3 + 1)}
    fast, fast_results = latencies(route, org, queries, loads, clock)
    naive_count = max(30, min(2000, 2_000_000 // len(units)))
    naive, naive_results = latencies(naive_route, org, queries[:naive_count], loads, clock)
    mismatches = sum(a != b for a, b in zip(fast_results, naive_results, strict=False))
    unroutable = sum(result.unroutable for result in fast_results) / len(fast_results)
    speedup = statistics.fmean(naive) / statistics.fmean(fast[:naive_count])
    rows = [
        f"units                     {len(units):>12,}",
        f"snapshot build (median 3) {build_seconds * 1000:>12.1f} ms CPU",
        f"snapshot memory           {snapshot_mb:>12.1f} MB  (units included: {total_mb:.1f} MB)",
        f"routing p50 / p99         {percentile(fast, 0.5) * 1e6:>12.1f} / "
        f"{percentile(fast, 0.99) * 1e6:.1f} us  ({routings:,} routings, "
        f"{unroutable:.0%} unroutable)",
        f"routing throughput        {len(fast) / sum(fast):>12,.0f} routings/s",
        f"naive p50 / p99           {percentile(naive, 0.5) * 1e6:>12.1f} / "
        f"{percentile(naive, 0.99) * 1e6:.1f} us  ({naive_count:,} routings)",
        f"naive throughput          {len(naive) / sum(naive):>12,.0f} routings/s",
        f"speedup (mean, same set)  {speedup:>12.0f} x  (results differing: {mismatches})",
    ]
    return generator, org, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--routings", type=int, default=20_000)
    parser.add_argument("--whatif-sizes", default="100000,1000000")
    parser.add_argument("--whatif-orgs", default="10000", help="org sizes to replay on")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="routing clock")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",") if size]
    replay_counts = [int(count) for count in arguments.whatif_sizes.split(",") if count]
    replay_orgs = {int(size) for size in arguments.whatif_orgs.split(",") if size}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Python {sys.version.split()[0]}, seed {arguments.seed}, load average {load:.2f}, "
        f"routings timed in {arguments.clock} time"
    )
    for size in sizes:
        print(f"\n== org of about {size:,} units ==")
        generator, org, rows = bench_size(
            size, arguments.seed, arguments.routings, CLOCKS[arguments.clock]
        )
        print("\n".join(rows), flush=True)
        if size not in replay_orgs:
            continue
        for count in replay_counts:
            wall, cpu, distinct, figures = whatif_figures(generator, org, count, arguments.seed + 2)
            at_origin = (figures["resolved_at_origin_before"], figures["resolved_at_origin_after"])
            print(
                f"what-if {count:>9,} irritants {wall:>7.2f} s  (CPU {cpu:.2f} s; "
                f"{distinct:,} distinct origin+requirements; changed "
                f"{figures['changed_assignee']:,}; at origin {at_origin[0]:,} -> {at_origin[1]:,})",
                flush=True,
            )


if __name__ == "__main__":
    main()
