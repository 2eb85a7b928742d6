"""The WhatsApp intake's configuration, from the environment (README lists every variable):
the messaging intakes' settings under WHATSAPP_, and the language of the acknowledgement."""

from __future__ import annotations

import os

from services.common.channels.twilio_messaging_settings import MessagingSettings

NAME = "intake_whatsapp"
SETTINGS = MessagingSettings(NAME, "WHATSAPP", own_variables=("WHATSAPP_DEFAULT_LANGUAGE",))


def default_language() -> str:
    return os.environ.get("WHATSAPP_DEFAULT_LANGUAGE", "en")
