"""The WhatsApp intake's state in SQL: the messaging intakes' store on the whatsapp_ tables."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.common.channels.twilio_message_store import MessageStore

from .schema import TABLES


class WhatsAppStore(MessageStore):
    def __init__(self, engine: Engine):
        super().__init__(engine, TABLES)
