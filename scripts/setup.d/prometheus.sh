# Test peer for the alert rules in deploy/prometheus/ (tests/integration/deploy/test_alert_rules.py):
# promtool, from Debian's prometheus package, checks and unit-tests them.
# Sourced by scripts/setup.sh with its helpers (say, apt_install).

if ! command -v promtool >/dev/null 2>&1; then
    apt_install prometheus
fi
say "prometheus: $(promtool --version 2>&1 | head -1)"
