"""The Prometheus alert rules in deploy/prometheus/, checked and unit-tested by
Debian's promtool (scripts/setup.d/prometheus.sh installs it)."""

from __future__ import annotations

import shutil
import subprocess

from testkit.paths import ROOT

RULES = ROOT / "deploy" / "prometheus"


def promtool(*args, cwd=RULES) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_alert_rules_are_valid_and_fire_as_their_unit_tests_say():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_unit_tests_catch_a_dead_letter_alert_that_would_never_fire(tmp_path):
    for name in ("alerts.yml", "alerts.test.yml"):
        shutil.copy(RULES / name, tmp_path / name)
    rules = tmp_path / "alerts.yml"
    rules.write_text(rules.read_text().replace("max(complaints_tickets_dead_letters) > 0",
                                               "max(complaints_tickets_dead_letters) > 5"))
    tested = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert tested.returncode != 0 and "ComplaintsDeadLettered" in tested.stdout + tested.stderr
