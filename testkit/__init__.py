"""Test support shared by the test suite (tests/) and the load and chaos runs
(loadtest/, bench/): the process harness that starts services as `make run`
does, free ports, polling, throwaway RabbitMQ vhosts and PostgreSQL databases,
and the fakes and real peers the services talk to (a fake Twilio REST API, an
SMTP server, a Dovecot IMAP server, Twilio's signed webhooks, a browser).

Plain helpers only: pytest fixtures live in the conftest.py files under tests/.
Nothing here imports tests/ or loadtest/.
"""
