"""The WhatsApp intake's own tables, prefixed `whatsapp_`. No other service reads them.

Their shape is every Twilio messaging intake's (services/common/channels/twilio_message_tables.py).
"""

from services.common.channels.twilio_message_tables import message_tables
from services.common.storage.db import new_metadata

metadata = new_metadata()
TABLES = message_tables(metadata, "whatsapp")
messages, conversations, quarantine, statuses = \
    TABLES.messages, TABLES.conversations, TABLES.quarantine, TABLES.statuses
