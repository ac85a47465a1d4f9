"""What every call of the HTTP API goes through before and after its route: the token, the
rate limit, the body's size, problem details for every error, the audit line, and the
``Idempotency-Key``.

* **Token.** ``Authorization: Bearer <token>``, looked up by its SHA-256
  (bot/services/api_tokens.py). None, a wrong one or a revoked one: 401 with
  ``WWW-Authenticate: Bearer``. A token reaches only its own source: another source's path is
  a 403 (the route checks, :meth:`Call.require_source`).
* **Rate.** Per token (``API_RATE_PER_MINUTE``, ``API_BURST``; unauthenticated calls per
  address): over it, 429 with ``Retry-After`` in seconds; with ``REDIS_URL`` one allowance
  for all the replicas (bot/web/api_limits.py).
* **Body.** At most ``API_MAX_BODY`` bytes, read before anything is done with it: a larger one
  (by its ``Content-Length``, or by what arrives) is a 413.
* **Errors.** Every error is an RFC 9457 problem (``application/problem+json``, the
  ``Problem`` model of bot/intake/api_models.py): aiohttp's own (404, 405) too, and an
  unexpected exception becomes a 500 whose log line names its class only.
* **Audit.** Every call writes one line (``api.call``: the route's name, the method, the
  status, the token's id and source, and whether it was replayed), in the transaction of the
  work when there is some, else in one of its own. Never a body or a path's values.
* **Idempotency-Key.** On PUT and DELETE: the response is stored with the work, in one
  transaction, under the token and the key, with the SHA-256 of the method, path and body.
  The same key with the same request again gets the stored response (``Idempotent-Replayed:
  true``) and nothing is done twice; with another request, a 422. Two requests with one key
  at once: the second meets the unique key at its commit, its work is rolled back with it,
  and it answers what the first stored. Keys go after a day (the nightly retention job).
* **One unit of work per call.** The token, the work, the audit line and the stored response
  commit together. A unique key met at commit (the same new visit sent twice at once, or one
  Idempotency-Key) rolls the call back whole and runs it once more, which finds what the
  other call wrote (as the Telegram unit of work does).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from bot.factory import Application
from bot.intake.api_models import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, Problem
from bot.services.api_tokens import StoredResponse, TokenRow
from bot.services.container import Services, ServiceScope
from bot.web.api_limits import ApiLimit, RateLimit, RedisRateLimit

__all__ = [
    "IDEMPOTENCY_HEADER",
    "Answer",
    "ApiProblem",
    "Call",
    "CallGuard",
    "problem",
]

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY = 128
JSON_MEDIA_TYPE = "application/json"
_CHUNK = 64 * 1024
_WRITES = frozenset({"PUT", "DELETE"})


def problem(status: int, slug: str, title: str, detail: str | None = None) -> Problem:
    """A problem of type ``<PROBLEM_BASE><slug>``."""
    return Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail)


class ApiProblem(Exception):
    """Raised anywhere in a call: answered as this problem."""

    def __init__(self, problem: Problem, headers: dict[str, str] | None = None) -> None:
        super().__init__(problem.title)
        self.problem = problem
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as stored for a replay: a status and a JSON body."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, model: BaseModel | list[BaseModel]) -> Answer:
        if isinstance(model, list):
            body = b"[" + b",".join(m.model_dump_json().encode() for m in model) + b"]"
        else:
            body = model.model_dump_json().encode()
        return cls(status, body)

    @classmethod
    def of_problem(cls, exc: ApiProblem, instance: str | None = None) -> Answer:
        body = exc.problem.model_copy(update={"instance": exc.problem.instance or instance})
        return cls(exc.problem.status, body.body(), dict(exc.headers))

    def response(self, *, replayed: bool = False) -> web.Response:
        media = PROBLEM_MEDIA_TYPE if self.status >= 400 else JSON_MEDIA_TYPE
        headers = {**self.headers, "Content-Type": media}
        if replayed:
            headers[REPLAYED_HEADER] = "true"
        return web.Response(status=self.status, body=self.body, headers=headers)


Work = Callable[[ServiceScope], Awaitable[Answer]]


def _idempotency_problem() -> ApiProblem:
    return ApiProblem(
        problem(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was used for another request",
            "A key names one request; send a new key for a new one.",
        )
    )


@dataclass
class Call:
    """One call: its unit of work (`svc`), its token and body; the route does the rest."""

    request: web.Request
    route: str
    svc: ServiceScope | None = None
    token: TokenRow | None = None
    body: bytes | None = None
    replayed: bool = False
    stored: tuple[str, StoredResponse | None] | None = None
    """The Idempotency-Key and what it got, read with the token (one query, not two)."""

    @property
    def scope(self) -> ServiceScope:
        assert self.svc is not None
        return self.svc

    @property
    def source(self) -> str:
        assert self.token is not None
        return self.token.source

    def require_source(self, source: str) -> None:
        """A token writes and reads only its own source's visits."""
        if source != self.source:
            raise ApiProblem(
                problem(
                    403,
                    "wrong-source",
                    "This token may not use this source",
                    "Each token is scoped to one source; this path names another.",
                )
            )

    def audit_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"route": self.route, "method": self.request.method}
        if self.replayed:
            detail["replayed"] = True
        return detail

    async def read(self, work: Work) -> web.Response:
        """Run `work` in the call's unit of work (a GET, or a write without an
        Idempotency-Key); a problem it raises is its answer."""
        return (await _answer(work, self.scope, self.request.path)).response()

    async def write(self, work: Work) -> web.Response:
        """:meth:`read`, with the response stored under the request's Idempotency-Key when it
        has one, or the stored one answered (see the module's doc)."""
        key = self.request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return await self.read(work)
        if not _usable_key(key):
            raise ApiProblem(
                problem(
                    400,
                    "bad-idempotency-key",
                    "The Idempotency-Key header is not usable",
                    f"1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
                )
            )
        assert self.token is not None
        tokens = self.scope.api_tokens
        fingerprint = self._fingerprint()
        if self.stored is not None and self.stored[0] == key:
            stored = self.stored[1]
        else:
            stored = await tokens.stored_response(self.token, key)
        if stored is not None:
            if stored.request_hash != fingerprint:
                raise _idempotency_problem()
            self.replayed = True
            answer = Answer(stored.status_code, stored.response.encode("utf-8"))
            return answer.response(replayed=True)
        answer = await _answer(work, self.scope, self.request.path)
        # A request with the same key committed first: the unique key refuses this one, the
        # whole unit of work (this one's work too) rolls back, and the guard runs the call
        # again, which answers from the stored response.
        await tokens.store_response(
            self.token, key, request_hash=fingerprint, status=answer.status, body=answer.body
        )
        return answer.response()

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (self.request.method.encode(), self.request.path.encode(), self.body or b""):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()


def _usable_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()


async def _answer(work: Work, svc: ServiceScope, instance: str) -> Answer:
    """The work's answer; a problem it raises is an answer too (stored and audited as one)."""
    try:
        return await work(svc)
    except ApiProblem as exc:
        return Answer.of_problem(exc, instance)


CALL_KEY: Any = (
    web.RequestKey("api_call", Call) if hasattr(web, "RequestKey") else "companion.api_call"
)
"""Where a request keeps its Call: aiohttp's typed key where it has one (3.12 and newer), a
plain one at the lowest aiohttp the lowest aiogram admits."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CallGuard:
    """The API's middleware (see the module's doc) and what its routes share."""

    def __init__(self, app: Application) -> None:
        self.app = app
        context = app.context
        self.services: Services = context
        settings = context.settings
        self.max_body = settings.api_max_body
        local = RateLimit(
            settings.api_rate_per_minute,
            settings.api_burst,
            now=lambda: context.clock.now().timestamp(),
        )
        # With REDIS_URL, one allowance for all the replicas (bot/web/api_limits.py).
        self.limit: ApiLimit = local
        if app.redis is not None:
            self.limit = RedisRateLimit(
                app.redis,
                local,
                key_prefix=f"{settings.redis_prefix}:api:{app.bot.id}",
                metrics=app.metrics,
            )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """One unit of work per call: the token, the work, the audit line and the stored
        response of an Idempotency-Key commit together (a 4xx too: its audit line)."""
        route = request.match_info.route.name or "unknown"
        if route == "openapi":
            return await handler(request)
        call = Call(request, route)
        request[CALL_KEY] = call
        try:
            for attempt in range(2):
                try:
                    return await self._in_transaction(call, handler, first=attempt == 0)
                except IntegrityError:
                    # A unique key met at commit: another call wrote the same visit (or
                    # stored the same Idempotency-Key) first. This one's unit of work rolled
                    # back whole; run once more, it now finds what the other wrote.
                    if attempt:
                        raise
        except Exception as exc:
            # The class and the route only: an exception's text may quote a value.
            log.error("api: %s %s failed: %s", request.method, route, type(exc).__name__)
            failed = Answer.of_problem(
                ApiProblem(problem(500, "internal", "Something went wrong on our side")),
                request.path,
            ).response()
            await self._audit_apart(call, failed.status)
            return failed
        raise AssertionError("unreachable")  # pragma: no cover

    async def _in_transaction(
        self, call: Call, handler: Handler, *, first: bool
    ) -> web.StreamResponse:
        request = call.request
        async with self.services.transaction() as svc:
            call.svc, call.replayed, call.stored = svc, False, None
            try:
                call.token = await self._authenticate(call, svc, count=first)
                if call.body is None:
                    call.body = await self._body(request)
                response = await handler(request)
            except ApiProblem as exc:
                response = Answer.of_problem(exc, request.path).response()
            except web.HTTPException as exc:
                response = self._http_problem(exc, request.path)
            await svc.api_tokens.record_call(
                call.token, status=response.status, detail=call.audit_detail()
            )
        return response

    async def _authenticate(self, call: Call, svc: ServiceScope, *, count: bool) -> TokenRow:
        request = call.request
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        token = None
        if scheme.lower() == "bearer" and credential.strip():
            idempotency = request.headers.get(IDEMPOTENCY_HEADER)
            if idempotency is not None and request.method in _WRITES and _usable_key(idempotency):
                token, stored = await svc.api_tokens.authenticate_with_key(
                    credential.strip(), idempotency
                )
                call.stored = (idempotency, stored)
            else:
                token = await svc.api_tokens.authenticate(credential.strip())
        key = f"token:{token.id}" if token is not None else f"peer:{request.remote}"
        decision = await self.limit.check(key) if count else None
        if decision is not None and not decision.allowed:
            raise ApiProblem(
                problem(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"Try again in {decision.retry_after} s.",
                ),
                {"Retry-After": str(decision.retry_after)},
            )
        if token is None:
            raise ApiProblem(
                problem(
                    401,
                    "unauthorized",
                    "A valid API token is needed",
                    "Send it as 'Authorization: Bearer <token>'.",
                ),
                {"WWW-Authenticate": 'Bearer realm="api"'},
            )
        return token

    async def _body(self, request: web.Request) -> bytes:
        too_large = ApiProblem(
            problem(
                413,
                "too-large",
                "The request body is too large",
                f"At most {self.max_body} bytes.",
            )
        )
        if request.content_length is not None and request.content_length > self.max_body:
            raise too_large
        if not request.body_exists:
            return b""
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > self.max_body:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _http_problem(self, exc: web.HTTPException, instance: str) -> web.Response:
        titles = {404: "No such resource", 405: "Method not allowed"}
        title = titles.get(exc.status, exc.reason)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        slug = title.lower().replace(" ", "-")
        return Answer.of_problem(
            ApiProblem(problem(exc.status, slug, title), headers), instance
        ).response()

    async def _audit_apart(self, call: Call, status: int) -> None:
        """The audit line of a call whose unit of work failed, in a transaction of its own; a
        failure here is logged, never answered."""
        try:
            async with self.services.transaction() as svc:
                await svc.api_tokens.record_call(
                    call.token, status=status, detail=call.audit_detail()
                )
        except Exception as exc:
            log.warning("api: the audit line was not written (%s)", type(exc).__name__)
