"""Routing decisions per second on SQLite and PostgreSQL, at production size.

    .venv/bin/python bench/router_bench.py                      # 10,000 agents, 100,000 open tickets, both databases
    .venv/bin/python bench/router_bench.py --quick --db sqlite  # 1,000 agents, 10,000 tickets
    make bench

For each database: a fresh database (a SQLite file in a temporary folder, or a
new PostgreSQL database `complaints_bench_<hex>`, dropped at the end), the
router's migrations, then set-up that is NOT measured:

- the roster, through RouterStore.import_roster (the operator's path): skills
  with levels, regions, languages, capacities large enough for the open
  tickets, most agents available, some away or offline, some on vacation now
  and some with a vacation planned ahead;
- the open tickets, already assigned, inserted in bulk (SQLAlchemy Core
  executemany) into router_tickets with their weights, and every agent's
  `load` set to the sum of their tickets' weights, as the store keeps it;
- on PostgreSQL, ANALYZE after that bulk load (autovacuum would do it within
  a minute or so in production; until then the planner misjudges the tables).

Then two measured modes, each over --decisions new tickets (10% of them without
a category, --uncategorised; 30% without a language):

- route: a ticket_created event through store.apply_event (not timed), then
  store.route(reference) timed alone -- the event path of the service: roster
  read, policy decision, the atomic claim, the decision and the outbox row;
- drain: --decisions tickets put in the waiting queue (not timed), then
  store.drain_waiting() sweeps until each of them was decided (a sweep tries
  every waiting ticket; tickets still waiting from the route mode are decided
  again in the sweeps, as in production) -- the sweep path: the roster
  refreshed once per sweep, then each ticket decided and claimed, then (SQLite)
  a WAL checkpoint. decisions/s and `mean` are the whole sweeps' time divided
  by the decisions (refresh, queue read and checkpoint included);
  median/p95/p99/max are the store.route calls inside the sweeps, timed one
  by one.

Besides times, each mode prints what a decision does, which stays put on a busy
machine: SQL statements, commits and connection checkouts, agents checked one by
one, and this process's CPU time per decision.

A mode stops after --max-seconds (default 30) of measured time, so that
`make bench` ends in minutes even while decisions are slow; the table then
shows "n of --decisions". The issue's target is p99 under 5 ms per decision;
the verdict is printed as measured. --profile prints where the time goes
(cProfile, top functions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import sqlalchemy  # noqa: E402
from sqlalchemy import bindparam, func, insert, select, update  # noqa: E402

from services.common.contract.vocabulary import OPEN_STATUS_VALUES as OPEN  # noqa: E402
from services.common.storage.db import make_engine  # noqa: E402
from services.router import policy, roster  # noqa: E402
from services.router.handling import Router as RouterStore  # noqa: E402
from services.router.migrate import upgrade  # noqa: E402
from services.router.schema import agents, tickets  # noqa: E402

TARGET_P99_MS = 5.0
SKILLS = ("billing", "technical", "delivery", "product", "service", "other")
REGIONS = ("us-east", "us-west", "ca", "br", "uk", "de", "fr", "pt", "in", "au")
LANGUAGES = ("en", "es", "pt", "fr", "de", "hi")
CHANNELS = ("email", "web", "chat", "whatsapp", "voice")
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_ODDS = (25, 50, 18, 7)

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
QUICK = {"agents": 1000, "tickets": 10000, "decisions": 300}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=10_000, help="agents in the roster (default 10000)")
    p.add_argument("--tickets", type=int, default=100_000, help="open tickets already assigned (default 100000)")
    p.add_argument("--decisions", type=int, default=2000, help="measured decisions per mode (default 2000)")
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--mode", choices=("route", "drain", "both"), default="both",
                   help="measure the event path (route), the sweep path (drain) or both (default)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the roster and tickets (default 1)")
    p.add_argument("--uncategorised", type=float, default=UNCATEGORISED_SHARE,
                   help=f"share of new tickets without a category (default {UNCATEGORISED_SHARE:g})")
    p.add_argument("--quick", action="store_true",
                   help=f"smaller preset: {QUICK['agents']} agents, {QUICK['tickets']} tickets, "
                        f"{QUICK['decisions']} decisions (explicit --agents/--tickets/--decisions win)")
    p.add_argument("--max-seconds", type=float, default=30,
                   help="stop a mode after this many measured seconds and report the decisions measured "
                        "so far as 'n of --decisions' (default 30; 0: no limit, every decision)")
    p.add_argument("--postgres-url", default=POSTGRES_URL,
                   help="an existing PostgreSQL database to connect to for CREATE/DROP DATABASE "
                        "(default: $BENCH_POSTGRES_URL, $TEST_POSTGRES_URL or the test database)")
    p.add_argument("--profile", action="store_true", help="cProfile each mode and print the top functions")
    args = p.parse_args(argv)
    if args.quick:
        given = {a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:])}
        for key, value in QUICK.items():
            if f"--{key}" not in given:
                setattr(args, key, value)
    if args.agents < 1 or args.tickets < 0 or args.decisions < 1:
        p.error("--agents and --decisions must be at least 1, --tickets at least 0")
    return args


# --- a fresh database ----------------------------------------------------------------


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="router-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'router.db'}"


@contextmanager
def postgres_database(admin_url: str):
    """A new database for this run, dropped at the end (like the tests' fixture)."""
    import psycopg2

    name = f"complaints_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin_url)
        try:
            yield urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/" + name))
        finally:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


# --- set-up (not measured) ----------------------------------------------------------------


def make_roster(rng: random.Random, n_agents: int, n_tickets: int, at: datetime) -> list[dict]:
    """Agents as an operator's JSON import would list them."""
    base = max(5, math.ceil(2.5 * n_tickets / n_agents))  # room for the open tickets and the new ones
    items = []
    for i in range(n_agents):
        skills = {s: rng.randint(0, 3) for s in rng.sample(SKILLS, rng.choice((1, 2, 2, 3, 3, 4)))}
        regions = [] if rng.random() < 0.08 else rng.sample(REGIONS, rng.choice((1, 1, 2, 3)))
        languages = rng.sample(LANGUAGES[1:], rng.choice((0, 0, 1, 1, 2)))
        if rng.random() < 0.8:
            languages.append("en")
        status = rng.choices(("available", "away", "offline"), (85, 10, 5))[0]
        item = {"name": f"agent-{i:05d}", "display_name": f"Agent {i}", "email": f"agent{i}@example.com",
                "skills": skills, "regions": regions, "languages": sorted(set(languages)),
                "capacity": rng.randint(base, base + base // 2), "status": status}
        roll = rng.random()
        if roll < 0.03:    # on vacation now
            item["vacations"] = [{"starts_at": (at - timedelta(days=2)).isoformat(),
                                  "ends_at": (at + timedelta(days=5)).isoformat(), "note": "holiday"}]
        elif roll < 0.10:  # planned ahead
            start = at + timedelta(days=rng.randint(3, 60))
            item["vacations"] = [{"starts_at": start.isoformat(),
                                  "ends_at": (start + timedelta(days=rng.randint(2, 14))).isoformat()}]
        items.append(item)
    return items


def load_roster(store: RouterStore, items: list[dict]) -> None:
    store.import_roster(roster.parse_json(items))


def load_open_tickets(store: RouterStore, rng: random.Random, items: list[dict], n_tickets: int,
                      at: datetime) -> None:
    """n open tickets, each assigned to an agent who has its skill, serves its region and
    speaks its language; router_tickets.weight and router_agents.load agree."""
    config = store.config
    load = {a["name"]: 0.0 for a in items}
    last = {}
    order = list(range(len(items)))
    rows = []
    for i in range(n_tickets):
        while True:
            a = items[rng.choice(order)]
            priority = rng.choices(PRIORITIES, PRIORITY_ODDS)[0]
            weight = config.weight(priority)
            if load[a["name"]] + weight <= a["capacity"] * 0.6:
                break
        load[a["name"]] += weight
        created = at - timedelta(minutes=rng.randint(1, 60 * 24 * 14))
        last[a["name"]] = max(last.get(a["name"], created), created)
        rows.append({
            "reference": f"BO{i:09d}", "category": rng.choice(sorted(a["skills"])),
            "region": rng.choice(a["regions"]) if a["regions"] else rng.choice(REGIONS),
            "language": rng.choice(a["languages"]) if a["languages"] and rng.random() < 0.7 else None,
            "priority": priority, "channel": rng.choice(CHANNELS), "status": rng.choices(OPEN, (40, 45, 15))[0],
            "assignee": a["name"], "weight": weight, "created_at": created, "waiting_since": None, "step": None,
            "updated_at": created,
        })
    with store.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(tickets), rows[start:start + 5000])
        changed = [{"b_name": name, "b_load": value, "b_last": last[name]} for name, value in load.items() if value]
        if changed:
            conn.execute(update(agents).where(agents.c.name == bindparam("b_name")).values(
                load=bindparam("b_load"), last_assigned_at=bindparam("b_last")), changed)
    check_loads(store)


def check_loads(store: RouterStore) -> None:
    """Every agent's load equals the weights of their open tickets (the store's invariant)."""
    with store.engine.connect() as conn:
        sums = dict(conn.execute(select(tickets.c.assignee, func.sum(tickets.c.weight))
                                 .where(tickets.c.assignee.is_not(None)).group_by(tickets.c.assignee)).all())
        for name, value in conn.execute(select(agents.c.name, agents.c.load)):
            if abs(float(sums.get(name) or 0) - value) > 1e-6:
                raise AssertionError(f"{name}: load {value} but tickets weigh {sums.get(name)}")


UNCATEGORISED_SHARE = 0.1  # of new tickets, by default: without a category, any skill will do


def new_ticket(rng: random.Random, reference: str, uncategorised: float = UNCATEGORISED_SHARE) -> dict:
    """A ticket_created summary as the tickets service publishes it."""
    category = None if rng.random() < uncategorised else rng.choice(SKILLS)
    return {"reference": reference, "status": "new", "priority": rng.choices(PRIORITIES, PRIORITY_ODDS)[0],
            "category": category, "channel": rng.choice(CHANNELS), "region": rng.choice(REGIONS),
            "language": rng.choice(LANGUAGES) if rng.random() < 0.7 else None, "assignee": None,
            "created_at": datetime.now(UTC).isoformat()}


def open_count(store: RouterStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tickets).where(
            tickets.c.status.in_(OPEN), tickets.c.assignee.is_not(None))).scalar_one()


# --- measuring ----------------------------------------------------------------------


class Work:
    """Counts what the timed decisions do (stable on a busy machine, unlike timings):
    SQL statements, commits and connection checkouts (each a round trip more on
    PostgreSQL: the pool pings a connection it hands out), agents checked one by one,
    and CPU time: this process's for each decision, plus on PostgreSQL the server
    processes serving this database (from /proc through psutil, in clock ticks: only
    their total is meaningful). CPU time barely moves when other programs compete for
    the machine; what a quiet machine adds to it is mostly waiting for the disk at
    commit and the round trips."""

    def __init__(self, engine):
        self.active = False
        self.statements = self.commits = self.checkouts = self.checked = self.decisions = 0
        self.cpu: list[float] = []
        self.server_cpu = 0.0
        self.server = _server_processes(engine)
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._statement)
        sqlalchemy.event.listen(engine, "commit", self._commit)
        sqlalchemy.event.listen(engine, "checkout", self._checkout)

    def _statement(self, *_args):
        self.statements += self.active

    def _commit(self, *_args):
        self.commits += self.active

    def _checkout(self, *_args):
        self.checkouts += self.active

    def _server_cpu(self) -> float:
        total = 0.0
        for process in self.server:
            try:
                times = process.cpu_times()
            except psutil.Error:  # a connection closed meanwhile
                continue
            total += times.user + times.system
        return total

    @contextmanager
    def counting(self):
        server = self._server_cpu()
        self.active = True
        cpu = time.process_time()
        try:
            yield
        finally:
            self.cpu.append(time.process_time() - cpu)
            self.active = False
            self.server_cpu += self._server_cpu() - server

    def decided(self, decision) -> None:
        self.decisions += 1
        self.checked += len(decision.candidates) if decision is not None else 0

    def per_decision(self) -> dict:
        n = max(1, self.decisions)
        cpu = [c * 1000 for c in self.cpu] or [float("nan")]
        return {"statements": self.statements / n, "commits": self.commits / n, "checkouts": self.checkouts / n,
                "checked": self.checked / n, "cpu_ms": statistics.mean(cpu) + self.server_cpu * 1000 / n,
                "cpu_p99_ms": percentile(cpu, 99)}


def _server_processes(engine) -> list:
    """PostgreSQL: the server processes of this database's connections (all of them are
    the benchmark's: the database is its own). None on SQLite, which runs in-process."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars()
        out = []
        for pid in pids:
            try:
                out.append(psutil.Process(pid))
            except psutil.Error:  # a server on another machine, or gone
                pass
        return out


class Profiler:
    def __init__(self, enabled: bool):
        self.profile = cProfile.Profile() if enabled else None

    @contextmanager
    def running(self):
        if self.profile:
            self.profile.enable()
        try:
            yield
        finally:
            if self.profile:
                self.profile.disable()

    def report(self, title: str, top: int = 18) -> None:
        if not self.profile:
            return
        out = io.StringIO()
        pstats.Stats(self.profile, stream=out).sort_stats("cumulative").print_stats(top)
        print(f"\n--- cProfile: {title} (sorted by cumulative time) ---")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def measure_route(store, rng, n, max_seconds, profile: bool, uncategorised: float) -> dict:
    """The event path: apply ticket_created (untimed), then route() timed alone."""
    opened = open_count(store)
    timings, assigned, spent = [], 0, 0.0
    prof = Profiler(profile)
    work = Work(store.engine)
    for i in range(n):
        ticket = new_ticket(rng, f"BN{i:09d}", uncategorised)
        if store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", ticket) != "route":
            raise AssertionError(f"{ticket['reference']}: apply_event did not ask for routing")
        with prof.running(), work.counting():
            t0 = time.perf_counter()
            decision = store.route(ticket["reference"])
            elapsed = time.perf_counter() - t0
        work.decided(decision)
        timings.append(elapsed)
        spent += elapsed
        assigned += bool(decision and decision.winner)
        if max_seconds and spent >= max_seconds and i + 1 < n:
            stopped = "time"
            break
    else:
        stopped = None
    prof.report("route mode")
    return summary("route", opened, timings, spent, assigned, n, stopped=stopped, work=work)


class OutOfTime(Exception):
    """--max-seconds reached in the middle of a sweep."""


def measure_drain(store, rng, n, max_seconds, profile: bool, uncategorised: float) -> dict:
    """The sweep path: n waiting tickets, drain_waiting() until each was decided (or none can move)."""
    pending = {f"BW{i:09d}" for i in range(n)}
    for ref in sorted(pending):  # set-up: ticket_created events that are not routed, so they wait
        store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", new_ticket(rng, ref, uncategorised))
    opened = open_count(store)
    timings: list[float] = []
    decisions: list = []
    clock = {"spent": 0.0, "sweep": 0.0}
    real_route = store.route
    work = Work(store.engine)

    def timed_route(*args, **kwargs):
        with work.counting():
            t0 = time.perf_counter()
            try:
                decision = real_route(*args, **kwargs)
            finally:
                timings.append(time.perf_counter() - t0)
        work.decided(decision)
        if decision is not None:  # keep no Decision: each holds the verdicts of the agents checked
            decisions.append((decision.reference, decision.winner))
        if max_seconds and clock["spent"] + time.perf_counter() - clock["sweep"] >= max_seconds:
            raise OutOfTime  # after the claim committed: the decision counts
        return decision

    store.route = timed_route  # instance attribute: drain_waiting's self.route calls come through here
    prof = Profiler(profile)
    try:
        while True:
            before = len(decisions)
            with prof.running():
                clock["sweep"] = time.perf_counter()
                try:
                    store.drain_waiting()
                    out_of_time = False
                except OutOfTime:
                    out_of_time = True
                clock["spent"] += time.perf_counter() - clock["sweep"]
            swept = decisions[before:]
            pending.difference_update(ref for ref, _ in swept)
            if out_of_time or not pending or not any(winner for _, winner in swept):
                break  # every new ticket decided once, or what waits needs an agent nobody has
    finally:
        del store.route
    prof.report("drain mode")
    assigned = sum(1 for _, winner in decisions if winner)
    stopped = "time" if out_of_time else ("stuck" if pending else None)
    return summary("drain", opened, timings, clock["spent"], assigned, n, decided=len(decisions), stopped=stopped,
                   work=work)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(mode, opened, timings, spent, assigned, planned, decided=None, stopped=None, work=None) -> dict:
    decided = len(timings) if decided is None else decided
    ms = [t * 1000 for t in timings] or [float("nan")]
    per = work.per_decision() if work else dict.fromkeys(
        ("statements", "commits", "checkouts", "checked", "cpu_ms", "cpu_p99_ms"), float("nan"))
    return {
        "statements_per_decision": per["statements"], "commits_per_decision": per["commits"],
        "checkouts_per_decision": per["checkouts"], "checked_per_decision": per["checked"],
        "cpu_ms_per_decision": per["cpu_ms"], "cpu_p99_ms": per["cpu_p99_ms"],
        "mode": mode, "open_tickets": opened, "planned": planned, "decisions": decided, "assigned": assigned,
        "stopped": stopped, "samples": len(timings),
        "seconds": spent, "per_second": decided / spent if spent else 0.0,
        "mean_ms": spent * 1000 / decided if decided else float("nan"),
        "median_ms": statistics.median(ms), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
    }


# --- one database ----------------------------------------------------------------------


def run_database(kind: str, url: str, args) -> list[dict]:
    upgrade(url)
    engine = make_engine(url)
    try:
        store = RouterStore(engine, policy.PolicyConfig())
        with engine.connect() as conn:
            server = conn.execute(sqlalchemy.text(
                "select sqlite_version()" if kind == "sqlite" else "show server_version")).scalar_one()
        rng = random.Random(args.seed)
        at = datetime.now(UTC)
        items = make_roster(rng, args.agents, args.tickets, at)
        t0 = time.perf_counter()
        load_roster(store, items)
        t1 = time.perf_counter()
        load_open_tickets(store, rng, items, args.tickets, at)
        if kind == "postgresql":  # after a bulk load, as autovacuum would soon do in production
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        t2 = time.perf_counter()
        print(f"\n[{kind} {server}] set-up (not measured): roster of {args.agents} via import_roster "
              f"{t1 - t0:.1f}s; {args.tickets} open tickets bulk-inserted {t2 - t1:.1f}s", flush=True)
        rows = []
        for mode, measure in (("route", measure_route), ("drain", measure_drain)):
            if args.mode not in (mode, "both"):
                continue
            t0 = time.perf_counter()
            row = measure(store, rng, args.decisions, args.max_seconds, args.profile, args.uncategorised)
            row.update(database=kind, server=server, agents=args.agents, wall=time.perf_counter() - t0)
            print(f"[{kind}] {mode}: {row['decisions']} decisions ({row['assigned']} assigned) "
                  f"in {row['seconds']:.1f}s measured, {row['wall']:.1f}s with set-up; "
                  f"{row['per_second']:.1f}/s, median {row['median_ms']:.2f} ms, p95 {row['p95_ms']:.2f} ms, "
                  f"p99 {row['p99_ms']:.2f} ms, max {row['max_ms']:.2f} ms; per decision "
                  f"{row['statements_per_decision']:.2f} SQL statements, {row['commits_per_decision']:.2f} commits, "
                  f"{row['checkouts_per_decision']:.2f} connection checkouts, {row['checked_per_decision']:.1f} "
                  f"agents checked, CPU {row['cpu_ms_per_decision']:.2f} ms"
                  f"{' here and in the server' if kind == 'postgresql' else ''} (p99 in this process "
                  f"{row['cpu_p99_ms']:.2f} ms); "
                  f"peak memory of this process {peak_rss_mb():.0f} MB", flush=True)
            rows.append(row)
        check_loads(store)
        return rows
    finally:
        engine.dispose()


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def print_table(rows: list[dict]) -> None:
    header = ("database", "mode", "agents", "open tickets", "decisions", "decisions/s", "mean ms", "median ms",
              "p95 ms", "p99 ms", "max ms", "CPU ms", "CPU p99", "SQL/dec", "checked/dec",
              f"p99 < {TARGET_P99_MS:g} ms")
    lines = [header]
    for r in rows:
        decisions = f"{r['decisions']}" + (f" of {r['planned']}" if r["stopped"] else "")
        decisions += {"time": " (t)", "stuck": " (s)"}.get(r["stopped"], "")
        lines.append((f"{r['database']} {r['server']}", r["mode"], f"{r['agents']}", f"{r['open_tickets']}",
                      decisions, f"{r['per_second']:.1f}", f"{r['mean_ms']:.2f}", f"{r['median_ms']:.2f}",
                      f"{r['p95_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.2f}",
                      f"{r['cpu_ms_per_decision']:.2f}", f"{r['cpu_p99_ms']:.2f}",
                      f"{r['statements_per_decision']:.1f}", f"{r['checked_per_decision']:.1f}",
                      "yes" if r["p99_ms"] < TARGET_P99_MS else "NO"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths,
                                                                                                      strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"router benchmark: {args.agents} agents, {args.tickets} open tickets, {args.decisions} decisions "
          f"per mode, {args.uncategorised:.0%} of them uncategorised, seed {args.seed}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}; Python {platform.python_version()}, "
          f"SQLAlchemy {sqlalchemy.__version__}", flush=True)
    rows: list[dict] = []
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for kind in kinds:
        if kind == "sqlite":
            with sqlite_database() as url:
                rows += run_database(kind, url, args)
        else:
            with postgres_database(args.postgres_url) as url:
                rows += run_database(kind, url, args)
    print(f"\nRouting decisions (target: p99 under {TARGET_P99_MS:g} ms per decision)\n")
    print_table(rows)
    print("\nroute: apply_event untimed, store.route() timed per call (roster read, decide, atomic claim, "
          "decision + outbox rows).\ndrain: drain_waiting() sweeps; decisions/s and mean include the roster "
          "refresh, queue reads and checkpoint,\n       median/p95/p99/max are the route() calls inside the sweeps."
          f"\nnew tickets: {args.uncategorised:.0%} without a category (any skill will do), 30% without a language."
          "\nCPU ms: CPU time per timed decision, this process's plus on PostgreSQL its server processes'; "
          "CPU p99: this process's alone.\n       Other programs barely move them (a quiet machine adds the "
          "commit's disk flush and the round trips).\nSQL/dec: SQL statements per timed decision (commits and "
          "connection checkouts not included); checked/dec: agents checked one by one per decision.")
    if any(r["stopped"] == "time" for r in rows):
        print("(t): stopped at --max-seconds of measured time; `--max-seconds 0` measures every decision.")
    if any(r["stopped"] == "stuck" for r in rows):
        print("(s): a sweep assigned nobody while some new tickets still waited (no eligible agent).")
    if any(r["samples"] < 100 for r in rows):
        print("fewer than 100 decisions in a row: its p99 is the slowest decision.")
    verdict = all(r["p99_ms"] < TARGET_P99_MS for r in rows)
    print(f"\nverdict: p99 under {TARGET_P99_MS:g} ms in every row: {'yes' if verdict else 'NO'}; "
          f"total run {time.perf_counter() - started:.0f}s")
    return rows


if __name__ == "__main__":
    main()
