"""The email benchmark still runs (a small mailbox), so it cannot rot unnoticed,
and its own check (nothing lost, nothing doubled) holds."""

from bench.email_bench import main


def test_the_email_benchmark_drains_a_small_mixed_mailbox(capsys):
    result = main(["--messages", "40", "--seed", "9", "--timeout", "120"])
    assert result["problems"] == []
    assert result["messages"] == 40 and result["complaints"] > 0 and result["per_second"] > 0
    assert result["complaints"] + result["followups"] + result["skipped"] + result["quarantined"] == 40
    out = capsys.readouterr().out
    assert "messages/s" in out and "nothing lost, nothing doubled" in out
