"""The agent console: sign-in, queues, ticket pages, knowledge base and the
supervisors' views, as a small Flask gateway under gunicorn. It owns only its
users, sessions and knowledge base; tickets and the roster are asked over RPC.

Nothing is imported here: `python -m services.console` must be able to set
PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported.
"""
