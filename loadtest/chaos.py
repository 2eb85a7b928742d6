"""`make chaos`: complaints flow while every part of the system is crashed once.

    python -m loadtest.chaos [--quick] [--complaints N] [--rate PER_SECOND] [--keep]

While complaints arrive through the real intakes, each service is killed
with SIGKILL and started again, RabbitMQ is killed and restarted, and
PostgreSQL is crashed (immediate stop) and restarted. Afterwards every
complaint that got a 2xx must be exactly one message on a ticket, no ticket
assigned twice, no ticket half-stored. It prints sent, accepted, ticketed,
duplicated and lost, and exits 1 if anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
import time

from .cluster import Cluster
from .drivers import Outcome
from .verify import Counts, count_notifications, verify


def _log(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", flush=True)


def faults(cluster: Cluster, outage: float) -> list[tuple[str, callable]]:
    """Each fault: a name and what to do (crash, stay down a while, recover)."""
    steps = []
    for name in cluster.names:
        def crash(name=name):
            cluster.kill(name)
            time.sleep(outage)
            cluster.start_service(name)
        steps.append((f"kill -9 {name}, restart", crash))
    steps.append((f"kill -9 RabbitMQ, down {outage:g}s, restart", lambda: cluster.rabbit.restart(outage)))
    steps.append((f"crash PostgreSQL (immediate stop), down {outage:g}s, restart",
                  lambda: cluster.postgres.restart(outage)))
    return steps


def send_load(drivers, rate: float, outcomes: list[Outcome], stop: threading.Event) -> None:
    """Send complaints at `rate` per second until `stop` is set, round robin over the
    drivers, from a few threads so a slow answer does not hold the others back."""
    lock = threading.Lock()
    counter = itertools.count()
    start = time.monotonic()

    def worker():
        while not stop.is_set():
            with lock:
                n = next(counter)
            delay = start + n / rate - time.monotonic()
            if delay > 0 and stop.wait(delay):
                return
            outcome = drivers[n % len(drivers)].send(n)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def settle(cluster: Cluster, outcomes: list[Outcome], timeout: float) -> Counts:
    """Wait until every accepted complaint is stored, every ticket assigned and every
    customer acknowledged (or time runs out); returns the final counts."""
    url = cluster.database_url("tickets")
    deadline = time.monotonic() + timeout
    notifier = "notifier" in cluster.procs
    while True:
        cluster.wait_healthy()  # restarts a service that died meanwhile, as an orchestrator would
        counts = count_notifications(verify(url, outcomes), outcomes, cluster.mail.received(),
                                     cluster.twilio.sent("Messages"))
        missing = counts.lost  # accepted, not stored (yet)
        unacknowledged = counts.accepted - counts.acknowledged if notifier else 0
        _log(f"settling: {missing} accepted complaints not stored yet, {counts.unassigned} tickets unassigned, "
             f"{unacknowledged} customers not acknowledged yet")
        if not missing and not counts.unassigned and not unacknowledged or time.monotonic() > deadline:
            return counts
        time.sleep(2)


def run(complaints: int, rate: float, outage: float = 5, keep: bool = False, settle_timeout: float = 180) -> Counts:
    # A send cut off by kill -9 is retried after this (not the production 5 minutes),
    # so the run sees whether that retry delivers once or twice.
    cluster = Cluster(log=_log, extra_env={"NOTIFIER_SENDING_TIMEOUT_SECONDS": 15, "NOTIFIER_SCHEDULE_SECONDS": 5})
    try:
        cluster.start()
        cluster.load_roster(agents=20, complaints=complaints)
        drivers = cluster.drivers()
        outcomes: list[Outcome] = []
        stop = threading.Event()
        load = threading.Thread(target=send_load, args=(drivers, rate, outcomes, stop), daemon=True)
        _log(f"sending at least {complaints} complaints at {rate:g}/s through "
             f"{', '.join(d.channel for d in drivers)}, crashing each part once on the way")
        load.start()
        steps = faults(cluster, outage)
        spacing = complaints / rate / (len(steps) + 1)
        for name, action in steps:
            time.sleep(spacing)
            _log(f"fault: {name} (after {len(outcomes)} complaints sent)")
            action()
            cluster.wait_healthy()
        # Keep sending a little after the last recovery, then until the minimum is reached.
        time.sleep(spacing)
        while len(outcomes) < complaints:
            time.sleep(0.5)
        stop.set()
        load.join()
        _log(f"load done: {len(outcomes)} sent; waiting for the system to settle")
        counts = settle(cluster, outcomes, settle_timeout)
        dead = cluster.rabbit.queue_messages("tickets.complaints.dead")
        _log(f"dead-lettered complaints: {dead}")
        counts.exited = dict(cluster.exited)
        return counts
    finally:
        cluster.stop(keep=keep)
        if keep:
            _log(f"kept {cluster.workdir}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer complaints (the version inside make test)")
    parser.add_argument("--complaints", type=int, help="at least this many (more if the faults take longer)")
    parser.add_argument("--rate", type=float, help="complaints per second")
    parser.add_argument("--outage", type=float, default=5, help="seconds each crashed part stays down")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the private broker, database and services are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    complaints = args.complaints or (120 if args.quick else 600)
    rate = args.rate or (4.0 if args.quick else 10.0)
    counts = run(complaints, rate, args.outage, keep=args.keep)
    print("\nresult:\n" + counts.table())
    if counts.examples:
        print(f"  examples: {counts.examples}")
    if counts.exited:
        print(f"  services that exited on their own and were restarted: {counts.exited}")
    verdict = "PASS" if counts.ok() else "FAIL"
    print(f"\n{verdict}: lost {counts.lost}, duplicated {counts.duplicated}, "
          f"assigned twice {counts.assigned_twice}, half-stored {counts.incomplete_tickets}, "
          f"notifications sent twice {counts.acks_sent_twice + counts.alerts_sent_twice}")
    return 0 if counts.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
