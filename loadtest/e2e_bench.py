"""The end-to-end benchmark (part of `make bench`).

    python -m loadtest.e2e_bench [--complaints N] [--rate PER_SECOND] [--quick]

Starts the whole system on a private PostgreSQL and RabbitMQ, loads a
roster, drives complaints through the real HTTP intakes, first at a fixed
rate and then as fast as they are answered, waits until every complaint is
a ticket with an assignee, and prints: complaints/s end to end, p50/p95/p99
of intake-accepted -> ticket-assigned, CPU seconds and peak memory of each
service; then, on the same broker and database, the machine's raw ceiling
(pika publishing the same messages with confirms into a durable queue and
consuming them; PostgreSQL inserts per second) and our rate as a share of it.
Nothing here is asserted: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import Counter

import pika
import psutil
import psycopg2

from .chaos import send_load
from .cluster import Cluster
from .drivers import Outcome
from .verify import assignment_times, message_counts


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


class ResourceSampler:
    """CPU seconds and peak resident memory of each service's whole process tree."""

    def __init__(self, cluster: Cluster, interval: float = 0.5):
        self.cluster, self.interval = cluster, interval
        self.peak_rss: dict[str, int] = {}
        self.cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self, name):
        proc = self.cluster.procs[name].proc
        try:
            root = psutil.Process(proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _sample(self):
        for name in self.cluster.procs:
            rss, cpu = 0, 0.0
            for p in self._tree(name):
                try:
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    cpu += times.user + times.system
                except psutil.Error:
                    pass
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
            self.cpu[name] = max(self.cpu.get(name, 0.0), cpu)

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self.start_cpu = dict(self.cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def table(self) -> str:
        lines = [f"  {'service':<16} {'CPU s':>8} {'peak MB':>9}"]
        for name in self.cluster.procs:
            used = self.cpu.get(name, 0) - self.start_cpu.get(name, 0)
            lines.append(f"  {name:<16} {used:>8.1f} {self.peak_rss.get(name, 0) / 2**20:>9.0f}")
        return "\n".join(lines)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def drive(cluster: Cluster, drivers, count: int, rate: float | None) -> tuple[list[Outcome], float]:
    """Send `count` complaints at `rate` (None: as fast as 8 clients are answered)."""
    outcomes: list[Outcome] = []
    stop = threading.Event()
    started = time.monotonic()
    thread = threading.Thread(target=send_load, args=(drivers, rate or 1e9, outcomes, stop), daemon=True)
    thread.start()
    while len(outcomes) < count:
        time.sleep(0.5)
        print(f"\r  sent {len(outcomes)}/{count}", end="", flush=True)
    stop.set()
    thread.join()
    print()
    return outcomes, time.monotonic() - started


def wait_assigned(cluster: Cluster, outcomes: list[Outcome], timeout: float) -> dict[str, float]:
    url = cluster.database_url("tickets")
    wanted = {(o.channel, o.key) for o in outcomes if o.status == "accepted"}
    deadline = time.monotonic() + timeout
    while True:
        assigned = assignment_times(url)
        done = len(wanted & assigned.keys())
        print(f"\r  assigned {done}/{len(wanted)}", end="", flush=True)
        if done == len(wanted) or time.monotonic() > deadline:
            print()
            return assigned
        time.sleep(0.5)


def report_phase(name: str, outcomes: list[Outcome], assigned: dict[str, float], cluster: Cluster) -> float:
    accepted = [o for o in outcomes if o.status == "accepted"]
    latencies = [assigned[(o.channel, o.key)] - o.accepted_at for o in accepted if (o.channel, o.key) in assigned]
    stored = message_counts(cluster.database_url("tickets"))
    first = min(o.sent_at for o in outcomes)
    last = max(assigned.get((o.channel, o.key), 0) for o in accepted) if accepted else first
    rate = len(latencies) / (last - first) if last > first else 0.0
    by_channel = ", ".join(f"{c} {n}" for c, n in sorted(Counter(o.channel for o in accepted).items()))
    print(f"\n{name}: {len(outcomes)} sent, {len(accepted)} accepted ({by_channel}), "
          f"{sum(1 for o in accepted if (o.channel, o.key) in stored)} ticketed, {len(latencies)} assigned")
    print(f"  end to end: {rate:.1f} complaints/s (first sent -> last assigned)")
    if latencies:
        print(f"  accepted -> assigned: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms")
    return rate


def broker_ceiling(amqp_uri: str, count: int) -> tuple[float, float]:
    """Publish `count` complaint-sized persistent messages with confirms into a durable
    quorum queue, one at a time like an intake does, then consume and ack them all."""
    body = json.dumps({"body": "x" * 400, "id": str(uuid.uuid4())}).encode()
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    ch = conn.channel()
    queue = f"bench.ceiling.{uuid.uuid4().hex[:8]}"
    ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    ch.confirm_delivery()
    started = time.monotonic()
    for _ in range(count):
        ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2), mandatory=True)
    publish_rate = count / (time.monotonic() - started)
    ch.basic_qos(prefetch_count=100)
    got = 0
    started = time.monotonic()
    for method, _props, _body in ch.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        ch.basic_ack(method.delivery_tag)
        got += 1
        if got == count:
            break
    consume_rate = got / (time.monotonic() - started)
    ch.cancel()
    ch.queue_delete(queue)
    conn.close()
    return publish_rate, consume_rate


def postgres_ceiling(cluster: Cluster, count: int) -> float:
    """Single-row committed inserts per second (one transaction each, like a ticket)."""
    conn = psycopg2.connect(host="127.0.0.1", port=cluster.postgres.port, user="postgres", dbname="tickets")
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_ceiling (id serial primary key, body text not null)")
    conn.commit()
    started = time.monotonic()
    for n in range(count):
        with conn.cursor() as cur:
            cur.execute("INSERT INTO bench_ceiling (body) VALUES (%s)", (f"complaint {n} " + "x" * 400,))
        conn.commit()
    rate = count / (time.monotonic() - started)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE bench_ceiling")
    conn.commit()
    conn.close()
    return rate


def run(complaints: int, rate: float, keep: bool = False) -> None:
    cluster = Cluster(log=_log)
    try:
        cluster.start()
        cluster.load_roster(agents=50, complaints=2 * complaints)
        drivers = cluster.drivers()
        _log(f"channels driven: {', '.join(d.channel for d in drivers)}")
        with ResourceSampler(cluster) as usage:
            _log(f"phase 1: {complaints} complaints at a fixed {rate:g}/s")
            fixed, _ = drive(cluster, drivers, complaints, rate)
            assigned = wait_assigned(cluster, fixed, timeout=300)
            report_phase(f"fixed rate ({rate:g}/s)", fixed, assigned, cluster)
            _log(f"phase 2: {complaints} complaints as fast as the intakes answer")
            flat_out, seconds = drive(cluster, drivers, complaints, None)
            assigned = wait_assigned(cluster, flat_out, timeout=300)
            ours = report_phase("maximum rate", flat_out, assigned, cluster)
            print(f"  intake alone: {len(flat_out) / seconds:.1f} complaints/s answered")
        print("\nresources over both phases:\n" + usage.table())
        _log("raw ceiling of this machine, same broker and database")
        publish, consume = broker_ceiling(cluster.rabbit.amqp_uri, complaints)
        inserts = postgres_ceiling(cluster, complaints)
        ceiling = min(publish, consume, inserts)
        print(f"\nceiling: pika publish with confirms {publish:.0f}/s, consume+ack {consume:.0f}/s, "
              f"PostgreSQL committed inserts {inserts:.0f}/s")
        print(f"ours end to end at maximum rate: {ours:.1f}/s = {100 * ours / ceiling:.1f}% of the ceiling "
              f"({ceiling:.0f}/s, the slowest of the three)")
    finally:
        cluster.stop(keep=keep)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, help="per phase (default 1000, --quick 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="fixed rate of phase 1, per second")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    args = parser.parse_args(argv)
    run(args.complaints or (200 if args.quick else 1000), args.rate, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
