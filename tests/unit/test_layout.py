"""The test suite's shape is kept, not remembered: every test module sits in a
tier (tests/unit, tests/integration/<service>, tests/e2e), and the unit tier
imports nothing that needs a broker, a database server or a service process,
so `make unit` runs with none of them."""

from __future__ import annotations

import ast

from testkit.paths import ROOT

TESTS = ROOT / "tests"
# Drivers of a broker or a database server, nameko, and the harness that starts services.
FORBIDDEN_IN_UNIT = ("pika", "kombu", "nameko", "psycopg2", "testkit.processes", "testkit.rabbit",
                     "testkit.postgres", "testkit.whole_system", "testkit.browser", "testkit.invariant",
                     "testkit.twilio_intakes", "testkit.email_intake", "testkit.imap_server")


def misplaced(tests=TESTS) -> list[str]:
    """Test modules outside tests/unit, tests/integration/<service> and tests/e2e."""
    found = []
    for path in sorted(tests.rglob("test_*.py")):
        parts = path.relative_to(tests).parts
        placed = (parts[0] in ("unit", "e2e") and len(parts) >= 2) or (parts[0] == "integration" and len(parts) >= 3)
        if not placed:
            found.append(str(path.relative_to(tests)))
    return found


def imported(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(folder) -> list[str]:
    """'<module>: <import>' for every unit module importing what needs something running."""
    return [f"{path.relative_to(folder)}: {name}"
            for path in sorted(folder.rglob("*.py")) for name in sorted(imported(path))
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IN_UNIT)]


def test_every_test_module_sits_in_a_tier():
    assert misplaced() == []


def test_unit_tests_import_no_broker_database_server_or_process_harness():
    assert forbidden_imports(TESTS / "unit") == []


def test_the_checks_catch_a_module_out_of_place_and_a_unit_test_that_needs_rabbitmq(tmp_path):
    (tmp_path / "unit").mkdir()
    (tmp_path / "integration" / "tickets").mkdir(parents=True)
    (tmp_path / "test_flat.py").write_text("")
    (tmp_path / "integration" / "test_no_service.py").write_text("")
    (tmp_path / "integration" / "tickets" / "test_fine.py").write_text("import pika\n")
    (tmp_path / "unit" / "test_sneaky.py").write_text("from nameko.standalone.rpc import ServiceRpcProxy\n"
                                                      "from testkit.processes import service_process\n"
                                                      "import json\n")
    assert misplaced(tmp_path) == ["integration/test_no_service.py", "test_flat.py"]
    assert forbidden_imports(tmp_path / "unit") == [
        "test_sneaky.py: nameko.standalone.rpc", "test_sneaky.py: nameko.standalone.rpc.ServiceRpcProxy",
        "test_sneaky.py: testkit.processes", "test_sneaky.py: testkit.processes.service_process"]
