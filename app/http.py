"""Answering with a kept body (app.cache.Body): its strong ETag, 304 to a client that has it, never stored by
anyone but the reader's own browser, and asked again every time (`no-cache`).

Only ever called after the request's authorization check: a 304 tells that the reader may still see it
unchanged, so it is an answer like any other and comes after the same check.
"""

from __future__ import annotations

from flask import Response, current_app, request

from app.cache import AnswerCache, Body

# Revalidated on every use, so that a reader who lost access gets the 404 at once, and never kept by a
# shared cache (a proxy) since the answer is one person's.
PRIVATE = "private, no-cache"


def answer_cache() -> AnswerCache:
    return current_app.extensions["classlab.cache"]


def send(body: Body, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as the answer (gzipped when the client accepts it: another representation, so another tag), or
    304 Not Modified when the request's If-None-Match names the representation it would get."""
    gzipped = body.gzipped is not None and request.accept_encodings.quality("gzip") > 0
    etag = f"{body.etag}-gz" if gzipped else body.etag
    if request.if_none_match.contains_weak(etag):
        resp = current_app.response_class(status=304)
        del resp.headers["Content-Type"]
    else:
        resp = current_app.response_class(body.gzipped if gzipped else body.data, status=status,
                                          content_type=body.content_type)
        if gzipped:
            resp.headers["Content-Encoding"] = "gzip"
    resp.headers["ETag"] = f'"{etag}"'
    resp.headers["Cache-Control"] = PRIVATE
    if body.gzipped is not None:
        resp.vary.add("Accept-Encoding")
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp
