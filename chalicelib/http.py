"""The HTTP edge: one decorator that every route goes through.

It checks the bearer token and role, reads the JSON body strictly (no floats, no duplicate keys,
no unknown fields, a size limit), validates it into a pydantic model, calls the service and
renders the answer. Every error, ours or unexpected, leaves here as ``application/problem+json``
(RFC 9457) carrying the request id, which is also in the log line, so support can go from one to
the other; a client never sees a stack trace. Every answer carries the same protective headers.
``ROUTES`` records every route with its roles so a test can prove that no route escapes sign-in.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from chalice.app import Response
from pydantic import BaseModel, ValidationError

from chalicelib import jsondepth, logs, wiring
from chalicelib.identity import NotSignedIn, Principal, Role, RoleNotAllowed
from chalicelib.problems import (
    BadRequest,
    FieldProblem,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.ratelimit import Bucket
from chalicelib.wiring import token_verifier

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# On every answer: no content sniffing (staff answers carry personal data), HTTPS only for two
# years, not framed by another site, no address leaked to other sites; nothing cached unless
# the route says so (static files).
EDGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
Model = TypeVar("Model", bound=BaseModel)


class _HasRequest(Protocol):
    """A Chalice app or blueprint: anything with ``route`` and ``current_request``."""

    @property
    def current_request(self) -> Any: ...

    def route(self, path: str, **kwargs: Any) -> Callable[[Any], Any]: ...


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    roles: frozenset[Role]
    public: bool
    rate_limit: str | None = None  # the rate limit bucket counted per client, if any
    # What the OpenAPI document (chalicelib/web/openapi.py) says of the route: its models, the
    # model of each successful answer by status, the media type, and the handler's docstring.
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    answers: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    status: int = 200
    media_type: str = "application/json"
    raw_body: bool = False
    summary: str = ""


ROUTES: list[RouteSpec] = []


@dataclass
class Call:
    """What a route handler receives besides its URI parameters."""

    request: Any
    principal: Principal | None
    body: Any = None
    query: Any = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            raise NotSignedIn("this action needs a signed-in member of staff")
        return self.principal

    @property
    def raw_body(self) -> bytes:
        raw = self.request.raw_body
        return raw if isinstance(raw, bytes) else (raw or b"")

    def header(self, name: str) -> str | None:
        value = self.request.headers.get(name)
        return None if value is None else str(value)


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=json.dumps(to_jsonable(body), ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-store", **(headers or {})},
    )


def request_id(request: Any) -> str:
    """The id of this request, the same the log lines carry as their correlation id (API
    Gateway's, else the invocation's); one made here only when there is neither. Kept in the
    request's context so every later reader of this request sees the same."""
    context = request.context if isinstance(request.context, dict) else {}
    value = logs.request_id(request) or str(uuid.uuid4())
    context["requestId"] = value
    return value


def problem_response(
    error: ProblemError, *, instance: str | None = None, request_id: str | None = None
) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": PROBLEM_TYPE,
        "Cache-Control": "no-store",
    }
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="court-funds"'
    if "retry_after" in error.extensions:
        headers["Retry-After"] = str(error.extensions["retry_after"])
    problem = error.as_problem(instance=instance)
    if request_id is not None:
        problem["request_id"] = request_id
    return Response(
        body=json.dumps(problem, ensure_ascii=False),
        status_code=error.status,
        headers=headers,
    )


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        raise TypeError("Decimal values must not reach a response; money is integer fen")
    return value


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"the body contains {name}, which is not a number JSON allows")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest(f"the body names the field {key!r} twice")
        result[key] = value
    return result


def check_depth(text: str, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` before parsing it: no request this API takes
    nests past a few levels."""
    if jsondepth.exceeds(text, limit):
        raise BadRequest(f"the body nests deeper than {limit} levels")


def parse_json(raw: bytes, *, limit: int = MAX_BODY_BYTES, max_depth: int = 32) -> Any:
    """Strict JSON: nesting is bounded, fractions become Decimal (so money fields can refuse
    them), NaN and Infinity are refused, duplicate keys are refused."""
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {limit}")
    if not raw.strip():
        raise BadRequest("the request needs a JSON body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("the body is not UTF-8 text") from error
    check_depth(text, max_depth)
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error


def _pointer(location: tuple[int | str, ...]) -> str:
    """RFC 6901 JSON pointer; the whole body is the empty pointer."""
    if not location:
        return ""
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in location)


def validation_problem(error: ValidationError, *, where: str = "body") -> ValidationFailed:
    problems = []
    for item in error.errors(include_url=False):
        location = tuple(item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(FieldProblem(pointer=_pointer(location), detail=message))
    summary = "; ".join(f"{p.pointer}: {p.detail}" for p in problems[:3])
    return ValidationFailed(f"the {where} has invalid fields: {summary}", errors=problems)


def parse_model(model: type[Model], data: Any, *, where: str = "body") -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error, where=where) from error


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def route(
    owner: _HasRequest,
    path: str,
    *,
    methods: Iterable[str] = ("GET",),
    roles: Iterable[Role] = (),
    public: bool = False,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    raw_body: bool = False,
    max_body_bytes: Callable[[], int] | None = None,
    rate_limit: Bucket | None = None,
    answer: type[BaseModel] | Mapping[int, type[BaseModel]] | None = None,
    media_type: str = "application/json",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a route on an app or blueprint with sign-in, parsing and error rendering.

    ``roles`` are the staff roles allowed; ``public=True`` is for the debtor's and creditor's
    pages and for webhooks, which prove themselves another way. ``rate_limit`` counts each
    call against the client's rate limit of that bucket before anything else. The handler is
    called as ``handler(call, **uri_params)`` and returns a JSON-able value or a chalice
    ``Response``.
    ``max_body_bytes`` raises the body limit for routes that take a photo (read from settings
    when a request comes, so the limit is the stage's).
    ``answer`` is the model of a successful JSON answer (of ``status``), or the model of each
    status the route answers with (``{201: Made, 200: Made}``). It is the route's contract: the
    OpenAPI document shows it, and an answer that is not an instance of it is checked against
    it before it leaves, so a route cannot answer what its document does not say (a breach is
    our error, logged with the request id). ``media_type`` names what other routes answer
    (pages, CSV, PDF).
    """
    allowed = frozenset(roles)
    if public == bool(allowed):
        raise ValueError(f"{path}: a route is either public or has roles, not both or neither")
    method_list = [m.upper() for m in methods]
    answers = dict(answer) if isinstance(answer, Mapping) else {status: answer} if answer else {}
    if (media_type == "application/json") != bool(answers):
        raise ValueError(f"{path}: a JSON route names the model of its answer, and only it")

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        def view(**params: str) -> Response:
            request = owner.current_request
            rid = request_id(request)
            return _with_edge_headers(respond(request, rid, params), rid)

        def respond(request: Any, rid: str, params: dict[str, str]) -> Response:
            try:
                if rate_limit is not None and wiring.settings().rate_limits_on:
                    wiring.rate_limiter().hit(rate_limit, client_address(request))
                principal = None
                if not public:
                    principal = token_verifier().verify(request.headers.get("authorization"))
                    if not principal.has_any(allowed):
                        raise RoleNotAllowed(
                            "this needs one of the roles: " + ", ".join(sorted(allowed))
                        )
                call = Call(request=request, principal=principal, params=params)
                if query is not None:
                    call.query = parse_model(query, request.query_params or {}, where="query")
                if body is not None or raw_body:
                    raw = call.raw_body
                    limit = max_body_bytes() if max_body_bytes else MAX_BODY_BYTES
                    if len(raw) > limit:
                        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {limit}")
                    if body is not None:
                        if not _is_json(request.headers.get("content-type")):
                            raise UnsupportedMediaType("send the body as application/json")
                        depth = wiring.settings().max_json_depth
                        call.body = parse_model(body, parse_json(raw, limit=limit, max_depth=depth))
                result = handler(call, **params)
                if isinstance(result, Response):
                    return _kept_to(answers, result, path)
                if isinstance(result, BaseModel) and type(result) is answers.get(status):
                    return json_response(result, status=status)
                return _kept_to(answers, json_response(result, status=status), path)
            except ProblemError as error:
                return problem_response(error, instance=_instance(request), request_id=rid)
            except Exception as error:
                failure = _failure(error, request.method, path, rid)
                return problem_response(failure, instance=_instance(request), request_id=rid)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        for method in method_list:
            ROUTES.append(
                RouteSpec(
                    path=path,
                    method=method,
                    roles=allowed,
                    public=public,
                    rate_limit=rate_limit.value if rate_limit else None,
                    body=body,
                    query=query,
                    answers=answers,
                    status=status,
                    media_type=media_type,
                    raw_body=raw_body,
                    summary=(handler.__doc__ or "").strip(),
                )
            )
        owner.route(path, methods=method_list, content_types=["*/*"])(view)
        return handler

    return decorate


class AnswerOffContract(TypeError):
    """The answer a route built is not what its contract declares (our error, never sent)."""


def _failure(error: Exception, method: str, path: str, rid: str) -> ProblemError:
    """The problem for an error that is not the caller's, logged with what support needs. The
    trace goes to the log (never the body or personal data), not to the client; the request id
    in both lets support find one from the other."""
    from chalicelib.settings import MissingSetting  # already loaded if it raised this

    where = f"{method} {path}"
    if isinstance(error, AnswerOffContract) and method not in {"GET", "HEAD"}:
        # The work is done and committed; only its answer broke the contract. Telling the
        # caller nothing changed would invite a blind retry of a change that happened.
        log.error("%s request_id=%s", error, rid)
        return ProblemError(
            "the request was carried out, but its answer could not be formed; do not repeat "
            "it before reading the record it changed; quote the request id to support"
        )

    if isinstance(error, MissingSetting):
        # A stage deployed without a setting this route needs: the log names it, and retrying
        # does not help until someone sets it.
        log.error("%s cannot run in this stage: %s request_id=%s", where, error, rid)
        return ServiceUnavailable(
            "this service is not fully set up yet; nothing was changed by this request; quote "
            "the request id to support"
        )
    log.exception("unexpected error in %s request_id=%s", where, rid)
    return ProblemError(
        "something went wrong on our side; nothing was changed by this request unless its "
        "status says so, and it is safe to retry; quote the request id to support"
    )


def _kept_to(answers: Mapping[int, type[BaseModel]], response: Response, path: str) -> Response:
    """The answer, if it is what the route's contract says for its status: the JSON text that
    leaves is validated (strictly, as a client would read it) against the declared model."""
    if not answers or response.status_code >= 400:
        return response
    model = answers.get(response.status_code)
    if model is None:
        raise AnswerOffContract(
            f"{path} answered {response.status_code}, which its contract does not name"
        )
    try:
        model.model_validate_json(response.body, strict=True)
    except ValidationError as error:
        # Places and kinds only: the values may be personal data.
        broken = "; ".join(f"{_pointer(tuple(e['loc']))}: {e['type']}" for e in error.errors())
        raise AnswerOffContract(
            f"{path} answered off its contract {model.__name__}: {broken}"
        ) from None
    return response


def client_address(request: Any) -> str:
    """The caller's address as API Gateway saw it (a client cannot set it)."""
    context = request.context if isinstance(request.context, dict) else {}
    identity = context.get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _instance(request: Any) -> str:
    """The problem's ``instance``: the path this request asked for."""
    context = request.context if isinstance(request.context, dict) else {}
    return str(context.get("path") or context.get("resourcePath") or "/")


def _with_edge_headers(response: Response, rid: str) -> Response:
    for name, value in EDGE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Request-Id"] = rid
    return response
