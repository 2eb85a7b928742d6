"""Who is calling: the credentials every internal endpoint and every write asks for.

tokens.py          signed bearer tokens (JWT, HMAC-SHA256 with SERVICE_TOKEN_KEYS): a
                   service's own, minted per call; an operator's, minted by the CLI;
                   the console's, carrying the signed-in agent
nameko_guard.py    nameko entrypoints that refuse a call without a valid token (HTTP
                   401/403, RPC `Unauthorized`), and the RPC proxy that presents one
flask_guard.py     the same check for the small Flask sides of internal services
__main__.py        `python -m services.common.auth mint-operator NAME`: an operator's token

Health and metrics stay open (metrics behind METRICS_TOKEN when it is set).
"""
