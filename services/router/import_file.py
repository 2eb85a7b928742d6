"""`python -m services.router import-roster FILE`: send a roster file to the running router."""

import getpass
import json
import sys
import warnings
from pathlib import Path

from services.common import config
from services.common.auth import tokens


def import_file(path: str) -> int:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy

    text = Path(path).read_text(encoding="utf-8")
    kwargs = {"csv": text} if path.endswith(".csv") else {"agents": json.loads(text)}
    try:
        # Run by an operator where the deployment's keys are: a short token of their own.
        token = tokens.mint_operator(f"cli-{getpass.getuser()}", days=1 / 24, audience=["router"])
        with ServiceRpcProxy("router", {"AMQP_URI": config.amqp_uri()}, context_data={"auth_token": token},
                             timeout=30) as router:
            result = router.import_roster(**kwargs)
    except RemoteError as exc:
        print(f"roster not imported: {exc.value}", file=sys.stderr)
        return 1
    print(f"imported {result['imported']} agent(s) from {path}")
    return 0
