"""The web consent page: approve or deny an OAuth authorization from a browser.

It doubles as the waiting page while the desk dialog is open: it refreshes itself and, once
anyone has answered, sends the browser on to the client. Approving here takes the consent
password (scrypt-hashed in config.toml) and a double-submit CSRF token: a random value in a
strict same-site cookie that the form must repeat, so another site cannot post the form.
Five wrong passwords deny the request.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from html import escape

from aiohttp import web

from llmgw_desktop.engine.auth.hashing import constant_time_equal, verify_password
from llmgw_desktop.engine.auth.oauth import OAuthServer

__all__ = ["CSRF_COOKIE", "add_consent_routes"]

log = logging.getLogger(__name__)

CSRF_COOKIE = "llmgw_consent_csrf"
MAX_PASSWORD_TRIES = 5
REFRESH_S = 2
NO_STORE = {"Cache-Control": "no-store"}


def add_consent_routes(
    app: web.Application, oauth: OAuthServer, *, consent_password_hash: str
) -> None:
    tries: dict[str, int] = {}

    async def show(request: web.Request) -> web.StreamResponse:
        consent_id = request.match_info["id"]
        outcome = await oauth.consent_outcome(consent_id)
        if outcome is not None:
            raise web.HTTPSeeOther(outcome)
        pending = oauth.consent.get(consent_id)
        if pending is None:
            return _page("Unknown request", "<p>This request is unknown or has expired.</p>", 404)
        csrf = secrets.token_urlsafe(32)
        req = pending.request
        details = (
            f"<p><b>{escape(req.client_name)}</b> (<code>{escape(req.client_id)}</code>) asks "
            f"for access with the scopes <code>{escape(' '.join(req.scopes))}</code>.</p>"
            f"<p>It will be sent back to <code>{escape(req.redirect_uri)}</code>. The request "
            f"came from <code>{escape(req.requester)}</code>.</p>"
        )
        waiting = "<p>Waiting for approval at the desk…</p>" if oauth.consent.desk_attached else ""
        form = ""
        if consent_password_hash:
            form = (
                f"<form method=post><input type=hidden name=csrf value='{csrf}'>"
                "<p><label>Consent password <input type=password name=password "
                "autocomplete=current-password></label></p>"
                "<button name=decision value=approve>Approve</button> "
                "<button name=decision value=deny>Deny</button></form>"
            )
        elif not oauth.consent.desk_attached:
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
            path=f"/oauth/consent/{consent_id}",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            max_age=int(oauth.consent.timeout_s),
        )
        return response

    async def answer(request: web.Request) -> web.StreamResponse:
        consent_id = request.match_info["id"]
        pending = oauth.consent.get(consent_id)
        if pending is None:
            return _page("Unknown request", "<p>This request is unknown or has expired.</p>", 404)
        form = await request.post()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not cookie or not sent or not constant_time_equal(cookie, sent):
            log.warning("consent %s: CSRF check failed", consent_id[:8])
            return _page("Refused", "<p>The form did not come from this page (CSRF).</p>", 403)
        if not consent_password_hash:
            return _page("Refused", "<p>No consent password is configured.</p>", 403)
        password = str(form.get("password", ""))
        ok = await asyncio.to_thread(verify_password, password, consent_password_hash)
        if not ok:
            tries[consent_id] = tries.get(consent_id, 0) + 1
            if tries[consent_id] >= MAX_PASSWORD_TRIES:
                oauth.consent.answer(consent_id, False, by="web:too-many-wrong-passwords")
            log.warning("consent %s: wrong password", consent_id[:8])
            return _page("Refused", "<p>Wrong consent password.</p>", 403)
        approved = form.get("decision") == "approve"
        oauth.consent.answer(consent_id, approved, by="web")
        outcome = await oauth.consent_outcome(consent_id)
        if outcome is None:
            return _page("Too late", "<p>This request was already answered.</p>", 409)
        raise web.HTTPSeeOther(outcome)

    async def status(request: web.Request) -> web.Response:
        outcome = await oauth.consent_outcome(request.match_info["id"])
        return web.json_response({"next": outcome}, headers=NO_STORE)

    app.router.add_get("/oauth/consent/{id}", show)
    app.router.add_get("/oauth/consent/{id}/status", status)
    app.router.add_post("/oauth/consent/{id}", answer)


def _page(title: str, body: str, status: int) -> web.Response:
    html = (
        f"<!doctype html><meta charset=utf-8><title>llmgw-desktop: {escape(title)}</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        f"<h1>{escape(title)}</h1>{body}</body>"
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)
