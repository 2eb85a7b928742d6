"""`python -m services.router import-roster FILE`: send a roster file to the running router."""

import json
import sys
import warnings
from pathlib import Path

from services.common import config


def import_file(path: str) -> int:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy

    text = Path(path).read_text(encoding="utf-8")
    kwargs = {"csv": text} if path.endswith(".csv") else {"agents": json.loads(text)}
    try:
        with ServiceRpcProxy("router", {"AMQP_URI": config.amqp_uri()}, timeout=30) as router:
            result = router.import_roster(**kwargs)
    except RemoteError as exc:
        print(f"roster not imported: {exc.value}", file=sys.stderr)
        return 1
    print(f"imported {result['imported']} agent(s) from {path}")
    return 0
