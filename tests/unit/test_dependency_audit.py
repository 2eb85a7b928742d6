"""The dependency audit's policy (scripts/dependency_audit.py, README "Dependency
audit"): what fails the run, what an accepted risk looks like and when it runs out,
and what is said when nothing could be audited. pip-audit's JSON is given here;
`make audit` runs the real thing."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date

import pytest

from testkit.paths import ROOT

spec = importlib.util.spec_from_file_location("dependency_audit", ROOT / "scripts" / "dependency_audit.py")
audit = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = audit  # its dataclasses look their module up there
spec.loader.exec_module(audit)

TODAY = date(2026, 11, 28)


def report(*deps):
    return {"dependencies": list(deps), "fixes": []}


def dep(name, version, *vulns):
    return {"name": name, "version": version, "vulns": list(vulns)}


def vuln(vuln_id, fixes=(), aliases=()):
    return {"id": vuln_id, "fix_versions": list(fixes), "aliases": list(aliases), "description": "..."}


def test_a_vulnerability_with_a_fixed_version_fails_the_run_and_says_what_to_upgrade_to():
    verdict = audit.judge(report(dep("flask", "3.1.3", vuln("PYSEC-2099-1", ["3.1.4"])), dep("pika", "1.4.4")),
                          {}, TODAY)
    assert verdict.exit_code == 1
    assert verdict.failing == ["flask 3.1.3: PYSEC-2099-1, fixed in 3.1.4"]
    assert verdict.audited == 2


def test_a_vulnerability_with_no_fix_yet_is_reported_but_does_not_fail():
    verdict = audit.judge(report(dep("pika", "1.4.4", vuln("GHSA-aaaa-bbbb-cccc"))), {}, TODAY)
    assert verdict.exit_code == 0
    assert verdict.reported == ["pika 1.4.4: GHSA-aaaa-bbbb-cccc, no fixed version yet; nothing to upgrade to yet"]


def test_an_accepted_risk_passes_until_its_expiry_then_fails_again():
    accepted = audit.read_ignore_file("# comment\n\nCVE-2099-7  2026-12-31  jinja2: sandbox unused\n")
    found = report(dep("jinja2", "3.1.6", vuln("GHSA-zzzz-yyyy-xxxx", ["3.1.7"], aliases=["CVE-2099-7"])))
    assert audit.judge(found, accepted, TODAY).exit_code == 0
    assert "accepted until 2026-12-31: jinja2: sandbox unused" in audit.judge(found, accepted, TODAY).reported[0]
    later = audit.judge(found, accepted, date(2027, 1, 1))
    assert later.exit_code == 1
    assert later.failing[0].endswith("its acceptance expired on 2026-12-31")


@pytest.mark.parametrize("line", ["CVE-2099-7 2026-12-31", "CVE-2099-7 soon because reasons"])
def test_an_acceptance_without_an_expiry_date_or_a_reason_is_refused(line):
    with pytest.raises(audit.IgnoreFileError, match="line 1"):
        audit.read_ignore_file(line)


def test_the_repository_ignore_file_reads():
    audit.read_ignore_file((ROOT / "security" / "pip-audit-ignore.txt").read_text())


def test_when_the_service_answers_for_no_package_it_says_so_loudly_and_does_not_fail(capsys):
    unreachable = report({"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"})
    verdict = audit.judge(unreachable, {}, TODAY)
    assert audit.report_verdict(verdict) == 0
    assert "DEPENDENCY AUDIT NOT DONE" in capsys.readouterr().out
