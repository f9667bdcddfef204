"""The console as a Starlette app: the framework reads each request (cookies, query,
body) and writes each response (headers, cookies, the event stream); ``Console.handle``
decides, on a worker thread (a sign-in hashes a password; an action waits for the
gate's event log), so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request as WebRequest
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.responses import Response as WebResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.console.forms import MAX_BODY
from agent.console.routes import Console
from agent.console.web import SECURITY_HEADERS, Request, Response

log = logging.getLogger(__name__)

BODY_S = 10.0  # a form's body must follow its head within this
# RFC 6265bis spells it so; Starlette's type says lower case but writes what it is given
STRICT: Any = "Strict"


def console_app(console: Console) -> Starlette:
    """Every path goes to ``console``; GET and POST only."""

    async def endpoint(request: WebRequest) -> WebResponse:
        body = b""
        if request.method == "POST":
            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return PlainTextResponse("a form needs a Content-Length", 411)
            if int(length) > MAX_BODY:
                return PlainTextResponse("the form is too large", 413)
            try:
                async with asyncio.timeout(BODY_S):
                    body = await request.body()
            except TimeoutError:
                return PlainTextResponse("the form came too slowly", 408)
        ours = Request(
            method=request.method, path=request.url.path, body=body,
            address=request.client.host if request.client else "?",
            query=dict(request.query_params), cookies=request.cookies,
        )  # fmt: skip
        try:
            response = await run_in_threadpool(console.handle, ours)
        except Exception:  # a bug: one line for the guard, the traceback in the log
            log.exception("console: %s %s failed", request.method, request.url.path)
            return PlainTextResponse("internal error: see the gate's log", 500)
        return _web_response(response, console.tls)

    static = StaticFiles(directory=Path(__file__).parent / "static")
    return Starlette(
        routes=[Mount("/static", static), Route("/{path:path}", endpoint, methods=["GET", "POST"])],
        middleware=[Middleware(SecureHeaders)],
    )


class SecureHeaders:
    """Adds the security headers (and one request per connection) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                headers["connection"] = "close"  # see guard.py
            await send(message)

        await self.app(scope, receive, secured)


def _web_response(response: Response, tls: bool) -> WebResponse:
    out: WebResponse
    if response.stream is not None:
        out = StreamingResponse(response.stream, response.status,
                                media_type=response.content_type)  # fmt: skip
    else:
        out = WebResponse(response.body, response.status, media_type=None)
        out.headers["content-type"] = response.content_type
    for name, value in response.headers:
        out.headers.append(name, value)
    for c in response.cookies:
        out.set_cookie(c.name, c.value, max_age=c.max_age, path=c.path, secure=tls,
                       httponly=True, samesite=STRICT)  # fmt: skip
    return out
