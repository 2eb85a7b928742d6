#!/usr/bin/env python3
"""Run the whole system locally: the supervisor behind `make run`.

Applies the tickets migrations once, starts every service as its own process
(`python -m services.<name>`, as in production), merges their output into one
log with a service-name prefix, prints where to send a complaint once every
service answers /health/live, and stops them all on Ctrl-C or SIGTERM. If a
service exits on its own, the others are stopped and this exits non-zero.

Run it from the repository's virtualenv: `.venv/bin/python scripts/run.py`.
Environment variables pass through to the services (ports, AMQP_URI,
DATABASE_URL, ...); RUN_HEALTH_TIMEOUT (seconds, default 60) bounds the wait
for health.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common import config, registry  # noqa: E402
from services.common.auth import tokens  # noqa: E402

PY = sys.executable

# Started in this order, stopped together: every service in the registry
# (services/common/registry.py, the one list), after a local SMTP sink for what
# the notifier sends (files under var/mail/new/; set SMTP_HOST/SMTP_PORT to use
# a real server instead).
SERVICES: list[tuple[str, list[str]]] = [
    ("mail", [PY, "scripts/mail_sink.py"]),
    *[(s.name, [PY, "-m", s.module]) for s in registry.SERVICES],
]

MIGRATE: tuple[str, list[str]] = ("migrate", [PY, "-m", "services.tickets", "migrate"])

STOP_TIMEOUT = 15.0
HEALTH_TIMEOUT = float(os.environ.get("RUN_HEALTH_TIMEOUT", 60))
SUPERVISOR = "run"
SAMPLE_COMPLAINT = ('{"name":"Ana","email":"ana@example.org","subject":"Charged twice",'
                    '"body":"I was charged twice for order 1234.","category":"billing"}')

COLORS = ["36", "35", "33", "32", "34", "91", "96", "95", "93"]  # ANSI foreground colors


class Log:
    """One combined log on stdout; each line prefixed with a fixed-width service name."""

    def __init__(self, names: list[str]):
        self.width = max([11, *map(len, names)])
        self.color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        self.lock = threading.Lock()
        self.colors = dict(zip([n for n in names if n != SUPERVISOR], itertools.cycle(COLORS)))

    def prefix(self, name: str) -> str:
        label = f"{name:<{self.width}} |"
        if not self.color:
            return label + " "
        code = self.colors.get(name, "1")  # the supervisor's own lines in bold
        return f"\033[{code}m{label}\033[0m "

    def line(self, name: str, text: str) -> None:
        with self.lock:
            try:
                sys.stdout.write(self.prefix(name) + text + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                pass

    def raw(self, text: str) -> None:
        """Unprefixed text (the banner), so commands in it copy and paste cleanly."""
        with self.lock:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                pass

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line(SUPERVISOR, part)

    def pump(self, name: str, stream) -> None:
        """Copy a child's output into the log, line by line, until it closes."""
        for raw in iter(stream.readline, b""):
            self.line(name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        stream.close()


class Service:
    def __init__(self, name: str, argv: list[str], log: Log):
        self.name, self.argv, self.log = name, argv, log
        self.port = service_port(name)
        path = registry.BY_NAME[name].health_live if name in registry.BY_NAME else registry.HEALTH_LIVE
        self.health_url = f"http://{health_host()}:{self.port}{path}" if self.port else None
        self.healthy = False
        self.proc: subprocess.Popen | None = None
        self.reader: threading.Thread | None = None

    def start(self, env: dict[str, str]) -> None:
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which
        # then stops every service (and its workers) in an orderly way.
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self.log.pump, args=(self.name, self.proc.stdout), daemon=True)
        self.reader.start()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_health(self) -> bool:
        if self.healthy or self.health_url is None:
            self.healthy = True
            return True
        try:
            with urllib.request.urlopen(self.health_url, timeout=1) as resp:
                self.healthy = resp.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            self.healthy = False
        return self.healthy

    def signal(self, sig: int) -> None:
        if self.running():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass


def service_port(name: str) -> int | None:
    if name in registry.BY_NAME:
        return config.port(name)
    value = os.environ.get(f"{name.upper()}_PORT")
    return int(value) if value else None


def health_host() -> str:
    host = config.http_host()
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def has_package(name: str) -> bool:
    return (ROOT / "services" / name / "__main__.py").is_file()


def operator_token_file() -> Path:
    """A day's operator token for whoever ran `make run`, kept under var/ (never printed)."""
    path = config.VAR_DIR / "operator_token"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tokens.mint_operator("local", days=1) + "\n")
    path.chmod(0o600)
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def banner(running: list[Service]) -> str:
    names = {s.name for s in running}
    rule = "-" * 72
    lines = ["", rule, "All services are up."]
    if "intake_chat" in names:
        chat = f"http://localhost:{config.port('intake_chat')}"
        lines += [
            "",
            "Send a complaint:",
            f"  curl -X POST {chat}/complaints -H 'Content-Type: application/json' -d '{SAMPLE_COMPLAINT}'",
            "",
            f"Web form:     {chat}/",
            f"Web chat:     {chat}/chat",
        ]
    token = operator_token_file()
    auth = f"-H \"Authorization: Bearer $(cat {token})\""
    if "tickets" in names:
        lines += ["", f"Internal APIs want a token: a local operator's (valid a day) is in {token}",
                  f"Tickets API:  curl {auth} http://localhost:{config.port('tickets')}/tickets"]
    if "router" in names:
        router = f"http://localhost:{config.port('router')}"
        lines += [f"Router:       {router}/agents   (load the sample roster:",
                  f"              curl -X POST {router}/roster {auth} -H 'Content-Type: application/json' "
                  "--data-binary @samples/roster.json)"]
    if "console" in names:
        lines += [f"Agent console: http://localhost:{config.port('console')}/signin",
                  "              (first administrator: CONSOLE_BOOTSTRAP_ADMIN=name:password make run;\n"
                  "               a password of 12 characters or more, then a second factor at first sign-in)"]
    hooks = [f"{label} http://localhost:{config.port(name)}{path}" for name, label, path in (
        ("intake_whatsapp", "WhatsApp", "/messages"), ("intake_sms", "SMS", "/messages"),
        ("intake_voice", "voice", "/calls")) if name in names]
    if hooks:
        lines.append(f"Twilio webhooks: {', '.join(hooks)} (need TWILIO_AUTH_TOKEN)")
    if "intake_email" in names:
        lines.append(f"Email intake: http://localhost:{config.port('intake_email')}/mailboxes "
                     "(mailboxes from EMAIL_MAILBOXES or EMAIL_MAILBOXES_FILE)")
    if "mail" in names:
        lines.append(f"Mail the system sends: {config.VAR_DIR / 'mail' / 'new'}/")
    ports = ", ".join(f"{s.name} {s.port}" for s in running if s.name in registry.BY_NAME)
    lines.append(f"Every service answers {registry.HEALTH_LIVE} and /metrics on its port: {ports}")
    lines += ["", "Ctrl-C stops everything.", rule, ""]
    return "\n".join(lines)


def run_migrations(log: Log, migrate: tuple[str, list[str]] | None, env: dict[str, str]) -> bool:
    if migrate is None:
        return True
    name, argv = migrate
    log.say(f"applying migrations: {' '.join(['python', *argv[1:]])}")
    try:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        log.pump(name, proc.stdout)
        code = proc.wait()
    except KeyboardInterrupt:
        log.say("interrupted during migrations")
        proc.wait()
        return False
    if code != 0:
        log.say(f"migrations failed ({exit_description(code)}): "
                f"`python {' '.join(argv[1:])}`; no service was started")
        return False
    return True


def stop_all(services: list[Service], log: Log, interrupts: list[int]) -> None:
    live = [s for s in services if s.running()]
    if not live:
        return
    log.say(f"stopping {', '.join(s.name for s in live)} (SIGTERM, up to {STOP_TIMEOUT:.0f}s)")
    seen = len(interrupts)
    for service in reversed(live):
        service.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(s.running() for s in live) and time.monotonic() < deadline:
        if len(interrupts) > seen:  # a second Ctrl-C: do not wait any longer
            log.say("second interrupt: killing now")
            break
        time.sleep(0.1)
    for service in live:
        if service.running():
            log.say(f"{service.name} still running; sending SIGKILL")
            service.signal(signal.SIGKILL)
    for service in live:
        service.proc.wait()
        if service.reader:
            service.reader.join(timeout=2)


def main(services: list[tuple[str, list[str]]] | None = None,
         migrate: tuple[str, list[str]] | None = MIGRATE) -> int:
    os.chdir(ROOT)
    services = SERVICES if services is None else services
    log = Log([name for name, _ in services] + ([migrate[0]] if migrate else []) + [SUPERVISOR])
    env = child_env()

    wanted = []
    for name, argv in services:
        if argv[1:2] != ["-m"] or has_package(name):
            wanted.append((name, argv))
        else:
            log.say(f"note: skipping {name}: services/{name}/__main__.py does not exist yet")
    if migrate and not has_package("tickets"):
        migrate = None
    if not wanted:
        log.say("no service to run")
        return 1

    if not run_migrations(log, migrate, env):
        return 1

    interrupts: list[int] = []

    def on_signal(signum, _frame):
        interrupts.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    running: list[Service] = []
    failed: Service | None = None
    try:
        for name, argv in wanted:
            if interrupts:
                break
            service = Service(name, argv, log)
            where = f" (port {service.port})" if service.port else ""
            log.say(f"starting {name}{where}: python {' '.join(argv[1:])}")
            service.start(env)
            running.append(service)

        announced = False
        health_deadline = time.monotonic() + HEALTH_TIMEOUT
        while not interrupts:
            exited = [s for s in running if not s.running()]
            if exited:
                failed = exited[0]
                break
            if not announced:
                if all([s.check_health() for s in running]):  # a list: check every one, each time
                    announced = True
                    log.raw(banner(running))
                elif time.monotonic() > health_deadline:
                    late = [s for s in running if not s.healthy]
                    log.say("not healthy after {:.0f}s: {}; stopping everything".format(
                        HEALTH_TIMEOUT, ", ".join(f"{s.name} ({s.health_url})" for s in late)))
                    stop_all(running, log, interrupts)
                    return 1
            time.sleep(0.2)
    finally:
        if failed is not None:
            if failed.reader:
                failed.reader.join(timeout=2)  # its last words first
            log.say(f"{failed.name} exited unexpectedly ({exit_description(failed.proc.returncode)}); "
                    "stopping the others")
        stop_all(running, log, interrupts)

    if failed is not None:
        log.say(f"stopped: {failed.name} exited unexpectedly")
        return 1
    log.say("all services stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
