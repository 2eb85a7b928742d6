"""The SMS intake's own tables, prefixed `sms_`. No other service reads them.

Their shape is every Twilio messaging intake's (services/common/channels/twilio_message_tables.py):
one row per MessageSid (the idempotency key), the conversation window per number,
the quarantine, and the delivery statuses of the messages we sent.
"""

from services.common.channels.twilio_message_tables import message_tables
from services.common.storage.db import new_metadata

metadata = new_metadata()
TABLES = message_tables(metadata, "sms")
