"""The phone intake: Twilio Voice webhooks for a short menu, voicemail and callback requests.

Nothing is imported here: `python -m services.intake_voice` must be able to
set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
"""
