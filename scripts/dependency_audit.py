"""The dependency audit `make test` runs (`make audit` alone): pip-audit over the
pinned requirements (requirements.txt, requirements-dev.txt and what they pull in),
judged by the policy in README.md ("Dependency audit"):

- fails (exit 1): a known vulnerability that has a fixed version, in any package
  the requirements install, unless accepted in security/pip-audit-ignore.txt and
  the acceptance has not expired;
- reports without failing: a vulnerability with no fix yet, an accepted one;
- says loudly that nothing (or not everything) was audited, and does not fail,
  when the vulnerability service cannot be reached or answers for no package;
- exit 2: the ignore file itself is wrong (a line without an id, date or reason).

    python scripts/dependency_audit.py [--ignore-file FILE] [REQUIREMENTS ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
IGNORE_FILE = ROOT / "security" / "pip-audit-ignore.txt"
TIMEOUT_SECONDS = 600


class IgnoreFileError(ValueError):
    pass


@dataclass(frozen=True)
class Acceptance:
    vuln_id: str
    expires: date
    reason: str


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vuln_id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    def names(self) -> set[str]:
        return {self.vuln_id, *self.aliases}

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fix_versions)}" if self.fix_versions else "no fixed version yet"
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.vuln_id}{aliases}, {fix}"


@dataclass
class Verdict:
    failing: list[str]
    reported: list[str]
    unaudited: list[str]
    audited: int

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def read_ignore_file(text: str) -> dict[str, Acceptance]:
    """'<id> <YYYY-MM-DD> <reason>' a line; '#' starts a comment. Raises IgnoreFileError."""
    accepted = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(maxsplit=2)
        if len(parts) < 3:
            raise IgnoreFileError(f"line {number}: expected '<vulnerability id> <expiry YYYY-MM-DD> <reason>'")
        try:
            expires = date.fromisoformat(parts[1])
        except ValueError:
            raise IgnoreFileError(f"line {number}: {parts[1]!r} is not a date (YYYY-MM-DD)") from None
        accepted[parts[0]] = Acceptance(parts[0], expires, parts[2])
    return accepted


def findings(report: dict) -> tuple[list[Finding], list[str], int]:
    """pip-audit's JSON -> (vulnerabilities, 'name version: why not audited', packages audited)."""
    found, skipped, audited = [], [], 0
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason"):
            skipped.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            found.append(Finding(dep["name"], dep["version"], vuln["id"], tuple(vuln.get("aliases") or ()),
                                 tuple(vuln.get("fix_versions") or ())))
    return found, skipped, audited


def judge(report: dict, accepted: dict[str, Acceptance], today: date) -> Verdict:
    found, skipped, audited = findings(report)
    verdict = Verdict([], [], skipped, audited)
    for finding in found:
        acceptance = next((accepted[n] for n in sorted(finding.names()) if n in accepted), None)
        if acceptance and acceptance.expires >= today:
            verdict.reported.append(f"{finding}; accepted until {acceptance.expires}: {acceptance.reason}")
        elif finding.fix_versions:
            expired = f"; its acceptance expired on {acceptance.expires}" if acceptance else ""
            verdict.failing.append(f"{finding}{expired}")
        else:
            verdict.reported.append(f"{finding}; nothing to upgrade to yet")
    return verdict


def banner(lines: list[str]) -> str:
    rule = "!" * 78
    return "\n".join([rule, *[f"!! {line}" for line in lines], rule])


def run_pip_audit(requirements: list[str]) -> tuple[dict | None, str]:
    """(pip-audit's JSON report, or None when it could not produce one; its error output)."""
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    for path in requirements:
        command += ["-r", path]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return None, f"pip-audit did not finish within {TIMEOUT_SECONDS} s"
    try:
        return json.loads(done.stdout), done.stderr
    except ValueError:
        return None, (done.stderr or done.stdout).strip()[-2000:]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ignore-file", type=Path, default=IGNORE_FILE)
    parser.add_argument("requirements", nargs="*", default=list(REQUIREMENTS))
    args = parser.parse_args(argv)
    try:
        accepted = read_ignore_file(args.ignore_file.read_text() if args.ignore_file.exists() else "")
    except IgnoreFileError as exc:
        print(f"dependency audit: {args.ignore_file}: {exc}", file=sys.stderr)
        return 2
    report, errors = run_pip_audit(args.requirements)
    if report is None:
        print(banner(["DEPENDENCY AUDIT NOT DONE: pip-audit could not check the requirements.",
                      "The vulnerability service or the package index could not be reached (or pip-audit failed);",
                      "the run goes on, but nothing was audited. Its last words:",
                      *errors.splitlines()[-5:]]))
        return 0
    verdict = judge(report, accepted, date.today())
    return report_verdict(verdict)


def report_verdict(verdict: Verdict) -> int:
    if verdict.unaudited and not verdict.audited:
        print(banner([f"DEPENDENCY AUDIT NOT DONE: the vulnerability service answered for none of the "
                      f"{len(verdict.unaudited)} packages",
                      "(it cannot be reached from here, or it knows none of them). The run goes on, unaudited.",
                      f"For example: {verdict.unaudited[0]}"]))
        return 0
    print(f"dependency audit: {verdict.audited} packages audited against known vulnerabilities")
    if verdict.unaudited:
        print(banner([f"{len(verdict.unaudited)} packages could not be audited:", *verdict.unaudited]))
    for line in verdict.reported:
        print(f"  known, not failing: {line}")
    for line in verdict.failing:
        print(f"  VULNERABLE: {line}")
    if verdict.failing:
        print("dependency audit FAILED: upgrade the pin to a fixed version (requirements*.txt), or record the "
              "accepted risk with an expiry date in security/pip-audit-ignore.txt (README, 'Dependency audit')")
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
