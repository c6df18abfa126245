"""The HTTP face of the emulated org (Starlette): one dispatcher applies what every
Salesforce API call goes through (due workflow events, knobs, latency, session
check, daily quota, injected 503s, usage counting, `Sforce-Limit-Info`) and
routes to the REST and Bulk API handlers.

Admin endpoints for tests and benchmarks, outside the Salesforce API and never
counted: `GET /_emulator/usage`, `POST /_emulator/usage/reset`,
`GET|POST /_emulator/knobs`. They, and any other `/_emulator/` path, answer 401
without the server's admin token in `X-Emulator-Admin-Token` (connection.json,
`Emulator.admin_token`). A request carrying `X-Emulator-Knobs` without that token
is refused (401 INVALID_ADMIN_TOKEN) before anything else happens: refused rather
than ignored, so a caller that forgot the token learns it at once instead of
running with knobs it believes are set.

Like Salesforce, a URI longer than 16,384 bytes answers 414.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from propsync.emulator import auth, bulk, knobs, rest, workflow
from propsync.emulator.knobs import ADMIN_HEADER, KNOBS_HEADER
from propsync.emulator.org import API_VERSIONS, WORKFLOW_USER, Org

log = logging.getLogger(__name__)
_API = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
MAX_URI_BYTES = 16_384  # Salesforce: a longer URI answers 414 URI Too Long
Handler = Callable[[rest.Call], rest.Reply]


def _route(call: rest.Call, jobs: bulk.Jobs) -> rest.Reply:
    p = call.parts
    head = p[0].lower() if p else ""
    m = call.method
    if not p:
        return rest.version_root(call)
    if head == "limits" and len(p) == 1:
        return rest.limits(call)
    if head == "sobjects":
        if len(p) == 1:
            return rest.global_describe(call)
        return rest.sobject(call)
    if head in ("query", "queryall") and len(p) <= 2 and m == "GET":
        return rest.query(call)
    if head == "composite" and len(p) >= 2 and p[1] == "sobjects":
        return rest.collections(call)
    if head == "jobs" and len(p) >= 2 and p[1] in ("ingest", "query"):
        return _jobs(call, jobs, p[1], p[2:])
    raise rest.NOT_FOUND


def _jobs(call: rest.Call, jobs: bulk.Jobs, kind: str, rest_: list[str]) -> rest.Reply:
    m = call.method
    try:
        if not rest_:
            if m == "POST":
                body = call.json()
                if not isinstance(body, dict):
                    raise rest.ApiError(400, "INVALIDJOB", "Expected a JSON object")
                if kind == "ingest":
                    return rest.Reply(200, jobs.create_ingest(call.user_id, body, call.version))
                return rest.Reply(200, jobs.create_query(call.user_id, body, call.version))
            if m == "GET":
                records = jobs.list_jobs(kind)
                return rest.Reply(200, {"done": True, "records": records, "nextRecordsUrl": None})
            raise rest.ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{m}' not allowed")
        job_id = rest_[0]
        if len(rest_) == 1:
            if m == "GET":
                return rest.Reply(200, jobs.info(job_id, kind))
            if m == "PATCH":
                body = call.json()
                state = body.get("state") if isinstance(body, dict) else None
                return rest.Reply(200, jobs.set_state(job_id, kind, str(state), call.knobs))
            if m == "DELETE":
                jobs.delete(job_id, kind)
                return rest.Reply(204)
        sub = rest_[1].lower() if len(rest_) == 2 else ""
        if kind == "ingest" and sub == "batches" and m == "PUT":
            jobs.upload(job_id, call.body)
            return rest.Reply(201)
        if kind == "ingest" and sub in bulk.RESULT_FILES and m == "GET":
            path = jobs.results(job_id, sub)
            return rest.Reply(200, path, media="text/csv")
        if kind == "query" and sub == "results" and m == "GET":
            mx = call.params.get("maxRecords")
            data, locator, n = jobs.query_page(
                job_id, call.params.get("locator"), int(mx) if mx and mx.isdigit() else None
            )
            headers = {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(n)}
            return rest.Reply(200, data, headers=headers, media="text/csv")
    except bulk.JobError as exc:
        raise rest.ApiError(exc.status, exc.code, exc.message) from exc
    raise rest.NOT_FOUND


def _endpoint_label(method: str, parts: list[str]) -> str:
    """A stable name for usage counting: "GET query", "PATCH composite/sobjects", ..."""
    head = [s.lower() for s in parts[:2]]
    if head[:1] == ["sobjects"]:
        return f"{method} sobjects"
    if head[:1] in (["query"], ["queryall"]):
        return f"{method} {head[0]}"
    if head[:1] == ["jobs"] and len(parts) >= 2:
        tail = "/{id}" if len(parts) >= 3 else ""
        tail += "/" + parts[3].lower() if len(parts) > 3 else ""
        return f"{method} jobs/{head[1]}{tail}"
    return f"{method} {'/'.join(head) or '(root)'}"


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(org: Org, jobs: bulk.Jobs) -> Starlette:
    """The ASGI app serving `org`."""

    async def api(request: Request) -> Response:
        raw_uri = len(request.scope.get("raw_path") or b"") + len(request.scope["query_string"])
        if raw_uri + 1 > MAX_URI_BYTES:
            return _json_response(414, [{"message": f"URI Too Long (over {MAX_URI_BYTES} bytes)",
                                         "errorCode": "URI_TOO_LONG"}])  # fmt: skip
        knob_header = request.headers.get(KNOBS_HEADER)
        if knob_header is not None and not org.is_admin(request.headers.get(ADMIN_HEADER)):
            msg = f"{KNOBS_HEADER} needs the emulator's admin token in {ADMIN_HEADER}"
            return _json_response(401, [{"message": msg, "errorCode": "INVALID_ADMIN_TOKEN"}])
        m = _API.match(request.url.path)
        if m is None:
            return _json_response(404, [{"message": "The requested resource does not exist",
                                         "errorCode": "NOT_FOUND"}])  # fmt: skip
        version, tail = m.group(1), m.group(2) or ""
        if version not in API_VERSIONS:
            return _json_response(404, [{"message": f"Version v{version} is not supported",
                                         "errorCode": "NOT_FOUND"}])  # fmt: skip
        await run_in_threadpool(workflow.apply_due, org.store, WORKFLOW_USER)
        try:
            override = knobs.parse_header(knob_header or "{}")
            k = org.knobs.updated(**override)
        except ValueError as exc:
            return _json_response(400, [{"message": str(exc), "errorCode": "INVALID_KNOBS"}])
        if k.latency_ms > 0:
            await asyncio.sleep(k.latency_ms / 1000)
        if override.get("expire_sessions_now") or org.box.take_one_shot("expire_sessions_now"):
            org.expire_all_tokens()
        user = org.user_for(_bearer(request.headers.get("authorization", "")))
        if user is None:
            return _json_response(401, [{"message": "Session expired or invalid",
                                         "errorCode": "INVALID_SESSION_ID"}])  # fmt: skip
        used = sum(org.store.usage_today().values())
        limit_info = {"Sforce-Limit-Info": f"api-usage={used}/{k.daily_api_limit}"}
        if used >= k.daily_api_limit:
            err = [
                {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
            ]
            return _json_response(403, err, limit_info)
        rng = random.Random(override["seed"]) if override.get("seed") is not None else org.box.rng
        if org.box.roll(rng, k.http_503_rate):
            msg = "Server temporarily unavailable (injected by the emulator's http_503_rate knob)"
            err = [{"message": msg, "errorCode": "SERVER_UNAVAILABLE"}]
            return _json_response(503, err, limit_info)
        parts = [s for s in tail.split("/") if s]
        try:
            body = await request.body()
        except ClientDisconnect:  # the body never fully arrived: nothing was received
            return Response(status_code=400)
        call = rest.Call(
            org=org, method=request.method, version=version, parts=parts,
            params=dict(parse_qsl(request.url.query, keep_blank_values=True)),
            headers={key.lower(): v for key, v in request.headers.items()}, body=body,
            user_id=user, knobs=k, rng=rng,
        )  # fmt: skip
        await run_in_threadpool(org.store.count_call, _endpoint_label(request.method, parts))
        headers = {"Sforce-Limit-Info": f"api-usage={used + 1}/{k.daily_api_limit}"}
        try:
            reply = await run_in_threadpool(_route, call, jobs)
        except rest.ApiError as exc:
            reply = exc.reply()
        except Exception:
            log.exception("emulator error on %s %s", request.method, request.url.path)
            reply = rest.Reply(500, [{"message": "An unexpected error occurred",
                                      "errorCode": "UNKNOWN_EXCEPTION"}])  # fmt: skip
        headers.update(reply.headers)
        if reply.media == "text/csv":
            if hasattr(reply.body, "open"):
                return FileResponse(reply.body, status_code=reply.status, headers=headers,
                                    media_type="text/csv")  # fmt: skip
            return Response(reply.body, reply.status, headers, media_type="text/csv")
        return _json_response(reply.status, reply.body, headers)

    async def versions(request: Request) -> Response:
        base = "/services/data"
        return _json_response(
            200, [{"label": f"v{v}", "url": f"{base}/v{v}", "version": v} for v in API_VERSIONS]
        )

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        try:
            doc = await run_in_threadpool(
                auth.token, org, form, request.headers.get("authorization")
            )
        except auth.OAuthError as exc:
            return _json_response(exc.status, exc.body())
        return _json_response(200, doc)

    async def soap(request: Request) -> Response:
        version = request.path_params["version"]
        text = (await request.body()).decode("utf-8", "replace")
        status, xml = await run_in_threadpool(auth.soap_login, org, text, version)
        return Response(xml, status, media_type="text/xml")

    def refused(request: Request) -> Response | None:
        if org.is_admin(request.headers.get(ADMIN_HEADER)):
            return None
        return _json_response(401, {"error": f"the emulator's admin token is required in "
                                             f"{ADMIN_HEADER} (see connection.json)"})  # fmt: skip

    async def admin_usage(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        if request.method == "POST":
            await run_in_threadpool(org.store.reset_usage)
        return _json_response(200, await run_in_threadpool(org.usage))

    async def admin_knobs(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        if request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
                org.box.set(**changes)
            except (ValueError, TypeError) as exc:
                return _json_response(400, {"error": str(exc)})
        return _json_response(200, org.knobs.as_dict())

    async def admin_other(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        return _json_response(404, {"error": f"no admin endpoint {request.url.path}"})

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    routes = [
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/Soap/u/{version}", soap, methods=["POST"]),
        Route("/services/Soap/u/{version}/{rest:path}", soap, methods=["POST"]),
        Route("/_emulator/usage", admin_usage, methods=["GET"]),
        Route("/_emulator/usage/reset", admin_usage, methods=["POST"]),
        Route("/_emulator/knobs", admin_knobs, methods=["GET", "POST"]),
        Route("/_emulator/{rest:path}", admin_other, methods=methods),
        Route("/services/data/{rest:path}", api, methods=methods),
    ]
    return Starlette(routes=routes)


def _bearer(header: str) -> str:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else ""
