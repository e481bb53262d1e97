"""The routes served beside the graph on the LangGraph server (langgraph.json ``http.app``): images, transcripts.

Chat UIs show the edited image as a markdown image (``langgraph_studio.show``); a browser fetches it
from here without an Authorization header, so with API keys configured a link carries its signature
(``agent.session.chat_content.image_signature``) instead, and a link without a valid one is answered 401.
The transcript route gives a thread's whole conversation (the state keeps a window, the store the rest)
to the key that owns it.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.integrations.langgraph_studio import studio_settings
from agent.integrations.studio_auth import identity
from agent.session.chat_content import IMAGE_ROUTE, signature_ok
from graphs.storage.store import ImageStore, check_key
from tools.errors import ImageNotFound

TRANSCRIPT_ROUTE = "/dialogpaint/threads/{thread_id}/transcript"


@functools.cache
def store() -> ImageStore:
    """The image store the graph writes (the settings' store), opened once per process."""
    from agent.wiring import image_store

    return image_store(studio_settings())


def image(request: Request) -> Response:
    """A stored image by its key (sync: Starlette runs it in a worker thread, off the event loop)."""
    key, sig = request.path_params["key"], request.query_params.get("sig")
    keys = [k.get_secret_value().encode() for k in studio_settings().api_keys]
    if not signature_ok(keys, key, sig):
        raise HTTPException(401, "the image link's signature is missing or wrong", {"WWW-Authenticate": "Bearer"})
    try:
        png = store().get(check_key(key))
    except ImageNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=31536000, immutable"})


async def transcript(request: Request) -> Response:
    """A thread's whole conversation: the messages its state let go, from the store, then its window.

    The same bearer key as the server's API; a thread another key created is 404, as there. Read through
    the server's own API in process (``langgraph_sdk.get_client()``), which skips the auth handlers,
    so the owner is checked here and the store is read under the owner's namespace. 410 if items are
    missing (their owner deleted them through the store API).
    """
    from langgraph_sdk import get_client
    from langgraph_sdk.errors import NotFoundError

    from graphs.storage.store_transcript import KIND, key

    thread_id = request.path_params["thread_id"]
    owner = await asyncio.to_thread(identity, request.headers.get("authorization"))
    client = get_client(api_key=None)
    try:
        thread = await client.threads.get(thread_id)
        if (thread.get("metadata") or {}).get("owner") != owner:
            raise HTTPException(404, f"thread {thread_id} not found")
        values = (await client.threads.get_state(thread_id))["values"] or {}
        start = int(values.get("trimmed", 0)) if isinstance(values, dict) else 0
        items: dict[str, Any] = {}
        while len(items) < start:  # pages in whatever order the store lists them; the keys say the order
            page = await client.store.search_items((owner, KIND, thread_id), limit=PAGE, offset=len(items))
            if not page["items"]:
                break
            items.update((item["key"], item["value"]["message"]) for item in page["items"])
    except NotFoundError:
        raise HTTPException(404, f"thread {thread_id} not found") from None
    finally:
        await client.aclose()
    missing = [seq for seq in range(start) if key(seq) not in items]
    if missing:
        raise HTTPException(
            410, f"the transcript of thread {thread_id} lacks {len(missing)} of its first {start} messages"
        )
    window = values.get("messages", []) if isinstance(values, dict) else []
    return JSONResponse({"thread_id": thread_id, "messages": [items[key(seq)] for seq in range(start)] + window})


PAGE = 1000  # store items per page read
app = Starlette(
    routes=[
        Route(IMAGE_ROUTE + "/{key}.png", image, methods=["GET"]),
        Route(TRANSCRIPT_ROUTE, transcript, methods=["GET"]),
    ]
)
