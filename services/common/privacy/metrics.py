"""Prometheus metrics of privacy work, the same names in every service (label `service`):

    complaints_privacy_erasures_total{service,outcome}       erasure requests handled: done, failed
                                                             (retried), malformed (parked)
    complaints_privacy_exports_total{service}                subject-access exports answered
    complaints_retention_rows_total{service,table,action}    rows the retention rules erased,
                                                             pseudonymised or deleted

Imported only where prometheus_client may be (under gunicorn, after its multiprocess
directory is set).
"""

from __future__ import annotations

from prometheus_client import Counter

ERASURES = Counter("complaints_privacy_erasures_total",
                   "Subject erasure requests a service handled, by outcome (done, failed and retried, "
                   "malformed and parked)", ["service", "outcome"])
EXPORTS = Counter("complaints_privacy_exports_total", "Subject-access exports a service answered", ["service"])
RETAINED = Counter("complaints_retention_rows_total",
                   "Rows the retention rules erased, pseudonymised or deleted, by table and action",
                   ["service", "table", "action"])


def count_retention(service: str, done: dict[tuple[str, str], int]) -> None:
    """done: (table, action) -> rows."""
    for (table, action), rows in done.items():
        if rows:
            RETAINED.labels(service, table, action).inc(rows)
