"""The service registry: the one list of the services this system runs.

Everything that needs to know which services exist reads it here: the ports in
`config` (and so every service's address), `scripts/run.py` (`make run`), the
Makefile's `migrate` target, the load-test cluster and `deploy/validate.py`
(which checks that compose and Kubernetes run exactly these, on these ports,
probed on these paths). Adding a service is one entry below, plus its package
and its deploy manifests, which the validator then insists on. A new channel is
an intake's entry with its Channel (README, "Adding a channel").

Plain data, no I/O: where a service is reached (ports, `<NAME>_URL`) is read
from the environment in `config`.

    python -m services.common.registry names            every service, in start order
    python -m services.common.registry with-migrations  those with `python -m services.<name> migrate`
    python -m services.common.registry with-personal-data  those answering export and erasure
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

NAMEKO = "nameko"        # a nameko service on RabbitMQ; its HTTP side (health, metrics, API) is nameko's
GUNICORN = "gunicorn"    # a Flask app under gunicorn, with workers
POLLER = "poller"        # its own long-running loop (IMAP pollers), with a small HTTP side of its own
KINDS = (NAMEKO, GUNICORN, POLLER)

# Identity kinds the tickets service stores for a customer (a row each: kind, value).
IDENTITY_KINDS = ("email", "phone", "whatsapp", "messenger")

HEALTH_LIVE = "/health/live"
HEALTH_READY = "/health/ready"


@dataclass(frozen=True)
class Channel:
    """A channel complaints arrive on. The contract accepts exactly the registered names;
    the tickets service stores the customer's address on it as an identity of kind
    `identity`; the notifier answers the customer with the sender named `answer_by`
    (services/notifier/senders.py). A channel whose customers leave no address of its
    own (web form, chat) has identity None and is answered by email, else SMS."""
    name: str
    identity: str | None = None   # the identity kind of the address the customer wrote from
    answer_by: str | None = None  # the notifier sender that answers on this channel
    follow_up: bool = False       # a customer may choose it to hear back on (tracking page, API)
    # The intake answers the customer itself with the reference (WhatsApp's TwiML reply, sent
    # once the broker confirmed): the notifier's acknowledgement would be a second one.
    acknowledged_by_intake: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    port: int                          # the default; <NAME>_PORT overrides it (config.port)
    kind: str
    channels: tuple[Channel, ...] = ()  # the channels it takes complaints from; empty: not an intake
    migrations: bool = False           # has `python -m services.<name> migrate`
    calls: tuple[str, ...] = ()        # services whose HTTP API it calls (at config.service_url(peer))
    rpc_calls: tuple[str, ...] = ()    # services it asks over nameko RPC (through RabbitMQ)
    autoscaled: bool = False           # scales with traffic: Kubernetes gives it an HPA
    load_cluster: bool = True          # started by loadtest's cluster (False: it needs an outside source
                                       # the cluster does not simulate, or is not on a complaint's path)
    # Holds customers' personal data in its own tables or files: answers a subject-access
    # export and a subject's erasure, and applies the retention rules (services/common/privacy).
    personal_data: bool = False
    health_live: str = HEALTH_LIVE
    health_ready: str = HEALTH_READY

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    @property
    def intake(self) -> bool:
        return bool(self.channels)


# Start order: the consumers first, so nothing waits on them; the intakes last.
SERVICES: tuple[Service, ...] = (
    Service("tickets", 8004, NAMEKO, migrations=True, personal_data=True),
    # The router's mirror keeps what routing needs (category, region, language, priority), no contact data.
    Service("router", 8005, NAMEKO, migrations=True, rpc_calls=("tickets",), autoscaled=True),
    Service("notifier", 8006, NAMEKO, migrations=True, rpc_calls=("tickets", "router"), personal_data=True),
    Service("console", 8008, GUNICORN, migrations=True, calls=("router",), rpc_calls=("tickets", "router"),
            load_cluster=False),
    Service("intake_chat", 8001, GUNICORN, channels=(Channel("web"), Channel("chat")), migrations=True,
            calls=("console",), rpc_calls=("tickets",), autoscaled=True),
    Service("intake_whatsapp", 8002, GUNICORN, channels=(Channel("whatsapp", "whatsapp", "whatsapp", True, True),),
            migrations=True, autoscaled=True, personal_data=True),
    Service("intake_voice", 8003, GUNICORN, channels=(Channel("voice", "phone", "sms"),), migrations=True,
            autoscaled=True, personal_data=True),
    Service("intake_sms", 8009, GUNICORN, channels=(Channel("sms", "phone", "sms", True),), migrations=True,
            autoscaled=True, personal_data=True),
    Service("intake_email", 8007, POLLER, channels=(Channel("email", "email", "email", True),), migrations=True,
            load_cluster=False, personal_data=True),
)

BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}


def get(name: str) -> Service:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a service of this system (known: {', '.join(BY_NAME)})") from None


def names() -> list[str]:
    return [s.name for s in SERVICES]


def with_migrations() -> list[str]:
    return [s.name for s in SERVICES if s.migrations]


def with_personal_data() -> list[str]:
    return [s.name for s in SERVICES if s.personal_data]


def main(argv: list[str]) -> int:
    listings = {"names": names, "with-migrations": with_migrations, "with-personal-data": with_personal_data}
    if len(argv) != 1 or argv[0] not in listings:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(listings[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
