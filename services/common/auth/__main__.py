"""Operators' credentials for the internal APIs.

    python -m services.common.auth mint-operator NAME [--read-only] [--days N] [--service S ...]
                                                      [--group G ...]

prints a token for `Authorization: Bearer <token>`, signed with the first of
SERVICE_TOKEN_KEYS (so run it where the deployment's keys are). It opens every
service's API (or only those named) for N days (default 90), to read only or
to read and write; the audit trail records the acts as operator:NAME. With
--group the operator is in that group: `--group confidential` lets them see
confidential cases (README, "Confidential cases").
"""

from __future__ import annotations

import argparse
import sys

from services.common import registry

from . import tokens


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.auth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint-operator", help="print an operator's token")
    mint.add_argument("name")
    mint.add_argument("--read-only", action="store_true", help="the token may read, not write")
    mint.add_argument("--days", type=float, default=90, help="how long the token is valid (default 90)")
    mint.add_argument("--service", action="append", choices=registry.names(),
                      help="a service the token opens (repeat; default every service)")
    mint.add_argument("--group", action="append", default=[],
                      help="a group the operator is in, e.g. confidential (repeat for several)")
    args = parser.parse_args(argv)
    try:
        token = tokens.mint_operator(args.name, scopes=(tokens.READ,) if args.read_only else tokens.SCOPES,
                                     days=args.days, audience=args.service, groups=args.group)
    except ValueError as exc:
        parser.error(str(exc))
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
