"""The web dashboard: read-only pages and one JSON endpoint per widget, over the data
functions of `data.py`. Starlette; served by uvicorn (`serve`), alone (`propsync
dashboard`) or inside `propsync serve`.

It listens on 127.0.0.1 by default. On any other address it requires the token held by
the variable `[dashboard] token_env` (refusing to start without one), sent as
`Authorization: Bearer <token>`, or once as `?token=` (then kept in a cookie).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from typing import TYPE_CHECKING, Any

from propsync.config import DashboardConfig, is_loopback
from propsync.errors import ConfigError, EngineError, StateError, UsageError
from propsync.monitor.dashboard import data, pages
from propsync.monitor.health import health
from propsync.workspace import Workspace

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

COOKIE = "propsync_dashboard"
RETRIES, RETRY_PAUSE_S = 4, 0.5
log = logging.getLogger("propsync.dashboard")
_REPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html")


def dashboard_token(config: DashboardConfig, host: str) -> str | None:
    """The token requests must carry: required on a non-loopback address, optional (used
    when set) on loopback."""
    token = os.environ.get(config.token_env) or None
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"the dashboard listens on {host}, not a loopback address: set the token in "
            f"${config.token_env} ([dashboard] token_env) or listen on 127.0.0.1"
        )
    return token


def create_app(ws: Workspace, *, token: str | None) -> Starlette:
    """The dashboard over one workspace, each widget coloured by the health check.
    Requests are served one at a time on the workspace's engine (a DuckDB connection is
    not shared between threads)."""
    # heavy driver: the web framework is imported only when a dashboard is made
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
    from starlette.routing import Route

    lock = threading.Lock()

    @contextmanager
    def opened() -> Iterator[Workspace]:
        with lock:
            yield ws

    def page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(pages.layout(title, body, workspace=str(ws.root), refreshed=_now()))

    def overview(request: Request) -> Response:
        for attempt in range(RETRIES):
            try:
                with opened() as w:
                    report = health(w)  # reads every view once: the colours and the rows
                    runs = data.recent_runs(w.state(), 10)
                break
            except UsageError as exc:  # no views: not built yet, or a sync rebuilding them
                if attempt == RETRIES - 1:
                    return page("Overview", f"<p>{escape(str(exc))}</p>")
                time.sleep(RETRY_PAUSE_S)
        status = {widget.key: widget.status for widget in report.widgets}
        return page("Overview", pages.overview(data.from_health(report), runs, status))

    def runs(request: Request) -> Response:
        with opened() as w:
            recent = data.recent_runs(w.state(), _limit(request, 100))
        return page("Runs", pages.runs_table(recent))

    def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            with opened() as w:
                report = data.run_details(w, run_id)
        except UsageError as exc:
            return page("Run not found", f"<p>{exc}</p>")
        return page(f"Run {run_id}", pages.run_page(report))

    def reports(request: Request) -> Response:
        return page("Reports", pages.reports_page([p.name for p in data.reports(ws)]))

    def report(request: Request) -> Response:
        name = request.path_params["name"]
        found = {p.name: p for p in data.reports(ws)}
        if not _REPORT_NAME.fullmatch(name) or name not in found:
            return page("Report not found", f"<p>no report {name}</p>")
        return FileResponse(found[name], media_type="text/html")

    def widgets_json(request: Request) -> Response:
        with opened() as w:
            return JSONResponse([x.to_json() for x in data.widgets(w.engine())])

    def widget_json(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in data.WIDGETS:
            return JSONResponse({"error": "no such widget", "widgets": list(data.WIDGETS)}, 404)
        with opened() as w:
            return JSONResponse(data.widget(w.engine(), name).to_json())

    def runs_json(request: Request) -> Response:
        with opened() as w:
            recent = data.recent_runs(w.state(), _limit(request, 100))
        return JSONResponse([_plain(r.to_json()) for r in recent])

    def run_json(request: Request) -> Response:
        try:
            with opened() as w:
                report = data.run_details(w, request.path_params["run_id"])
        except UsageError as exc:
            return JSONResponse({"error": str(exc)}, 404)
        return JSONResponse(_plain(report.to_json()))

    endpoints = {
        "/": overview,
        "/runs": runs,
        "/runs/{run_id}": run,
        "/reports": reports,
        "/reports/{name}": report,
        "/api/widgets": widgets_json,
        "/api/widgets/{name}": widget_json,
        "/api/runs": runs_json,
        "/api/runs/{run_id}": run_json,
    }
    app = Starlette(routes=[Route(path, _guarded(fn)) for path, fn in endpoints.items()])
    if token is not None:
        _require_token(app, token, RedirectResponse)
    return app


def _guarded(endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """A page or endpoint that answers while a sync rebuilds the tables it reads: an
    engine or state error is retried a few times, then answered 503 with the reason."""
    from starlette.responses import PlainTextResponse  # heavy driver (web framework)

    def guarded(request: Request) -> Response:
        for attempt in range(RETRIES):
            try:
                return endpoint(request)
            except (EngineError, StateError) as exc:
                if attempt == RETRIES - 1:
                    log.warning("dashboard %s: %s", request.url.path, exc)
                    return PlainTextResponse(f"busy, try again: {exc}", status_code=503)
                time.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    return guarded


def _require_token(app: Starlette, token: str, redirect: Any) -> None:
    # heavy driver (web framework)
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import PlainTextResponse

    async def check(request: Any, call_next: Any) -> Any:
        given = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        sent = given or request.cookies.get(COOKIE) or header.removeprefix("Bearer ").strip()
        if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
            return PlainTextResponse("a valid dashboard token is required", status_code=401)
        if given:  # once by URL, then by cookie, so the token leaves the address bar
            response = redirect(request.url.remove_query_params("token"), status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        return await call_next(request)

    app.add_middleware(BaseHTTPMiddleware, dispatch=check)


def _limit(request: Request, default: int) -> int:
    try:
        return max(1, min(1000, int(request.query_params.get("limit", default))))
    except ValueError:
        return default


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def serve(
    ws: Workspace,
    *,
    host: str | None = None,
    port: int | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard until interrupted (SIGINT / SIGTERM). `ready(url)` is called
    once it listens."""
    import uvicorn  # heavy driver: imported on first use

    cfg = ws.config.dashboard
    bind = host or cfg.host
    token = dashboard_token(cfg, bind)
    app = create_app(ws, token=token)
    config = uvicorn.Config(
        app, host=bind, port=cfg.port if port is None else port, log_level="warning"
    )
    server = uvicorn.Server(config)
    if ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets=sockets)
            bound = server.servers[0].sockets[0].getsockname() if server.servers else (bind, port)
            ready(f"http://{bound[0]}:{bound[1]}/")

        server.startup = startup  # type: ignore[method-assign]
    # uvicorn stops on SIGINT / SIGTERM, then sends the signal again to the handler it
    # found; ours takes it, so the caller (`propsync serve`) can finish its own shutdown
    # (the sync in flight) and exit 0.
    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _stopped) for sig in stopping}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopped(signum: int, frame: Any) -> None:
    """The dashboard has stopped for this signal; nothing more to do here."""
