"""Every event a service subscribes to is one the kernel publishes (by source and type),
and every event the kernel defines has a subscriber or is listed as read by none here.
Reads the nameko entrypoints of the service classes (hence not a unit test)."""

from nameko.events import EventHandler

from services.common.contract import events
from services.common.messaging import topology
from services.common.privacy import transport
from services.notifier.service import NotifierService
from services.router.service import RouterService
from services.tickets.service import TicketsService

# Events published for outside readers (reports, integrations) that no service of ours reads.
READ_BY_NO_SERVICE = {("tickets", "ticket_sla_breached")}


def subscriptions(service_class) -> set[tuple[str, str]]:
    found = set()
    for name in dir(service_class):
        for entrypoint in getattr(getattr(service_class, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventHandler):
                found.add((entrypoint.source_service, entrypoint.event_type))
    return found


def test_every_subscription_names_a_published_event():
    for service in (RouterService, NotifierService, TicketsService):
        unknown = subscriptions(service) - set(events.BY_TYPE)
        assert not unknown, f"{service.name} subscribes to events nobody publishes: {unknown}"


def test_every_published_event_is_read_by_someone_or_said_not_to_be():
    read = subscriptions(RouterService) | subscriptions(NotifierService)
    # The router's decisions reach the tickets service on its own queue (topology.ASSIGNMENT_EVENTS);
    # erasure requests and reports travel on the privacy queues (services/common/privacy/transport.py).
    read |= {("router", name) for name in topology.ASSIGNMENT_EVENTS}
    read |= {("tickets", transport.REQUESTED), ("privacy", transport.COMPLETED)}
    assert set(events.BY_TYPE) - read == READ_BY_NO_SERVICE


def test_the_notifier_no_longer_hears_the_routers_assignments():
    assert not {("router", "ticket_assigned"), ("router", "ticket_reassigned")} & subscriptions(NotifierService)
