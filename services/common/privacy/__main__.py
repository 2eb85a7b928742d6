"""A data subject's export and erasure, for an operator.

    python -m services.common.privacy export --email ana@example.org --phone +351912345678 --out ana.zip
    python -m services.common.privacy erase --email ana@example.org [--phone ...] [--name ...]
    python -m services.common.privacy status <request id>

Identify the person by email and/or phone (repeat either); a name is added to what is
scrubbed from their tickets' texts; --reference names a ticket of theirs. Services are
reached at <SERVICE>_URL (config.service_url); the calls carry an operator's token
minted with SERVICE_TOKEN_KEYS (run it where the deployment's keys are), or
PRIVACY_OPERATOR_TOKEN. Exit status: 0 done, 1 a service did not answer (the archive
is written, marked incomplete) or refused, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import exporting
from .subject import SubjectError, read_request


def _person(parser: argparse.ArgumentParser, args) -> dict:
    body = {k: v for k, v in (("email", args.email), ("phone", args.phone), ("name", args.name),
                              ("references", args.reference)) if v}
    try:
        read_request(body)
    except SubjectError as exc:
        parser.error(str(exc))
    return body


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.privacy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operator", default="privacy", help="the operator the acts are recorded for")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write the person's data from every service into a zip"),
                       ("erase", "erase the person from every service (the tickets service coordinates)")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--email", action="append")
        sub.add_argument("--phone", action="append")
        sub.add_argument("--name", action="append")
        sub.add_argument("--reference", action="append", help="a ticket reference of theirs")
        if name == "export":
            sub.add_argument("--out", required=True, type=Path, help="the zip to write")
    status = commands.add_parser("status", help="where an erasure request stands")
    status.add_argument("request_id")
    args = parser.parse_args(argv)
    try:
        token = exporting.operator_token(args.operator)
    except ValueError as exc:
        parser.error(str(exc))

    if args.command == "export":
        data, manifest = exporting.export(_person(parser, args), token)
        args.out.write_bytes(data)
        for service, entry in manifest["services"].items():
            print(f"{service}: {entry.get('records', 0)} records" if entry["status"] == "ok"
                  else f"{service}: {entry['status']} ({entry.get('error')})")
        print(f"written: {args.out}" + ("" if manifest["complete"] else " (incomplete)"))
        return 0 if manifest["complete"] else 1
    resp = (exporting.request_erasure(_person(parser, args), token) if args.command == "erase"
            else exporting.erasure_status(args.request_id, token))
    print(json.dumps(resp.json() if resp.headers.get("Content-Type", "").startswith("application/json")
                     else {"status": resp.status_code, "body": resp.text[:500]}, indent=2))
    return 0 if resp.status_code < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
