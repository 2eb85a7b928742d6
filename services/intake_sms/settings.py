"""The SMS intake's configuration, from the environment (README lists every variable):
the messaging intakes' settings under SMS_ (PUBLIC_SMS_URL, SMS_CONVERSATION_WINDOW_SECONDS,
SMS_NUMBER_REGION, ...)."""

from services.common.channels.twilio_messaging_settings import MessagingSettings

NAME = "intake_sms"
SETTINGS = MessagingSettings(NAME, "SMS")
