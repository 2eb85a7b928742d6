"""Answering in the caller's language: JSON for programs, HTML pages for browsers.

JSON errors keep one shape: {"error": <kind>, "detail": <what is wrong>}
(422 adds "fields": {input name: problem}).
"""

from __future__ import annotations

from flask import jsonify, render_template, request
from werkzeug.wrappers import Response

from services.common.contract.complaint import CATEGORIES

from . import countries, form, payload

LANGUAGES = (("en", "English"), ("pt", "Português"), ("es", "Español"), ("fr", "Français"),
             ("de", "Deutsch"), ("it", "Italiano"), ("nl", "Nederlands"))
LABELS = {
    "name": "Your name", "email": "Email address", "phone": "Phone number", "subject": "Subject",
    "body": "Your complaint", "category": "Topic", "language": "Language for our replies", "country": "Country",
    "anonymous": "Contact", "submission_id": "Form", "attachments": "Attachments",
}
# Where an error in the summary takes the keyboard: the input itself, or the
# first radio of the anonymous choice. Errors with no input are shown unlinked.
FIELD_IDS = {name: name for name in ("name", "email", "phone", "country", "subject", "body", "category",
                                     "language")}
FIELD_IDS["anonymous"] = "anonymous-no"
RETRY_AFTER_SECONDS = 10
# The satisfaction survey's answers, best first (as read out by a screen reader).
RATINGS = ((5, "Very satisfied"), (4, "Satisfied"), (3, "Neither satisfied nor dissatisfied"),
           (2, "Dissatisfied"), (1, "Very dissatisfied"))


def wants_html() -> bool:
    """Browsers get pages, everyone else JSON.

    A POST is from a browser when it sends form fields *and* names text/html in
    Accept (a fetch() or curl sends */*, and gets JSON). A GET gets HTML unless
    it asks for JSON (Accept or ?format=json).
    """
    fmt = request.args.get("format")
    if fmt in ("json", "html"):
        return fmt == "html"
    accept = request.accept_mimetypes
    if request.method == "POST":
        return payload.is_form(request) and any(v == "text/html" and q > 0 for v, q in accept)
    return accept.best_match(["text/html", "application/json"], default="text/html") == "text/html"


def json_error(status: int, error: str, detail: str, headers=None, **extra) -> Response:
    response = jsonify({"error": error, "detail": detail, **extra})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def error(status: int, error_kind: str, title: str, detail: str, headers=None) -> Response:
    """An error as JSON or as a small page, whichever the caller reads."""
    if not wants_html():
        return json_error(status, error_kind, detail, headers)
    response = Response(render_template("error.html", title=title, detail=detail), status=status,
                        mimetype="text/html")
    response.headers.update(headers or {})
    return response


def unavailable_headers() -> dict:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def browser_country() -> str | None:
    """The country to preselect: Accept-Language's first region subtag ("pt-PT" -> PT)."""
    return countries.from_languages(request.accept_languages.values())


def form_page(values=None, errors=None, notice=None, status=200) -> Response:
    """The complaint form, with what the customer typed and what is wrong with it.

    no-store: every rendering carries a fresh submission id, and the back button
    must not bring back an old one for a new complaint.
    """
    values = dict(values or {})
    errors = errors or {}
    if "country" not in values:  # a fresh form: the browser's country, if its languages name one
        values["country"] = values["country_suggested"] = browser_country()
    if not values.get("submission_id") or "submission_id" in errors:
        # A hidden field the customer cannot fix: give the next attempt a good one.
        values["submission_id"] = form.new_submission_id()
    ordered = {name: errors[name] for name in (*LABELS, *errors) if name in errors}
    html = render_template("form.html", values=values, errors=ordered, notice=notice,
                           categories=CATEGORIES, languages=LANGUAGES, countries=countries.COUNTRIES, labels=LABELS,
                           field_ids=FIELD_IDS)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
