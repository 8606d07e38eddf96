"""The web consent page: approve or deny an OAuth authorization from a browser.

It doubles as the waiting page while the desk dialog is open: it refreshes itself and, once
anyone has answered, sends the browser on to the client. Approving here takes the consent
password and a CSRF token that the engine signed for this one question
(`engine/auth/consent_web.py`), repeated from a cookie that is HttpOnly, SameSite=Strict,
scoped to the question's path, and Secure whenever the browser reaches the gateway over https
(directly, or through the TLS-terminating proxy named by `http.public_url`).

The form's POST is accepted from the gateway's own pages only: an `Origin` that is loopback or
the public URL's origin. A missing `Origin` is not a browser posting from another site
(browsers send it on every cross-origin POST), and still needs the cookie, the signed token
and the password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from aiohttp import web

from llmgw_desktop.engine.api import OAuthError, OAuthServer
from llmgw_desktop.transports.app_keys import OAUTH
from llmgw_desktop.transports.auth_edge import client_address_of
from llmgw_desktop.transports.edge import origin_allowed, origin_of

__all__ = [
    "CSRF_COOKIE",
    "SITE",
    "PublicSite",
    "add_consent_routes",
    "answer_consent",
    "consent_status",
    "show_consent",
]

log = logging.getLogger(__name__)

CSRF_COOKIE = "llmgw_consent_csrf"
REFRESH_S = 2
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class PublicSite:
    """The gateway as a browser behind the reverse proxy sees it (`http.public_url`)."""

    url: str = ""

    @property
    def origin(self) -> str:
        return origin_of(self.url) if self.url else ""

    def serves(self, request: web.Request) -> bool:
        """Whether the request came through the public URL (its `Host` names the public host)."""
        host = urlsplit(self.url).hostname if self.url else None
        return bool(host) and (request.url.host or "").lower() == str(host).lower()

    def prefix(self, request: web.Request) -> str:
        """The path the proxy puts before ours, for URLs the browser will follow or scope."""
        return urlsplit(self.url).path.rstrip("/") if self.serves(request) else ""

    def secure(self, request: web.Request) -> bool:
        """Whether the browser talks https to us (the proxy terminates TLS for the public URL)."""
        return request.secure or (self.serves(request) and self.url.startswith("https://"))

    def posted_from_own_page(self, origin: str | None) -> bool:
        """An `Origin` that is absent, loopback, or the public URL's origin; nothing else."""
        if origin_allowed(origin):
            return True
        return bool(self.url) and origin_of(origin or "") == self.origin


# The gateway as the browser sees it, for the consent and OAuth routes' URLs and cookies.
SITE = web.AppKey("public_site", PublicSite)


def add_consent_routes(app: web.Application, oauth: OAuthServer, *, site: PublicSite) -> None:
    """Mount the consent page, its answer and its status."""
    app[OAUTH], app[SITE] = oauth, site  # the handlers below read them from their request's app
    app.router.add_get("/oauth/consent/{id}", show_consent)
    app.router.add_get("/oauth/consent/{id}/status", consent_status)
    app.router.add_post("/oauth/consent/{id}", answer_consent)


async def show_consent(request: web.Request) -> web.StreamResponse:
    """The consent page: the question, and the form where a consent password is set."""
    oauth, site = request.app[OAUTH], request.app[SITE]
    web_consent = oauth.web_consent
    consent_id = request.match_info["id"]
    outcome = await oauth.consent_outcome(consent_id)
    if outcome is not None:
        raise web.HTTPSeeOther(outcome)
    pending = oauth.pending_consent(consent_id)
    if pending is None:
        return _page("Unknown request", "<p>This request is unknown or has expired.</p>", 404)
    csrf = web_consent.csrf_token(pending)
    req = pending.request
    details = (
        f"<p><b>{escape(req.client_name)}</b> (<code>{escape(req.client_id)}</code>) asks "
        f"for access with the scopes <code>{escape(' '.join(req.scopes))}</code>.</p>"
        f"<p>It will be sent back to <code>{escape(req.redirect_uri)}</code>. The request "
        f"came from <code>{escape(req.requester)}</code>.</p>"
    )
    waiting = "<p>Waiting for approval at the desk…</p>" if oauth.desk_attached else ""
    form = ""
    if web_consent.password_set:
        form = (
            f"<form method=post><input type=hidden name=csrf value='{escape(csrf)}'>"
            "<p><label>Consent password <input type=password name=password "
            "autocomplete=current-password></label></p>"
            # Deny first, as in every approval of the desk: it is on the left, and it is the
            # form's default button, so Enter in the password field denies (HTML's implicit
            # submission uses the first submit button); only a click on Approve grants.
            "<button name=decision value=deny>Deny</button> "
            "<button name=decision value=approve>Approve</button></form>"
        )
    elif not oauth.desk_attached:
        form = "<p>No one can approve this here: no consent password is configured.</p>"
    # The page asks every few seconds whether anyone (the desk) has answered, without
    # reloading, so a half-typed password survives; browsers without scripts reload
    # instead, but only when there is no form to lose.
    poll = (
        "<script>setInterval(async()=>{const r=await fetch(location.pathname+'/status');"
        "const s=await r.json();if(s.next)location.replace(s.next)},"
        f"{REFRESH_S * 1000})</script>"
    )
    if not form.startswith("<form"):
        poll += f"<noscript><meta http-equiv=refresh content={REFRESH_S}></noscript>"
    response = _page("Approve access?", details + waiting + form + poll, 200)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        path=f"{site.prefix(request)}/oauth/consent/{consent_id}",
        httponly=True,
        samesite="Strict",
        secure=site.secure(request),
        max_age=max(1, int(pending.expires_at - pending.created_at)),
    )
    return response


async def answer_consent(request: web.Request) -> web.StreamResponse:
    """The form's answer: checked (origin, CSRF, password), then on to the client."""
    oauth, site = request.app[OAUTH], request.app[SITE]
    web_consent = oauth.web_consent
    consent_id = request.match_info["id"]
    pending = oauth.pending_consent(consent_id)
    if pending is None:
        return _page("Unknown request", "<p>This request is unknown or has expired.</p>", 404)
    if pending.decided:  # answered meanwhile (at the desk, or it expired): as the page does
        outcome = await oauth.consent_outcome(consent_id)
        if outcome is not None:
            raise web.HTTPSeeOther(outcome)
    if not site.posted_from_own_page(request.headers.get("Origin")):
        log.warning("consent %s: form posted from another origin", consent_id[:8])
        return _page("Refused", "<p>The form was not sent from this gateway's page.</p>", 403)
    form = await request.post()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not web_consent.csrf_valid(consent_id, cookie, str(form.get("csrf", ""))):
        log.warning("consent %s: CSRF check failed", consent_id[:8])
        return _page("Refused", "<p>The form did not come from this page (CSRF).</p>", 403)
    try:
        await web_consent.answer(
            consent_id,
            password=str(form.get("password", "")),
            approve=form.get("decision") == "approve",
            remote=client_address_of(request),
        )
    except OAuthError as exc:
        return _refused(exc)
    outcome = await oauth.consent_outcome(consent_id)
    if outcome is None:
        return _page("Too late", "<p>This request was already answered.</p>", 409)
    raise web.HTTPSeeOther(outcome)


async def consent_status(request: web.Request) -> web.Response:
    """Where the browser goes next once anyone has answered, else null (the page polls)."""
    oauth = request.app[OAUTH]
    outcome = await oauth.consent_outcome(request.match_info["id"])
    return web.json_response({"next": outcome}, headers=NO_STORE)


def _refused(error: OAuthError) -> web.Response:
    titles = {404: "Unknown request", 409: "Too late", 429: "Too many attempts"}
    response = _page(
        titles.get(error.status, "Refused"), f"<p>{escape(error.description)}.</p>", error.status
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(int(error.retry_after))
    return response


def _page(title: str, body: str, status: int) -> web.Response:
    html = (
        f"<!doctype html><meta charset=utf-8><title>llmgw-desktop: {escape(title)}</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{escape(title)}</h1>{body}</body>"
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)
