"""Where the repository's files are, for tests and tools that read them
(samples/, deploy/, tests/data/) or start a service from the repository root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
