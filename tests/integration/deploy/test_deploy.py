"""deploy/ checked offline, as `make test` runs on a machine without Docker or a
cluster: the compose file as Docker renders it, the Kubernetes manifests as
kustomize renders them against the Kubernetes schemas, the image's entrypoints
and migrations, and the Grafana dashboard's metrics. The checks live in
deploy/validate.py (also `make deploy-check`); each one is also shown failing
on a broken input, so a green run means something. The checks that read files
only (shared configuration, the Dockerfile, the dashboard's metrics) are
tests/unit/test_deploy_files.py."""

from __future__ import annotations

import base64
import copy
import importlib.util
import subprocess
import sys

import pytest
import yaml

from testkit.deploy_checks import load_validate
from testkit.paths import ROOT

validate = load_validate()


@pytest.fixture(scope="module")
def compose():
    return validate.compose_source(), validate.render_compose()


@pytest.fixture(scope="module", params=validate.KUSTOMIZATIONS, ids=lambda p: p.name)
def manifests(request):
    return validate.render_kustomization(request.param)


@pytest.fixture(scope="module")
def overlay():
    return validate.render_kustomization(validate.KUSTOMIZATIONS[-1])


def _referenced_modules():
    """Every services.<name> that the Dockerfile, compose and the manifests run,
    read from the files as written (collection must not depend on the tools)."""
    commands = [[validate.DOCKERFILE.read_text()]]
    commands += [svc.get("command") for svc in validate.compose_source()["services"].values()]
    for path in (ROOT / "deploy" / "k8s").rglob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        commands += [validate.container_command(c) for w in validate.workloads(docs) for c in w.containers]
    return sorted({m for cmd in commands for m in validate.command_modules(cmd)})


# --- docker compose ---------------------------------------------------------------


def test_compose_renders_with_docker_and_references_only_what_exists(compose):
    source, rendered = compose
    assert validate.compose_problems(source, rendered) == []
    assert validate.compose_registry_problems(rendered) == []
    services = rendered["services"]
    # The whole system: every service of the registry, the broker, the database, Redis, the migrations.
    assert set(validate.registry.names()) | {"rabbitmq", "postgres", "redis", "migrate"} == set(services)
    assert validate.migration_problems("compose", services["migrate"]["command"]) == []
    plugins = (ROOT / "deploy" / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    for name, port in ((s.name, s.port) for s in validate.registry.SERVICES):
        svc = services[name]
        assert "healthcheck" not in svc or not svc["healthcheck"].get("disable"), name
        assert validate.container_ports(svc) == {port}, name
        assert svc["environment"]["AUTO_MIGRATE"] == "0" and svc["environment"]["HTTP_HOST"] == "0.0.0.0"
        assert svc["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert services["tickets"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # The web intake's workers share their rate-limit counts in Redis, and start without it.
    assert services["intake_chat"]["environment"]["RATE_LIMIT_STORAGE_URI"] == "redis://redis:6379/0"
    assert services["intake_chat"]["depends_on"]["redis"]["condition"] == "service_started"
    assert "ports" not in services["redis"]


def test_compose_refuses_to_start_without_its_secrets(tmp_path):
    env = tmp_path / "no-secrets.env"
    env.write_text("BIND_ADDRESS=127.0.0.1\n")
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD|RABBITMQ_PASSWORD|TRACKING_SECRET"):
        validate.render_compose(env_file=env)


def test_compose_check_finds_broken_references(compose):
    source, rendered = compose
    broken = copy.deepcopy(rendered)
    broken["services"]["router"]["depends_on"]["rabbit"] = {"condition": "service_healthy"}
    broken["services"]["router"]["networks"] = {"frontend": None}
    broken["services"]["router"]["command"] = ["python", "-m", "services.ruoter"]
    broken["services"]["rabbitmq"]["volumes"].append("rabbit-logs:/var/log/rabbitmq")
    bad_source = copy.deepcopy(source)
    bad_source["services"]["tickets"]["env_file"] = ["missing.env"]
    problems = "\n".join(validate.compose_problems(bad_source, broken))
    for expected in ("'rabbit', which is not a service", "network 'frontend'", "services.ruoter is not a service",
                     "volume 'rabbit-logs'", "env_file 'missing.env'"):
        assert expected in problems


def test_compose_and_kubernetes_share_one_configuration():
    shared = validate.read_env_file()
    assert shared == validate.read_env_file(ROOT / "deploy" / "k8s" / "base" / "config.env")
    # The web intake finds the console (knowledge-base suggestions) at its Service, not at 127.0.0.1.
    assert shared["CONSOLE_URL"] == "http://console:8008"


def test_the_registry_checks_catch_a_missing_an_unknown_and_a_misplaced_service(compose, overlay):
    _, rendered = compose
    broken = copy.deepcopy(rendered)
    del broken["services"]["notifier"]
    broken["services"]["intake_fax"] = copy.deepcopy(broken["services"]["intake_chat"])
    broken["services"]["console"]["ports"] = [{"target": 8080, "published": "8080"}]
    problems = "\n".join(validate.compose_registry_problems(broken))
    for expected in ("no service notifier", "intake_fax is not in services/common/registry.py",
                     "console listens on 8008, but publishes [8080]"):
        assert expected in problems
    docs = copy.deepcopy(overlay)
    docs.remove(next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "router"))
    docs.remove(next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "notifier"))
    problems = "\n".join(validate.kubernetes_registry_problems(docs))
    assert "no Service sends port 8005" in problems and "0 Deployments run services.notifier" in problems
    wrong = validate.peer_url_problems({"ROUTER_URL": "http://router:8005", "CONSOLE_URL": "http://console:8080"},
                                       {"router", "console"}, {"router"})
    assert wrong == ["config.env: CONSOLE_URL names port 8080, but console listens on 8008",
                     "config.env: CONSOLE_URL names host 'console', which is no Kubernetes service"]


# --- Kubernetes -----------------------------------------------------------------------


def test_manifests_validate_against_the_kubernetes_schemas(manifests):
    kinds = {d["kind"] for d in manifests}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "Job"} <= kinds
    assert validate.schema_problems(manifests) == []


def test_schema_validation_catches_a_misspelt_field(overlay):
    misspelt = copy.deepcopy(next(d for d in overlay if d["kind"] == "Deployment"))
    misspelt["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    assert "livenesProbe" in "".join(validate.schema_problems([misspelt], versions=("1.37.0",)))
    wrong_type = copy.deepcopy(next(d for d in overlay if d["kind"] == "Deployment"))
    wrong_type["spec"]["replicas"] = "two"
    assert "spec.replicas: 'two'" in "".join(validate.schema_problems([wrong_type], versions=("1.37.0",)))


def test_every_service_runs_non_root_with_limits_and_probes_on_its_own_port(manifests):
    assert validate.workload_problems(manifests) == []
    assert validate.service_problems(manifests) == []
    assert validate.autoscaling_problems(manifests) == []
    deployments = {w.service for w in validate.workloads(manifests) if w.doc["kind"] == "Deployment"}
    assert deployments == set(validate.registry.names())
    assert validate.kubernetes_registry_problems(manifests) == []
    job = next(w for w in validate.workloads(manifests) if w.doc["kind"] == "Job")
    assert validate.migration_problems("Job", validate.container_command(job.containers[0])) == []


def test_workload_checks_catch_root_missing_limits_and_wrong_probes(overlay):
    docs = copy.deepcopy(overlay)
    tickets = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "tickets")
    pod = tickets["spec"]["template"]["spec"]
    pod["securityContext"]["runAsUser"] = 0
    del pod["enableServiceLinks"]
    container = pod["containers"][0]
    del container["resources"]["limits"]["memory"]
    container["readinessProbe"]["httpGet"]["path"] = "/healthz"
    container["command"] = container.pop("args")
    container["livenessProbe"]["httpGet"]["port"] = 8001
    router_svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "router")
    router_svc["spec"]["ports"][0]["targetPort"] = "metrics"
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "router")
    docs.remove(hpa)
    problems = "\n".join(validate.workload_problems(docs) + validate.service_problems(docs)
                         + validate.autoscaling_problems(docs))
    for expected in ("Deployment/tickets: the pod must set runAsNonRoot", "enableServiceLinks",
                     "no limits.memory", "readinessProbe asks 8004/healthz", "livenessProbe asks 8001/health/live",
                     "targetPort metrics", "no HorizontalPodAutoscaler for router", "sets command"):
        assert expected in problems


def test_the_servicemonitor_scrapes_every_service_of_the_system(overlay):
    monitors = [d for d in overlay if d["kind"] == "ServiceMonitor"]
    assert len(monitors) == 1
    assert validate.servicemonitor_problems(overlay) == []
    wrong = copy.deepcopy(overlay)
    next(d for d in wrong if d["kind"] == "ServiceMonitor")["spec"]["endpoints"][0]["port"] = "web"
    assert any("no port named 'web'" in p for p in validate.servicemonitor_problems(wrong))


def _policy(docs, name):
    return next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)


def test_network_policies_let_in_exactly_the_callers_the_registry_declares(manifests):
    assert validate.network_policy_problems(manifests) == []
    router = _policy(manifests, "router")
    assert router["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "router"}}
    console = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "console"}}}
    assert console in router["spec"]["ingress"][1]["from"]
    # tickets is asked over RabbitMQ only: nothing in the namespace may open its port.
    assert [peer for rule in _policy(manifests, "tickets")["spec"]["ingress"] for peer in rule["from"]
            if "namespaceSelector" not in peer] == []
    deny = _policy(manifests, "default-deny-ingress")["spec"]
    assert deny["policyTypes"] == ["Ingress"] and not deny.get("ingress")


def test_the_example_overlay_names_the_namespaces_of_prometheus_and_the_ingress_controller(overlay):
    scrape = _policy(overlay, "notifier")["spec"]["ingress"][0]["from"][0]
    assert scrape == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus",
                                                      "app.kubernetes.io/managed-by": "prometheus-operator"}}}
    public = _policy(overlay, "intake-whatsapp")["spec"]["ingress"][1]["from"]
    assert public == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]


def test_the_network_policy_check_catches_a_wrong_policy(overlay):
    docs = copy.deepcopy(overlay)
    router = _policy(docs, "router")["spec"]["ingress"]
    # The web intake does not call the router: letting it in, and leaving the console out, are both wrong.
    router[1]["from"] = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "intake-chat"}}}]
    # One Prometheus for all: a second one, let in to the router only, is a mistake an overlay patch makes.
    router[0]["from"][0]["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}
    tickets = _policy(docs, "tickets")["spec"]["ingress"]
    tickets.append({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                    "ports": [{"port": "http"}]})
    _policy(docs, "console")["spec"]["ingress"][2]["ports"] = [{"port": 8080}]
    _policy(docs, "intake-voice")["spec"]["ingress"][1].pop("from")
    docs.remove(_policy(docs, "notifier"))
    problems = "\n".join(validate.network_policy_problems(docs))
    for expected in (
            "router: a NetworkPolicy lets intake_chat in, but the registry does not declare that intake_chat "
            "calls router",
            "router: console calls it (the registry's `calls`), but no NetworkPolicy lets console in",
            "NetworkPolicy/tickets (tickets): lets namespaces {\"matchLabels\":{\"kubernetes.io/metadata.name\":"
            "\"ingress-nginx\"}} in from outside the namespace, but tickets is no public front",
            "NetworkPolicy/console (console): opens {'port': 8080}, but console serves only TCP 8008",
            "NetworkPolicy/intake-voice (intake_voice): a rule with no `from` lets anyone in",
            "notifier: no NetworkPolicy of its own",
            "notifier: Prometheus cannot scrape /metrics",
            "the Prometheus is let in as 2 different peers"):
        assert expected in problems
    # Without the default deny, a pod no other policy selects (the migration Job's) accepts anything.
    docs = copy.deepcopy(overlay)
    docs.remove(_policy(docs, "default-deny-ingress"))
    problems = validate.network_policy_problems(docs)
    assert "Job/migrate: no default-deny NetworkPolicy (Ingress, no rules) selects its pods" in problems
    assert len(problems) == len(validate.registry.SERVICES) + 1  # every Deployment, and the Job
    # An Ingress to a service the policies keep the ingress controller out of would never answer.
    docs = copy.deepcopy(overlay)
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "tickets"
    assert any("routes complaints.example.org/ to tickets, which is no public front" in p
               for p in validate.network_policy_problems(docs))


def test_the_example_overlay_sets_image_namespace_and_generated_config(overlay):
    assert {d["metadata"].get("namespace") for d in overlay if d["kind"] != "Namespace"} == {"complaints"}
    images = {c["image"] for w in validate.workloads(overlay) for c in w.containers}
    assert images == {"registry.example.org/complaints:1.0.0"}
    config = next(d for d in overlay if d["kind"] == "ConfigMap")
    assert config["data"]["PUBLIC_BASE_URL"] == "https://complaints.example.org"
    # Deployments refer to the generated (content-hashed) names.
    tickets = next(d for d in overlay if d["kind"] == "Deployment" and d["metadata"]["name"] == "tickets")
    refs = tickets["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert refs[0]["configMapRef"]["name"] == config["metadata"]["name"] != "complaints-config"
    assert tickets["spec"]["replicas"] == 3
    # The web intake's replicas share their rate-limit counts in Redis, and behind the
    # Ingress count each client by the address the ingress saw.
    assert config["data"]["TRUSTED_PROXY_HOPS"] == "1"
    secret = next(d for d in overlay if d["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["RATE_LIMIT_STORAGE_URI"]).startswith(b"redis://")


# --- the image ------------------------------------------------------------------------


@pytest.mark.parametrize("name", _referenced_modules())
def test_every_entrypoint_the_manifests_run_exists(name):
    status = validate.module_status(name)
    if status == "pending":
        pytest.skip(f"services.{name} is not in the tree yet (a known service still being built)")
    assert status == "ok"
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None


def test_a_misspelt_entrypoint_is_refused():
    assert validate.command_modules(["sh", "-ec", "python -m services.tickets migrate\npython -m services.ruoter"]) \
        == ["tickets", "ruoter"]
    assert "not a service of this system" in validate.module_status("ruoter")
    assert validate.module_status("tickets") == "ok"


def test_the_migration_job_migrates_every_service_on_one_postgresql_database(postgres_url, tmp_path):
    """What the compose one-shot and the Kubernetes Job run, on one shared
    database: each service's schema lands in its own version table."""
    job = next(w for w in validate.workloads(validate.render_kustomization(validate.KUSTOMIZATIONS[0]))
               if w.doc["kind"] == "Job")
    script = validate.container_command(job.containers[0])[-1]
    built = [n for n in validate.migrations_run_by([script]) if validate.module_status(n) == "ok"]
    assert {"tickets", "router"} <= set(built)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": postgres_url, "VAR_DIR": str(tmp_path),
           "TRACKING_SECRET": "test", "LOG_FORMAT": "json", "AUTO_MIGRATE": "0"}
    for name in built:
        done = subprocess.run([sys.executable, "-m", f"services.{name}", "migrate"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"services.{name} migrate: {done.stderr[-2000:]}"
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    print(f"migrated {', '.join(built)}: {len(tables)} tables")
    assert {"tickets"} <= tables and len(tables) > len(built)


def test_the_image_healthcheck_asks_the_containers_own_service(tmp_path, rabbit, services):
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    assert healthcheck.service_from_cmdline(["tini", "--", "python", "-m", "services.tickets"]) == ("tickets", True)
    assert healthcheck.service_from_cmdline(["python", "-m", "services.router", "migrate"]) == ("router", False)

    def check(service: str, port: int) -> subprocess.CompletedProcess:
        # PID 1's command line as tini leaves it: NUL-separated, NUL-terminated.
        cmdline = tmp_path / f"{service}.cmdline"
        cmdline.write_bytes(f"tini\0--\0python\0-m\0services.{service}\0".encode())
        return subprocess.run([sys.executable, "deploy/healthcheck.py", "--cmdline-file", str(cmdline)], cwd=ROOT,
                              env={f"{service.upper()}_PORT": str(port), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=30)

    intake = services.start("intake_chat")
    assert check("intake_chat", intake.port).returncode == 0
    # Nothing listening: unhealthy, and it says where it asked.
    done = check("router", 9)
    assert done.returncode == 1 and "127.0.0.1:9/health/ready" in done.stderr


# --- the whole check, as `make deploy-check` runs it ------------------------------------


def test_validate_script_runs_clean():
    done = subprocess.run([sys.executable, "deploy/validate.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
