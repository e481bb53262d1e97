"""langgraph.json names a graph the LangGraph server can load and run with its own checkpointer."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

ROOT = Path(__file__).resolve().parents[1]


def load_like_the_langgraph_server(name: str) -> Any:
    """The graph ``name`` of langgraph.json, imported as langgraph-api does: a file path:attr relative to the file."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."] and config["env"]["DIALOGPAINT_LLM"] == "local"
    path, attr = config["graphs"][name].split(":")
    file = (ROOT / path).resolve()
    module_name = path.replace("/", "__").replace(".py", "").lstrip(".")
    spec = importlib.util.spec_from_file_location(module_name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    graph = getattr(module, attr)
    if callable(graph) and not isinstance(graph, Pregel):  # a factory taking the run's RunnableConfig
        graph = graph({"configurable": {}})
    assert isinstance(graph, Pregel) and graph.checkpointer is None  # the server brings its own
    return graph.copy({"checkpointer": InMemorySaver()})  # as the server attaches one


@pytest.fixture
def studio(tmp_path, monkeypatch):
    """The studio graph on a fresh data directory (DIALOGPAINT_DATA_DIR, as `langgraph dev` would pass it)."""
    monkeypatch.setenv("DIALOGPAINT_DATA_DIR", str(tmp_path / "data"))
    from agent.integrations import langgraph_studio as module

    module._default_deps.cache_clear()  # the embedded default is built once per process: rebuild it here
    module.studio_settings.cache_clear()
    yield load_like_the_langgraph_server("dialogpaint")
    module._default_deps.cache_clear()
    module.studio_settings.cache_clear()


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def last_text(state: dict[str, Any]) -> str:
    return str(next(m.content for m in reversed(state["messages"]) if isinstance(m, AIMessage) and m.content))


def test_one_turn_without_context_or_image_gets_the_embedded_default(studio, tmp_path):
    config = thread()
    state = studio.invoke({"messages": [{"role": "user", "content": "make it better"}]}, config)
    assert "What would you like me to change?" in last_text(state)
    assert len(state["revisions"]) == 1 and state["head"] == state["revisions"][0]["id"]  # the sample image
    stored = list((tmp_path / "data" / "images").rglob("*.png"))
    assert [p.stem for p in stored] == [state["revisions"][0]["image"]]  # in the settings' data dir
    first = state["revisions"][0]
    state = studio.invoke({"messages": [{"role": "user", "content": "make it black and white"}]}, config)
    # auto policy: the answer to our question, in the user's own words on a CPU tool, runs without a second yes
    assert [r["tool"] for r in state["revisions"]] == [None, "grayscale"] and not studio.get_state(config).next
    assert state["revisions"][0] == first  # the thread's image was kept, not replaced by a new sample


def test_an_async_run_with_a_json_context_edits_at_once(studio):
    config = thread()
    request = {"messages": [{"role": "user", "content": "make it black and white"}]}
    state = asyncio.run(studio.ainvoke(request, config, context={"confirm": "never"}))
    assert [r["tool"] for r in state["revisions"]] == [None, "grayscale"] and "Done" in last_text(state)
    assert set(studio.get_context_jsonschema()["properties"]) == {"confirm", "seed", "edits_per_message"}
    with pytest.raises(ValueError, match="confirm"):
        studio.invoke(request, thread(), context={"confirm": "sometimes"})


def image_block(width: int, height: int) -> dict[str, Any]:
    import base64
    import io

    from agent.samples import landscape

    buffer = io.BytesIO()
    landscape().resize((width, height)).save(buffer, "PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode(), "mime_type": "image/png"}


def test_a_message_image_becomes_the_head_and_both_are_held_to_the_services_limits(studio):
    from agent.session.refusals import MessageRejected
    from tools.errors import ImageRejected

    config = thread()
    state = studio.invoke({"messages": [{"role": "user", "content": [image_block(40, 30)]}]}, config)  # no words
    assert len(state["revisions"]) == 1 and [m.content for m in state["messages"][:1]] == ["(sent an image)"]
    assert "](/dialogpaint/images/" + state["revisions"][0]["image"] + ".png)" in last_text(state)  # no host: relative
    with pytest.raises(MessageRejected, match="the limit is 2000"):
        studio.invoke({"messages": [{"role": "user", "content": "x" * 2001}]}, config)
    with pytest.raises(ImageRejected, match="8"):  # the shortest side a session accepts
        studio.invoke(
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, image_block(4, 4)]}]}, config
        )
    assert len(studio.get_state(config).values["revisions"]) == 1  # nothing was added by the refused upload
