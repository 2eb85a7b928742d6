"""The router benchmark still runs (tiny sizes, SQLite only), so it cannot rot unnoticed."""

from bench.router_bench import main


def test_the_router_benchmark_runs_and_reports_both_modes(capsys):
    rows = main(["--agents", "20", "--tickets", "100", "--decisions", "20", "--db", "sqlite", "--seed", "7"])
    assert [(r["database"], r["mode"]) for r in rows] == [("sqlite", "route"), ("sqlite", "drain")]
    for r in rows:
        assert r["agents"] == 20 and r["decisions"] >= 1 and r["per_second"] > 0
        assert r["median_ms"] > 0 and r["p99_ms"] >= r["median_ms"]
    assert rows[0]["decisions"] == 20 and rows[0]["open_tickets"] == 100  # one decision per new ticket
    out = capsys.readouterr().out
    assert "decisions/s" in out and "verdict:" in out and "sqlite" in out
