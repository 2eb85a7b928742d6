"""The roster's storage: agents, their vacations and roster imports, as the roster
API (validated in roster.py) writes and reads them.

Every edit marks the agents it touched in the roster cache (roster_cache.py), so
the next decision sees it at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from services.common.contract.errors import NotFound
from services.common.time.clock import iso, now

from . import assignment
from .roster_cache import RosterCache, load_agents
from .schema import agents, vacations

# PostgreSQL: an import of at least this many agents refreshes the table's statistics.
ANALYZE_AFTER_IMPORT_OF = 100

_CONTACT_AND_SKILLS = ("display_name", "email", "phone", "whatsapp", "skills", "regions", "languages", "capacity",
                       "channel_capacity", "groups")


class RosterStore:
    def __init__(self, engine, cache: RosterCache):
        self.engine, self.cache = engine, cache

    def put_agent(self, data: dict, at: datetime | None = None) -> dict:
        """Create or replace an agent (load and history are kept on replace)."""
        self.cache.changed(data["name"])
        with self.engine.begin() as conn:
            _put_agent(conn, data, at or now())
        return self.agent(data["name"])

    def import_roster(self, items: list[dict]) -> dict:
        self.cache.forget()
        at = now()
        with self.engine.begin() as conn:
            for data in items:
                _put_agent(conn, data, at)
            if self.engine.dialect.name == "postgresql" and len(items) >= ANALYZE_AFTER_IMPORT_OF:
                # Fresh planner statistics now rather than at autovacuum's next round: with
                # a table it still believes tiny, PostgreSQL claims agents by scanning the
                # status index (every available agent) instead of the primary key.
                conn.exec_driver_sql(f"ANALYZE {agents.name}")
        return {"imported": len(items)}

    def patch_agent(self, name: str, data: dict) -> dict:
        self.cache.changed(name)
        with self.engine.begin() as conn:
            row = conn.execute(select(agents).where(agents.c.name == name)).first()
            if row is None:
                raise NotFound(f"no agent {name}")
            _put_agent(conn, {"name": name, "status": row.status, **data}, now())
        return self.agent(name)

    def remove_agent(self, name: str) -> list[str]:
        """Remove an agent; their open tickets go back to the waiting queue (announced)."""
        self.cache.changed(name)
        with self.engine.begin() as conn:
            if conn.execute(delete(agents).where(agents.c.name == name)).rowcount != 1:
                raise NotFound(f"no agent {name}")
            return assignment.take_back(conn, name, f"{name} was removed from the roster", now())

    def add_vacation(self, name: str, data: dict) -> dict:
        self.cache.changed(name)
        with self.engine.begin() as conn:
            if not conn.execute(select(agents.c.name).where(agents.c.name == name)).first():
                raise NotFound(f"no agent {name}")
            vid = conn.execute(insert(vacations).values(agent=name, **data)).inserted_primary_key[0]
        return {"id": vid, "agent": name, "starts_at": iso(data["starts_at"]), "ends_at": iso(data["ends_at"]),
                "note": data.get("note")}

    def remove_vacation(self, name: str, vacation_id: int) -> None:
        self.cache.changed(name)
        with self.engine.begin() as conn:
            if conn.execute(delete(vacations).where(vacations.c.agent == name, vacations.c.id == vacation_id)
                            ).rowcount != 1:
                raise NotFound(f"no vacation {vacation_id} for {name}")

    def agent(self, name: str) -> dict:
        found = self.agents_as_dicts([name])  # one agent's rows, not the whole roster's
        if not found:
            raise NotFound(f"no agent {name}")
        return found[0]

    def agents_as_dicts(self, names: list[str] | None = None) -> list[dict]:
        at = now()
        with self.engine.connect() as conn:
            roster, rows = load_agents(conn, names)
            planned: dict[str, list[dict]] = {}
            query = select(vacations).order_by(vacations.c.starts_at)
            if names is not None:
                query = query.where(vacations.c.agent.in_(names))
            for v in conn.execute(query):
                planned.setdefault(v.agent, []).append({"id": v.id, "starts_at": iso(v.starts_at),
                                                        "ends_at": iso(v.ends_at), "note": v.note})
        return [{
            "name": a.name, "display_name": row.display_name, "email": row.email, "phone": row.phone,
            "whatsapp": row.whatsapp, "skills": a.skills,
            "regions": sorted(a.regions), "languages": sorted(a.languages), "groups": sorted(a.groups),
            "capacity": a.capacity,
            "channel_capacity": a.channel_capacity, "status": a.status, "status_since": iso(a.status_since),
            "load": a.load, "last_assigned_at": iso(a.last_assigned_at),
            "on_vacation": bool(a.on_vacation(at)), "vacations": planned.get(a.name, []),
        } for a, row in zip(roster, rows, strict=True)]

    def loads(self) -> list[tuple]:
        """(name, load, capacity) of every agent, for the metrics."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(agents.c.name, agents.c.load, agents.c.capacity))]


def _put_agent(conn, data: dict, at: datetime) -> None:
    values = {k: data[k] for k in _CONTACT_AND_SKILLS if k in data}
    values.setdefault("channel_capacity", {})
    existing = conn.execute(select(agents.c.status).where(agents.c.name == data["name"])).first()
    status = data.get("status", "available")
    if existing is None:
        conn.execute(insert(agents).values(name=data["name"], status=status, status_since=at, load=0,
                                           updated_at=at, **values))
    else:
        if existing.status != status:
            values.update(status=status, status_since=at)
        conn.execute(update(agents).where(agents.c.name == data["name"]).values(updated_at=at, **values))
    if "vacations" in data:
        conn.execute(delete(vacations).where(vacations.c.agent == data["name"]))
        for v in data["vacations"]:
            conn.execute(insert(vacations).values(agent=data["name"], **v))
    if "groups" in data and existing is not None:
        assignment.take_back_cases(conn, data["name"], data["groups"], at)
