"""The SMS intake: Twilio's signed webhooks for inbound text messages and their status.

Nothing is imported here: `python -m services.intake_sms` must be able to
set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
"""
