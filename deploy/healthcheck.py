"""The image's HEALTHCHECK: is the service in this container ready?

One image runs every service, each on its own port, so the service is read
from the container's command (`python -m services.<name>`, PID 1's arguments
under tini), its port from services.common.config (which honours
<SERVICE>_PORT) and its health paths from the service registry. Exit 0 when
GET /health/ready answers 200, 1 otherwise; `--live` asks /health/live instead. A container running a one-shot command
(`... migrate`) has nothing to serve and counts as healthy.

    python deploy/healthcheck.py [--live] [--cmdline-file /proc/1/cmdline]
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common import config, registry  # noqa: E402


def service_from_cmdline(args: list[str]) -> tuple[str | None, bool]:
    """('tickets', True) for [..., '-m', 'services.tickets'];
    (name, False) when a sub-command other than `run` follows."""
    for i, arg in enumerate(args[:-1]):
        if arg == "-m" and args[i + 1].startswith("services."):
            name = args[i + 1].split(".", 1)[1]
            rest = args[i + 2:]
            return name, not rest or rest[0] == "run"
    return None, False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="check /health/live instead of /health/ready")
    parser.add_argument("--cmdline-file", default="/proc/1/cmdline")
    opts = parser.parse_args(argv)
    # NUL-separated, with a trailing NUL.
    args = [a for a in Path(opts.cmdline_file).read_bytes().decode(errors="replace").split("\0") if a]
    name, serving = service_from_cmdline(args)
    if name is None:
        print(f"healthcheck: no `-m services.<name>` in {args!r}", file=sys.stderr)
        return 1
    if not serving:
        return 0
    if name not in registry.BY_NAME:
        print(f"healthcheck: services.{name} is not in the service registry", file=sys.stderr)
        return 1
    service = registry.get(name)
    url = f"http://127.0.0.1:{config.port(name)}{service.health_live if opts.live else service.health_ready}"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
