"""Answering with a kept body (app.cache.Body): its strong ETag, 304 to a client that has it, never stored by
anyone but the reader's own browser, and asked again every time (`no-cache`).

Only ever called after the request's authorization check: a 304 tells that the reader may still see it
unchanged, so it is an answer like any other and comes after the same check.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from flask import Response, current_app, request, session
from markupsafe import Markup, escape
from sqlalchemy import inspect

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


# ------------------------------------------------------------------------------------------ pages kept whole
#
# A page that one person asks for again and again (the watch page of a lesson with hundreds of comments) is
# rendered once per everything it shows and kept, with holes where each request puts its own values: the
# CSRF token, signed media links, the unread badge. What it shows is read afresh on every request, through
# the same authorization as ever, and goes into the key as a digest (`state`), so nothing is invalidated by
# hand and no decision about who may see what is ever kept.

# Unguessable per process, so that no text a user wrote can pose as a hole; made of characters that HTML
# escaping leaves as they are.
_NONCE = secrets.token_hex(8)
_HOLE = re.compile("\ue000" + _NONCE + r":([A-Za-z0-9_]+)\ue001")
# Filled from the page's context processors on every request (app.accounts, app.notifications).
LAYOUT_HOLES = ("csrf_field", "unread_badge")


def hole(name: str) -> Markup:
    """A place in a kept page for this request's `name`."""
    return Markup(f"\ue000{_NONCE}:{name}\ue001")


@dataclass(frozen=True, slots=True)
class KeptPage:
    parts: tuple[str, ...]  # the text between the holes
    holes: tuple[str, ...]  # one name fewer than parts

    @classmethod
    def of(cls, html: str) -> KeptPage:
        pieces = _HOLE.split(html)
        return cls(tuple(pieces[0::2]), tuple(pieces[1::2]))

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.parts[0]]
        for name, part in zip(self.holes, self.parts[1:], strict=True):
            out.append(str(escape(values[name])))  # Markup passes as it is, a URL is escaped as the template would
            out.append(part)
        return "".join(out)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts) * 2 + 200


def _secret(name: str) -> bool:
    return "password" in name or name.endswith("_hash") or "secret" in name


_SHOWN_COLUMNS: dict[type, tuple[str, ...]] = {}


def row_state(obj) -> tuple | None:
    """What a mapped row holds, for `state` (its columns, secrets left out): a page showing it is made again
    when any of them changes."""
    if obj is None:
        return None
    cls = obj.__class__  # a proxy's too (flask_login's current_user)
    keys = _SHOWN_COLUMNS.get(cls)
    if keys is None:
        keys = _SHOWN_COLUMNS[cls] = tuple(a.key for a in inspect(cls).column_attrs if not _secret(a.key))
    return (cls.__name__, *((k, getattr(obj, k)) for k in keys))


def state(*parts) -> str:
    """A digest of everything a kept page is made from (rows through row_state, plain values as they are)."""
    return hashlib.blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def kept_page(key: Hashable, render: Callable[..., str], values: Callable[[set[str]], Mapping[str, str]],
              render_now: Callable[[], str]) -> str:
    """The page kept under `key` (which must name everything it shows; see `state`) with this request's values
    in its holes, or rendered by `render(**layout holes)` and kept. `values(names)` gives this request's values
    for the page's own holes among `names`; the layout's come from the context processors, run as a render
    would. A request carrying a flashed message gets `render_now()`, never kept: the message is shown once."""
    if session.get("_flashes"):
        return render_now()
    cache = answer_cache()
    page = kept = cache.get(key)
    if page is None:
        page = KeptPage.of(render(**{name: hole(name) for name in LAYOUT_HOLES}))
    context: dict = {}
    current_app.update_template_context(context)
    filled = {**{name: context[name] for name in LAYOUT_HOLES}, **values(set(page.holes))}
    if kept is None:
        if set(page.holes) - set(filled):  # a hole nobody fills: never keep such a page
            raise RuntimeError(f"unknown holes in a kept page: {sorted(set(page.holes) - set(filled))}")
        cache.put(key, page, len(page))
    return page.fill(filled)
