"""The web intake: complaint form, JSON endpoint and the customer's tracking page.

Nothing is imported here: `python -m services.intake_chat` must be able to
set PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
"""
