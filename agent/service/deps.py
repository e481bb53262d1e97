"""The service's state and the dependencies routes declare: caller, owned session, rate limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.service.auth import KeyRing, Principal, owns
from agent.service.errors import ApiError
from agent.service.limits import RateLimiter
from agent.service.metrics import ServiceMetrics
from agent.service.previews import ShownPreviews
from agent.service.runs import Runner
from agent.session.engine import Engine
from agent.session.refusals import SessionNotFound
from agent.session.session import Session
from tools.base import EditTool

bearer = HTTPBearer(auto_error=False, description="One of the keys in DIALOGPAINT_API_KEYS.")


@dataclass
class Service:
    """What the lifespan builds once: the engine, the keys, the rate limiter, the runner, the ready tools."""

    engine: Engine
    keys: KeyRing
    limiter: RateLimiter
    runner: Runner
    metrics: ServiceMetrics
    ready_tools: Mapping[str, EditTool] = field(default_factory=dict)  # /healthz checks that they stay ready
    previews: ShownPreviews = field(default_factory=ShownPreviews)  # what each session may fetch as a preview
    public_url: str | None = None  # the base of links in chat replies; None: the request's


def service(request: Request) -> Service:
    """The running service."""
    found: Service = request.app.state.service
    return found


ServiceDep = Annotated[Service, Depends(service)]


async def caller(
    svc: ServiceDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """Who is calling (401 without a valid key). Async, like ``spend``: they run on the event loop, one at a time."""
    return svc.keys.authenticate(credentials.credentials if credentials else None)


Caller = Annotated[Principal, Depends(caller)]


async def admissible(svc: ServiceDep, principal: Caller) -> Principal:
    """The caller, once the work queue has room for it: a full queue is refused before any work.

    Routes declare it (or ``Spender``) before ``OwnedSession``, so a refusal reads no checkpoint.
    The place itself is reserved when the run starts (a race lost in between is still refused).
    """
    svc.runner.queue.check(principal.name)
    return principal


Admissible = Annotated[Principal, Depends(admissible)]


async def spend(svc: ServiceDep, principal: Admissible) -> Principal:
    """The caller, after taking one token from its rate-limit bucket (requests that start work)."""
    svc.limiter.take(principal.name)
    return principal


Spender = Annotated[Principal, Depends(spend)]


def owned_session(session_id: str, svc: ServiceDep, principal: Caller) -> Session:
    """The caller's session; another key's session answers exactly like a missing one.

    A plain function, so FastAPI runs it in a worker thread: resuming reads the checkpointer.
    """
    if owns(principal, session_id):
        try:
            return svc.engine.resume(session_id)
        except SessionNotFound:
            pass
    raise ApiError("session_not_found", f"no session {session_id!r} for this API key")


OwnedSession = Annotated[Session, Depends(owned_session)]
