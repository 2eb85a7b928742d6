"""Prometheus metrics of the agent console (prefix complaints_console_)."""

from prometheus_client import Counter

from services.common.web.gunicorn_main import metrics_response

ACTIONS = ("reply", "change", "assign", "note", "kb_article")
SIGNINS = Counter("complaints_console_signins_total", "Sign-in attempts, by outcome", ["outcome"])
AGENT_ACTIONS = Counter("complaints_console_actions_total", "Ticket actions done in the console, by action",
                        ["action"])
KB_SUGGESTIONS = Counter("complaints_console_kb_suggestions_total",
                         "Knowledge-base look-ups for customers, by whether anything matched", ["outcome"])
KB_FEEDBACK = Counter("complaints_console_kb_feedback_total", "Customers' answers to 'did this help?'",
                      ["helped"])
BACKEND_ERRORS = Counter("complaints_console_backend_unavailable_total",
                         "Pages that could not be served because a service did not answer", ["service"])

for _outcome in ("ok", "failed"):
    SIGNINS.labels(_outcome)
for _action in ACTIONS:
    AGENT_ACTIONS.labels(_action)
for _outcome in ("found", "none"):
    KB_SUGGESTIONS.labels(_outcome)
for _helped in ("yes", "no"):
    KB_FEEDBACK.labels(_helped)
for _service in ("tickets", "router"):
    BACKEND_ERRORS.labels(_service)


def render():
    return metrics_response()
