"""The house rule on imports: a service talks to another only through the kernel
(services/common: the contract, events, errors) and the broker, never by importing
its package; the kernel imports no service."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
PACKAGES = sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists())


def imported_services(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "services" and parts[1] in PACKAGES:
                found.add(parts[1])
    return found


def offences() -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((SERVICES / package).rglob("*.py")):
            for other in imported_services(path) - {package, "common"}:
                out.append(f"{path.relative_to(ROOT)} imports services.{other}")
            if package == "common" and imported_services(path) - {"common"}:
                out.append(f"{path.relative_to(ROOT)}: the kernel imports a service")
    return out


def test_no_service_imports_another_services_package():
    assert offences() == []


def test_the_check_sees_an_import_of_another_service(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from services.tickets.domain import STATUSES\nimport services.router.policy\n")
    assert imported_services(sneaky) == {"tickets", "router"}
