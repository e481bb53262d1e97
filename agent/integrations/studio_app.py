"""The routes served beside the graph on the LangGraph server (langgraph.json ``http.app``): the image route.

Chat UIs show the edited image as a markdown image (``langgraph_studio.show``); a browser fetches it
from here without an Authorization header, so with API keys configured a link carries its signature
(``agent.session.chat_content.image_signature``) instead, and a link without a valid one is answered 401.
"""

from __future__ import annotations

import functools

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.integrations.langgraph_studio import studio_settings
from agent.session.chat_content import IMAGE_ROUTE, signature_ok
from graphs.storage.store import ImageStore, check_key
from tools.errors import ImageNotFound


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


app = Starlette(routes=[Route(IMAGE_ROUTE + "/{key}.png", image, methods=["GET"])])
