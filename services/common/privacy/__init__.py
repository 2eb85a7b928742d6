"""Privacy: a data subject's export, erasure and the retention rules, for every
service that holds personal data (the registry's `personal_data` flag).

Plain Python, no I/O:
    subject.py     who the person is (normalised emails, E.164 phones, names), where
                   they are mentioned, and text with them scrubbed out
    pseudonym.py   a stable keyed pseudonym ("erased-<hmac>") so statistics still group
    archive.py     the export archive: one JSON file per service and a manifest, zipped
    retention.py   the retention rules read from the environment, and their cut-offs
Transport (RabbitMQ, HTTP), used at the services' edges:
    transport.py   the erasure queues and exchanges; publishing a service's report
    background.py  the erasure consumer and retention timer of services without nameko
    flask_side.py  POST /privacy/export on a Flask app
    nameko_side.py the same parts for a nameko service
    exporting.py   gathering every service's export into one archive (the CLI)

    python -m services.common.privacy export --email ana@example.org --phone +351912345678 --out ana.zip
    python -m services.common.privacy erase --email ana@example.org
    python -m services.common.privacy status <request id>
"""
