"""deploy/ read as files, with no tool, server or service: compose and
Kubernetes share one configuration, the image runs as a non-root user, and
every metric on the Grafana dashboard is one a service defines. The checks
live in deploy/validate.py; the ones that need Docker, kustomize, the schemas,
PostgreSQL or RabbitMQ are tests/integration/deploy/test_deploy.py."""

from __future__ import annotations

import json

from testkit.deploy_checks import load_validate
from testkit.paths import ROOT

validate = load_validate()


def test_compose_and_kubernetes_share_one_configuration():
    def read(path):
        return dict(line.split("=", 1) for line in path.read_text().splitlines()
                    if line.strip() and not line.startswith("#"))

    assert read(ROOT / "deploy" / "config.env") == read(ROOT / "deploy" / "k8s" / "base" / "config.env")


def test_the_image_runs_as_a_non_root_user():
    assert validate.dockerfile_problems(validate.DOCKERFILE.read_text()) == []
    tini = 'ENTRYPOINT ["tini", "--"]\n'
    assert validate.dockerfile_problems(f"FROM python:3.11-slim\nUSER app\nUSER root\n{tini}") == [
        "Dockerfile: the final USER is root (root)"]
    assert "no USER" in validate.dockerfile_problems(f"FROM python:3.11-slim\n{tini}CMD [\"python\"]\n")[0]
    assert "tini" in validate.dockerfile_problems("FROM python:3.11-slim\nUSER 10001\n")[0]


def test_every_dashboard_metric_is_defined_by_a_service_or_pending():
    dashboard = json.loads(validate.DASHBOARD.read_text())
    used, problems, notes = validate.dashboard_report(dashboard, validate.defined_metrics())
    print("\ndashboard metrics:")
    for name, where in sorted(used.items()):
        print(f"  {name}: {where}")
    for note in notes:
        print(f"  note: {note}")
    assert problems == []
    # The headline metrics are on it.
    for name in ("complaints_intake_received_total", "complaints_tickets_open", "complaints_routing_waiting",
                 "complaints_routing_decision_seconds_bucket", "complaints_agent_load",
                 "complaints_intake_to_assignment_seconds_bucket"):
        assert name in used


def test_the_dashboard_check_catches_an_unknown_metric():
    dashboard = {"panels": [{"targets": [{"expr": "sum(rate(complaints_intake_recieved_total[5m]))"}]}]}
    _, problems, _ = validate.dashboard_report(dashboard, validate.defined_metrics())
    assert problems and "complaints_intake_recieved_total" in problems[0]


def test_metrics_are_read_from_the_services_source():
    metrics = {m.exposed: m for m in validate.defined_metrics()}
    load = metrics["complaints_agent_load"]
    assert (load.type, load.labels, load.file) == ("gauge", ("agent",), "services/router/metrics.py")
    assert metrics["complaints_routing_decision_seconds"].type == "histogram"
    table = validate.metrics_table(list(metrics.values()))
    assert "| `complaints_tickets_open` | gauge | `status`, `priority` |" in table
