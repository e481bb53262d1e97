"""The HTTP service with fake dependencies: streaming, errors and their codes, isolation, limits, restarts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image, ImageOps

from agent.settings import Settings
from tests.fakes import RecordingTool, ScriptedChatModel, ai, call, gradient
from tests.image_files import declare_size, originals
from tests.service_helpers import KEY_A, KEY_B, auth, parse_sse, png, require_serve_extra, send, upload


class BlockingTool(RecordingTool):
    """A mirror that waits, mid-edit, until the test releases it: a run that is really in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, image: Image.Image, params: Any, *, seed: int, progress: Any = None) -> Image.Image:
        self.started.set()
        assert self.release.wait(20), "the test never released the tool"
        return super().__call__(image, params, seed=seed, progress=progress)


@pytest.fixture
def service(tmp_path):
    """make(script, tools=..., **settings) -> a TestClient on an app serving a scripted-model engine."""
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.wiring import create_engine

    opened = []

    def make(script=(), *, tools=None, **overrides):
        options = {"api_keys": f"{KEY_A},{KEY_B}", "confirm": "never", **overrides}
        settings = Settings(data_dir=tmp_path / "data", **options)
        model = ScriptedChatModel(script=list(script))
        engine = create_engine(settings, model=model, tools=tools or {"mirror": RecordingTool()})
        client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, engine))
        return client

    yield make
    for client, engine in opened:
        client.__exit__(None, None, None)
        engine.close()


def mirror_call(text="mirror it"):
    return ai(call("mirror", instruction=text))


def test_an_edit_streams_steps_progress_revision_then_reply(service):
    client = service([mirror_call()])
    created = upload(client, KEY_A)
    assert created.status_code == 201
    session = created.json()
    root = session["head"]
    events = send(client, KEY_A, session["id"], "mirror it")
    kinds = [(e["event"], e["data"].get("node")) for e in events]
    assert kinds == [
        ("step", "decide"), ("progress", None), ("step", "edit"), ("revision", None), ("reply", None)
    ]  # fmt: skip
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    revision, reply = events[-2]["data"], events[-1]["data"]
    assert reply["action"] == "edit" and reply["head"] == revision["id"] and revision["parent"] == root
    assert revision["params"]["seed"] >= 0 and revision["instruction"] == "mirror it"
    image = client.get(revision["image_url"], headers=auth(KEY_A))
    assert image.headers["content-type"] == "image/png"
    assert image.content == client.get(revision["image_url"], headers=auth(KEY_A)).content
    mirrored = Image.open(io.BytesIO(image.content)).convert("RGB")
    assert mirrored.tobytes() == ImageOps.mirror(gradient()).tobytes()


def test_available_pipelines_load_once_at_startup_and_unavailable_ones_not_at_all(service):
    class Pipelined(RecordingTool):
        def __init__(self, reason: str | None) -> None:
            super().__init__()
            self.reason, self.loads = reason, 0

        def unavailable_reason(self) -> str | None:
            return self.reason

        def load(self) -> None:
            self.loads += 1

    ready, missing = Pipelined(None), Pipelined("no weights")
    service(tools={"mirror": ready, "other": missing})
    assert (ready.loads, missing.loads) == (1, 0)


def test_a_chat_reply_streams_its_text_as_tokens_before_the_reply(service):
    client = service([ai(text="I can edit images.")])
    sid = upload(client, KEY_A).json()["id"]
    events = send(client, KEY_A, sid, "hello")
    assert [e["event"] for e in events] == ["token", "step", "reply"]
    assert "".join(e["data"]["text"] for e in events if e["event"] == "token") == "I can edit images."
    assert events[-1]["data"]["action"] == "chat" and events[-1]["data"]["text"] == "I can edit images."


def test_session_ids_are_random_and_bound_to_their_key(service):
    client = service()
    ids = [upload(client, KEY_A).json()["id"] for _ in range(2)]
    assert ids[0] != ids[1]
    nonce, _, tag = ids[0].partition(".")
    assert len(nonce) >= 22 and len(tag) >= 22  # 16 random bytes, then a 16-byte MAC, base64url


def test_another_keys_session_answers_exactly_like_a_missing_one(service):
    client = service([mirror_call()])
    mine = upload(client, KEY_A).json()
    sid, head = mine["id"], mine["head"]
    missing = sid[:-4] + ("AAAA" if not sid.endswith("AAAA") else "BBBB")
    requests = [
        ("GET", "", None), ("GET", "/revisions", None), ("GET", f"/revisions/{head}/image", None),
        ("POST", "/messages", {"text": "mirror it"}), ("POST", "/confirmation", {"approve": True}),
        ("POST", "/undo", None), ("POST", "/redo", None), ("DELETE", "", None),
    ]  # fmt: skip
    for method, suffix, body in requests:
        theirs = client.request(method, f"/v1/sessions/{sid}{suffix}", json=body, headers=auth(KEY_B))
        absent = client.request(method, f"/v1/sessions/{missing}{suffix}", json=body, headers=auth(KEY_A))
        assert theirs.status_code == absent.status_code == 404, (method, suffix)
        assert theirs.json()["error"]["code"] == absent.json()["error"]["code"] == "session_not_found"
        assert theirs.json()["error"]["message"].replace(sid, "ID") == absent.json()["error"]["message"].replace(
            missing, "ID"
        )
    # Nothing B tried touched A's session.
    assert send(client, KEY_A, sid, "mirror it")[-1]["data"]["action"] == "edit"
    assert len(client.get(f"/v1/sessions/{sid}/revisions", headers=auth(KEY_A)).json()["revisions"]) == 2


def test_missing_or_wrong_key_is_401_with_a_bearer_challenge(service):
    client = service()
    for headers in ({}, auth("not-a-configured-key-at-all"), {"Authorization": "Basic abc"}):
        response = client.post("/v1/sessions", files={"image": ("a.png", png(), "image/png")}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_second_message_while_one_runs_is_409_and_history_does_not_fork(service):
    tool = BlockingTool()
    client = service([mirror_call(), mirror_call("again")], tools={"mirror": tool})
    sid = upload(client, KEY_A).json()["id"]
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(send, client, KEY_A, sid, "mirror it")
        assert tool.started.wait(20)
        for path, body in (("/messages", {"text": "mirror again"}), ("/undo", None), ("/redo", None)):
            busy = client.post(f"/v1/sessions/{sid}{path}", json=body, headers=auth(KEY_A))
            assert busy.status_code == 409, path
            assert busy.json()["error"]["code"] == "session_busy"
        assert client.delete(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 409
        tool.release.set()
        assert first.result(timeout=20)[-1]["data"]["action"] == "edit"
    session = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()
    assert len(session["revisions"]) == 2
    assert [t["role"] for t in session["history"]] == ["user", "assistant"]
    assert send(client, KEY_A, sid, "mirror again")[-1]["data"]["action"] == "edit"  # free again


def test_a_full_work_queue_answers_503_with_retry_after(service):
    tool = BlockingTool()
    client = service([mirror_call()], tools={"mirror": tool}, work_slots=1, work_queue=0, retry_after_s=7)
    first, second = (upload(client, KEY_A).json()["id"] for _ in range(2))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(send, client, KEY_A, first, "mirror it")
        assert tool.started.wait(20)
        full = client.post(f"/v1/sessions/{second}/messages", json={"text": "hi"}, headers=auth(KEY_A))
        assert full.status_code == 503 and full.json()["error"]["code"] == "overloaded"
        assert full.headers["retry-after"] == "7"
        assert upload(client, KEY_A).status_code == 503  # decoding an upload is queued work too
        tool.release.set()
        running.result(timeout=20)
    assert upload(client, KEY_A).status_code == 201


def test_requests_that_start_work_are_rate_limited_per_key(service):
    client = service(rate_burst=2, rate_per_minute=1)
    assert upload(client, KEY_A).status_code == 201
    sid = upload(client, KEY_A).json()["id"]
    limited = client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A))
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert client.get(f"/v1/sessions/{sid}/revisions", headers=auth(KEY_A)).status_code == 200  # reads are free
    assert upload(client, KEY_B).status_code == 201  # another key has its own bucket


def test_upload_limits_are_checked_before_decoding(service):
    client = service(max_upload_bytes=20_000, max_pixels=2_000)
    big = client.post(
        "/v1/sessions",
        content=b"x" * 200_000,
        headers={**auth(KEY_A), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    assert big.json()["error"]["message"] == "the request body is 200,000 bytes; the limit is 85,536 bytes"

    def chunks():  # no Content-Length: the bytes are counted as they arrive
        yield b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\nContent-Type: image/png\r\n\r\n"
        for _ in range(100):
            yield b"x" * 1000

    streamed = client.post(
        "/v1/sessions", content=chunks(), headers={**auth(KEY_A), "Content-Type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    too_many_pixels = upload(client, KEY_A, png(gradient((64, 48))))
    assert too_many_pixels.status_code == 422 and too_many_pixels.json()["error"]["code"] == "image_rejected"
    assert "limit is 2,000 pixels" in too_many_pixels.json()["error"]["message"]
    gif = io.BytesIO()
    gradient((8, 8)).save(gif, format="GIF")
    declared = upload(client, KEY_A, gif.getvalue(), "image/gif")
    assert declared.status_code == 415 and declared.json()["error"]["code"] == "unsupported_media_type"
    disguised = upload(client, KEY_A, gif.getvalue(), "image/png")
    assert disguised.status_code == 422 and "not a PNG, JPEG or WebP" in disguised.json()["error"]["message"]
    nothing = client.post("/v1/sessions", data={"other": "x"}, files={"x": ("a", b"1")}, headers=auth(KEY_A))
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "invalid_request"
    assert upload(client, KEY_A, png(gradient((40, 40)))).status_code == 201
    undeclared = (
        b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n"
        + png(gradient((40, 40)))
        + b"\r\n--b--\r\n"
    )
    multipart = {**auth(KEY_A), "Content-Type": "multipart/form-data; boundary=b"}
    assert client.post("/v1/sessions", content=undeclared, headers=multipart).status_code == 201  # the bytes decide


def test_messages_are_checked_before_any_work(service):
    client = service(max_message_chars=10)
    sid = upload(client, KEY_A).json()["id"]
    url, headers = f"/v1/sessions/{sid}/messages", auth(KEY_A)
    for body, code in (
        ({"text": "x" * 11}, "message_rejected"), ({"text": "   "}, "message_rejected"),
        ({"words": "hi"}, "invalid_request"), ({"text": 5}, "invalid_request"),
    ):  # fmt: skip
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422 and response.json()["error"]["code"] == code, body
    not_json = client.post(url, content=b'{"text": "hi",}', headers={**headers, "Content-Type": "application/json"})
    assert not_json.json()["error"] == {
        "code": "invalid_request",
        "message": "the body is not valid JSON (character 14): Expecting property name enclosed in double quotes",
    }
    plain = client.post(url, content=b"make it brighter", headers={**headers, "Content-Type": "text/plain"})
    assert plain.status_code == 422 and "sent with 'Content-Type: application/json'" in plain.json()["error"]["message"]
    huge = client.post(url, content=b"x" * 100_000, headers={**headers, "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert client.get(f"/v1/sessions/{sid}", headers=headers).json()["history"] == []  # the model never ran


def test_bad_images_are_image_rejected_naming_the_limit_never_a_500(service):
    client = service()
    for data, words in (
        (png(Image.new("RGB", (1, 1))), "each side must be at least 8 pixels (min_image_side)"),
        (png(Image.new("RGB", (10, 3000))), "at most 20 times the shortest (max_aspect_ratio)"),
        (declare_size(originals()["webp-lossy"], 16383, 16383), "pixels; the limit is 40,000,000 pixels"),
        (originals()["webp-lossless"][:300], "corrupt or truncated"),
        (originals()["png-rgb"][: len(originals()["png-rgb"]) // 2], "corrupt or truncated"),
    ):
        response = upload(client, KEY_A, data, "application/octet-stream")
        assert response.status_code == 422 and response.json()["error"]["code"] == "image_rejected", response.text
        assert words in response.json()["error"]["message"]


def test_control_characters_are_message_rejected_and_the_history_is_what_was_shown(service):
    client = service([mirror_call(), ai(text="Done.")])
    sid = upload(client, KEY_A).json()["id"]
    url, headers = f"/v1/sessions/{sid}/messages", auth(KEY_A)
    send(client, KEY_A, sid, "mirror it")
    before = client.get(f"/v1/sessions/{sid}", headers=headers).json()
    for body in ('{"text": "make it\\u0000 red"}', '{"text": "\\u001b[31mred"}', '{"text": "\\u202ered"}',
                 '{"text": "make it \\ud800 red"}'):  # fmt: skip
        response = client.post(url, content=body.encode(), headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 422 and response.json()["error"]["code"] == "message_rejected", body
        assert "the message contains" in response.json()["error"]["message"]
    assert client.get(f"/v1/sessions/{sid}", headers=headers).json() == before
    send(client, KEY_A, sid, "thanks\r\nthat is all")
    history = client.get(f"/v1/sessions/{sid}", headers=headers).json()["history"]
    assert history[len(before["history"])] == {"role": "user", "text": "thanks\nthat is all"}


def test_confirmation_yes_applies_and_undo_waits_for_the_answer(service):
    approve = ai(call("confirm_pending", approve=True))
    client = service([mirror_call(), approve], confirm="always")
    sid = upload(client, KEY_A).json()["id"]
    proposed = send(client, KEY_A, sid, "mirror it")[-1]["data"]
    assert proposed["action"] == "confirm" and proposed["confirmation"]["edits"][0]["name"] == "mirror"
    blocked = client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A))
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "confirmation_pending"
    question = {"role": "assistant", "text": proposed["text"]}
    assert client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["history"][-1] == question  # to resume
    answer = client.post(f"/v1/sessions/{sid}/confirmation", json={"approve": True}, headers=auth(KEY_A))
    events = parse_sse(answer.text)
    assert [(e["event"], e["data"].get("node")) for e in events][-3:] == [
        ("step", "edit"), ("revision", None), ("reply", None)
    ]  # fmt: skip
    assert events[-1]["data"]["action"] == "edit"
    again = client.post(f"/v1/sessions/{sid}/confirmation", json={"approve": False}, headers=auth(KEY_A))
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_pending_confirmation"
    assert client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["history"].count(question) == 1


def test_undo_and_redo_move_the_head_and_are_recorded_in_the_conversation(service):
    client = service([mirror_call()])
    sid = upload(client, KEY_A).json()["id"]
    edited = send(client, KEY_A, sid, "mirror it")[-1]["data"]["head"]
    undone = client.post(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A)).json()
    assert undone["action"] == "undo" and undone["undo_steps"] == 1
    listing = client.get(f"/v1/sessions/{sid}/revisions", headers=auth(KEY_A)).json()
    assert listing["head"] == undone["head"] == listing["path"][0] and len(listing["revisions"]) == 2
    redone = client.post(f"/v1/sessions/{sid}/redo", json={"steps": 1}, headers=auth(KEY_A)).json()
    assert redone["action"] == "redo" and redone["head"] == edited
    nothing = client.post(f"/v1/sessions/{sid}/redo", headers=auth(KEY_A)).json()
    assert nothing["head"] == edited and "nothing to redo" in nothing["text"].lower()
    users = [
        t["text"]
        for t in client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["history"]
        if t["role"] == "user"
    ]
    assert users == ["mirror it", "undo", "redo", "redo"]
    bad = client.post(f"/v1/sessions/{sid}/undo", json={"steps": 0}, headers=auth(KEY_A))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_unknown_things_and_deletion(service):
    client = service()
    sid = upload(client, KEY_A).json()["id"]
    unknown_revision = client.get(f"/v1/sessions/{sid}/revisions/r_nope/image", headers=auth(KEY_A))
    assert unknown_revision.status_code == 404 and unknown_revision.json()["error"]["code"] == "revision_not_found"
    assert client.get("/v1/nothing-here").json()["error"]["code"] == "not_found"
    wrong_method = client.put(f"/v1/sessions/{sid}/undo", headers=auth(KEY_A))
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert client.delete(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 204
    assert client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 404
    assert client.delete(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 404


def test_a_bug_is_a_500_without_details(service):
    from agent.service.deps import owned_session

    client = service()
    sid = upload(client, KEY_A).json()["id"]

    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    client.app.dependency_overrides[owned_session] = broken
    response = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error; it has been logged"}}


def test_a_run_that_crashes_ends_its_stream_with_an_error_event_and_frees_the_session():
    require_serve_extra()
    import asyncio

    from agent.service.limits import WorkQueue
    from agent.service.runs import Runner

    async def scenario() -> list[Any]:
        runner = Runner(WorkQueue(1, 0, 1))

        def work(sink: Any) -> dict[str, Any]:
            sink({"kind": "step", "node": "decide"})
            raise RuntimeError("boom")

        events = runner.start("s", work, "key")
        received = []
        while (event := await events.get()) is not None:
            received.append(event)
        return [received, runner.active, runner.queue.admitted]

    received, active, admitted = asyncio.run(scenario())
    error = {"kind": "error", "code": "internal_error", "message": "internal error; logged"}
    assert received == [{"kind": "step", "node": "decide"}, error]
    assert active == {} and admitted == 0


def test_openapi_documents_every_route_and_error_code(service):
    from agent.service.errors import CODES

    schema = service(api_docs=True).get("/openapi.json").json()
    text = str(schema)
    routes = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    base = "/v1/sessions/{session_id}"
    assert {
        ("POST", "/v1/sessions"), ("GET", base), ("DELETE", base), ("POST", f"{base}/messages"),
        ("POST", f"{base}/confirmation"), ("POST", f"{base}/undo"), ("POST", f"{base}/redo"),
        ("GET", f"{base}/revisions"), ("GET", f"{base}/revisions/{{revision_id}}/image"),
    } <= routes  # fmt: skip
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/"):
                assert "500" in op["responses"] and "422" in op["responses"], (method, path)
    for code in CODES:
        if code not in ("not_found", "method_not_allowed"):  # the router's own answers, on no route
            assert f"`{code}`" in text, code
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status[0] in "45":  # errors are JSON, on the streaming routes too
                    assert list(response["content"]) == ["application/json"], (method, path, status)
                    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                    assert ref == "ErrorBody" and ref in schema["components"]["schemas"]
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, status)
    assert "text/event-stream" in schema["paths"][f"{base}/messages"]["post"]["responses"]["200"]["content"]
    assert "multipart/form-data" in schema["paths"]["/v1/sessions"]["post"]["requestBody"]["content"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_chat_page_is_served_without_external_resources(service):
    client = service()
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text and client.get(asset).status_code == 200
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text
    checks = {"checkpointer": "ok", "images": "ok", "tool:mirror": "ok"}
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "auth": "bearer", "checks": checks, "tools": {"mirror": {"ready": True}}}


def test_without_keys_the_service_is_in_dev_mode(tmp_path):
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path / "data", api_keys=""))) as client:
        health = client.get("/healthz").json()
        assert health == {"status": "ok", "auth": "none", "checks": health["checks"], "tools": health["tools"]}
        pix2pix = health["tools"]["instruct_pix2pix"]  # no weights here: listed, with how to enable it
        assert not pix2pix["ready"] and "--model-path" in pix2pix["enable"] and health["tools"]["crop"]["ready"]
        assert {"checkpointer", "images", "tool:adjust_tone"} <= set(health["checks"])
        assert set(health["checks"].values()) == {"ok"} and "tool:instruct_pix2pix" not in health["checks"]
        created = client.post("/v1/sessions", files={"image": ("a.png", png(), "image/png")})
        assert created.status_code == 201
        assert client.get(f"/v1/sessions/{created.json()['id']}/revisions").status_code == 200


def test_a_session_continues_after_the_service_restarts(tmp_path):
    """The embedded default end to end: edit, stop the service, start a new one on the same data, go on."""
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="never")
    with TestClient(create_app(settings)) as client:
        sid = upload(client, KEY_A).json()["id"]
        reply = send(client, KEY_A, sid, "make it brighter")[-1]["data"]
        assert reply["action"] == "edit", reply
    with TestClient(create_app(settings)) as client:
        session = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()
        assert session["head"] == reply["head"] and len(session["revisions"]) == 2
        assert session["history"][0] == {"role": "user", "text": "make it brighter"}
        assert send(client, KEY_A, sid, "undo")[-1]["data"]["action"] == "undo"
        assert client.post(f"/v1/sessions/{sid}/redo", headers=auth(KEY_A)).json()["head"] == reply["head"]


def test_serve_refuses_a_public_address_without_keys_and_imports_fastapi_only_when_serving():

    code = (
        "import sys\nfrom agent.cli import main\nsys.argv = ['dialogpaint', 'serve', '--host', '0.0.0.0']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    print('exit', exit.code)\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn') if m in sys.modules))"
    )
    env = {**os.environ, "DIALOGPAINT_API_KEYS": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert "only listens on loopback" in done.stderr and "DIALOGPAINT_API_KEYS" in done.stderr
    assert done.stdout.split("\n")[:2] == ["exit 2", "[]"]


def test_serve_with_a_bad_checkpoint_url_is_one_error_line_without_a_traceback(tmp_path):
    require_serve_extra()
    env = {
        **os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), "DIALOGPAINT_API_KEYS": KEY_A,
        "DIALOGPAINT_CHECKPOINT_URL": "postgresql://me:hunter2@127.0.0.1:1/none",
    }  # fmt: skip
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "--port", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "Postgres" in done.stderr  # unreachable, or psycopg missing
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_serve_without_the_serve_extra_names_what_to_install(tmp_path):
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'fastapi' else real(name, *a)\n"
        "from agent.cli import main\nsys.argv = ['dialogpaint', 'serve']\nmain()"
    )
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: serve needs fastapi: pip install 'dialogpaint[serve]'"


def test_a_session_view_reads_the_saved_state_once(make_session, monkeypatch):
    require_serve_extra()
    from agent.service.routes import session_view

    session = make_session([ai(call("mirror", instruction="mirror it"), text="Mirrored.")])
    reply = session.send("mirror it")
    graph = session.engine.graph
    reads = []
    get_state = graph.get_state
    monkeypatch.setattr(graph, "get_state", lambda *args, **kwargs: reads.append(1) or get_state(*args, **kwargs))
    view = session_view(session)
    assert len(reads) == 1  # head, path, revisions and history all come from the same snapshot
    assert view.head == reply.head and view.path == [r["id"] for r in reply.revisions]
    assert [r.id for r in view.revisions] == view.path and view.confirmation is None
    assert [t.role for t in view.history][:1] == ["user"] and view.history[0].text == "mirror it"
