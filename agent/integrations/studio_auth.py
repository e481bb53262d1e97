"""The service's API keys on the LangGraph server (langgraph.json ``auth``): 401 without one, threads kept per key.

With DIALOGPAINT_API_KEYS unset every request is the one dev principal (as ``dialogpaint serve`` on
loopback); with keys, a request needs ``Authorization: Bearer <key>`` and sees only the threads,
runs and crons its key created (their metadata's ``owner``) and a store namespace of its own, whose
transcripts only the graph writes. The assistants (the graph of langgraph.json) are everyone's to read.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from langgraph_sdk import Auth
from starlette.exceptions import HTTPException

if TYPE_CHECKING:
    from agent.service.auth import KeyRing

auth = Auth()
TRANSCRIPT = "transcript"  # graphs.storage.store_transcript.KIND (not imported: it brings LangChain)


@functools.cache
def key_ring() -> KeyRing:
    """The configured keys, read once per process."""
    from agent.integrations.langgraph_studio import studio_settings
    from agent.service.auth import KeyRing  # the service's keys; imported here, it brings FastAPI

    return KeyRing([key.get_secret_value() for key in studio_settings().api_keys])


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """The caller of a request, from its bearer key; 401 without a valid one."""
    try:
        name = await asyncio.to_thread(identity, authorization)  # the first call reads the settings
    except HTTPException as exc:  # the service's ApiError (unauthorized)
        raise Auth.exceptions.HTTPException(status_code=401, detail=exc.detail, headers=exc.headers) from None
    return {"identity": name, "permissions": []}


def identity(authorization: str | None) -> str:
    """The name of the key a bearer ``Authorization`` header carries (the dev principal without keys);
    401 (HTTPException) without a valid one. Also what ``studio_app``'s own routes check.
    """
    scheme, _, token = (authorization or "").partition(" ")
    return key_ring().authenticate(token.strip() if scheme.lower() == "bearer" else None).name


def owned(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Mark what a caller creates as theirs; filter what they read, search or change to theirs."""
    owner = {"owner": ctx.user.identity}
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if metadata is None:
            metadata = value["metadata"] = {}
        if isinstance(metadata, dict):
            metadata.update(owner)
    return owner


@auth.on.threads
async def own_threads(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Threads (and the runs on them) belong to the key that created them."""
    return owned(ctx, value)


@auth.on.crons
async def own_crons(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Crons belong to the key that created them."""
    return owned(ctx, value)


@auth.on.store
async def own_store(ctx: Auth.types.AuthContext, value: Any) -> None:
    """The long-term store is kept per key: every namespace starts with the caller's identity. The threads'
    transcripts in it (``graphs.storage.store_transcript``) are the graph's to write: here they can be read,
    and deleted (deleting a thread leaves its store items), never written.
    """
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        value["namespace"] = namespace = (ctx.user.identity, *namespace)
    if ctx.action == "put" and namespace[1:2] == (TRANSCRIPT,):
        raise Auth.exceptions.HTTPException(status_code=403, detail="a thread's transcript is append-only")
