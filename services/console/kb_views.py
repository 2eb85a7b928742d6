"""The knowledge base: agents' pages to read and add articles, and the JSON
API the web intake asks while a customer writes (with the intake's token, no
sign-in: it only returns published articles and records whether one helped)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from services.common import web
from services.common.auth.flask_guard import requires_token
from services.common.contract.complaint import CATEGORIES
from services.common.contract.storable_text import storable

from . import auth, metrics
from .store import ConsoleError, article_errors

bp = Blueprint("kb", __name__)
api = Blueprint("kb_api", __name__, url_prefix="/api/kb")

MAX_SUGGESTIONS = 5
FIELDS = ("title", "body", "category", "language")


@bp.get("/kb")
@auth.signed_in
def articles():
    return render_template("kb.html", articles=auth.console().store.list_articles())


@bp.get("/kb/new")
@auth.signed_in
def new_article():
    values = {"category": request.args.get("category", ""), "language": request.args.get("language", "")}
    return render_template("kb_new.html", values=values, errors={}, categories=CATEGORIES,
                           source=request.args.get("from", ""))


@bp.post("/kb/new")
@auth.signed_in
def create_article():
    values = {k: request.form.get(k, "").strip() for k in FIELDS}
    errors = article_errors(**values)
    if not errors:
        try:
            article = auth.console().store.add_article(author=g.user["name"], **values)
        except ConsoleError as exc:
            errors = {"title": str(exc)}
    if errors:
        return render_template("kb_new.html", values=values, errors=errors, categories=CATEGORIES,
                               source=request.form.get("from", "")), 422
    metrics.AGENT_ACTIONS.labels("kb_article").inc()
    flash(f"Article “{article['title']}” published; customers see it as a suggestion.", "success")
    return redirect(url_for("kb.articles") + f"#article-{article['id']}")


@api.get("/suggest")
@requires_token("console")
def suggest():
    """?q=what the customer wrote&category=&language=&limit= -> {"items": [...]}"""
    query = request.args.get("q", "")[:2000]
    try:
        limit = max(1, min(int(request.args.get("limit", 3)), MAX_SUGGESTIONS))
    except ValueError:
        return {"error": "bad_request", "detail": "limit must be a whole number"}, 400
    items = auth.console().store.suggest(query, request.args.get("category") or None,
                                         request.args.get("language") or None, limit)
    metrics.KB_SUGGESTIONS.labels("found" if items else "none").inc()
    return {"items": items}


@api.post("/articles/<int(max=2147483647):article_id>/feedback")
@requires_token("console")
def feedback(article_id):
    """{"helped": true|false, "query": "..."} -> the article with its counts."""
    try:
        body = web.json_body(request)
    except web.BadRequest as exc:
        return {"error": "bad_request", "detail": f'{exc}; send JSON {{"helped": true or false}}'}, 400
    if not isinstance(body.get("helped"), bool):
        return {"error": "bad_request", "detail": 'send JSON {"helped": true or false}'}, 400
    try:
        query = storable(body["query"]) if isinstance(body.get("query"), str) else None  # text any database stores
        article = auth.console().store.record_feedback(article_id, body["helped"], query)
    except LookupError as exc:
        return {"error": "not_found", "detail": str(exc)}, 404
    metrics.KB_FEEDBACK.labels("yes" if body["helped"] else "no").inc()
    return {"id": article["id"], "helped": article["helped"], "not_helped": article["not_helped"]}
