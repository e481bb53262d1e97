"""agent.client against a real `dialogpaint serve` on loopback: the whole dialogue, errors and safe retries."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from agent.client import (
    NO_RETRY,
    AsyncClient,
    Client,
    Conflict,
    Done,
    NewRevision,
    NotFound,
    Rejected,
    RetryLater,
    RetryPolicy,
    Step,
    Unauthorized,
    Unreachable,
)
from agent.client.retry import SAFE_WHEN_IDEMPOTENT
from agent.samples import landscape
from tests.live_servers import CuttingProxy, dialogpaint_serve, uvicorn_thread
from tests.service_helpers import KEY_A, KEY_B, require_serve_extra


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_serve_extra()
    with dialogpaint_serve(tmp_path_factory.mktemp("serve"), DIALOGPAINT_API_KEYS=f"{KEY_A},{KEY_B}") as url:
        yield url


def brightness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def test_clarify_confirm_edit_undo_redo_with_typed_events(service: str) -> None:
    with Client(service, KEY_A) as client:
        session = client.open(landscape(160, 108))
        original = session.info.head
        assert [r.id for r in session.info.revisions] == [original]

        asked = session.send("make it look better")
        events = list(asked)
        assert any(isinstance(e, Step) and e.node == "decide" for e in events)
        assert isinstance(events[-1], Done) and events[-1].reply.action == "clarify"
        assert asked.result().action == "clarify"

        proposed = session.send("brighter and more vivid colours").result()
        assert proposed.action == "confirm" and proposed.confirmation is not None
        with pytest.raises(Conflict) as pending:
            session.undo()
        assert pending.value.code == "confirmation_pending" and pending.value.status == 409

        applied = session.confirm(True)
        kinds = list(applied)
        new = [e.revision for e in kinds if isinstance(e, NewRevision)]
        assert applied.result().action == "edit" and len(new) == 1
        assert applied.result().head == new[0].id and new[0].parent == original and new[0].tool
        assert brightness(session.image()) > brightness(session.image(original)) + 5

        assert session.undo().head == original
        assert session.revisions().path == [original]
        assert session.redo().head == new[0].id
        info = session.refresh()
        assert [t.role for t in info.history][:2] == ["user", "assistant"] and info.confirmation is None
        assert Image.open(io.BytesIO(session.image_bytes(original))).size == (160, 108)


def test_service_errors_are_raised_with_their_codes(service: str) -> None:
    with Client(service, KEY_A) as client:
        session = client.open(landscape(64, 48))
        with pytest.raises(Rejected) as long:
            session.send("x" * 2001)
        assert long.value.code == "message_rejected" and "the limit is 2000" in long.value.message
        with pytest.raises(Conflict) as nothing:
            session.confirm(True)
        assert nothing.value.code == "no_pending_confirmation"
        with pytest.raises(Rejected) as bad:
            client.open(b"not an image at all")
        assert bad.value.code == "image_rejected" and bad.value.status == 422
        with pytest.raises(NotFound) as missing:
            session.image_bytes("r_nope")
        assert missing.value.code == "revision_not_found"
        with Client(service, KEY_B) as other, pytest.raises(NotFound) as foreign:
            other.resume(session.id)
        assert foreign.value.code == "session_not_found"
    with Client(service, "wrong-key-0123456789") as stranger, pytest.raises(Unauthorized) as denied:
        stranger.open(landscape(64, 48))
    assert denied.value.code == "unauthorized"


def test_the_async_client_runs_a_turn_from_a_file(service: str, tmp_path: Path) -> None:
    picture = tmp_path / "in.jpg"
    landscape(96, 64).save(picture)

    async def dialogue() -> tuple[str, str, list[str]]:
        async with AsyncClient(service, KEY_A) as client:
            session = await client.open(picture)
            turn = await session.send("make it brighter")
            kinds = [type(event).__name__ async for event in turn]
            reply = await turn.result()
            back = await session.undo()
            return reply.action, back.head == session.info.head and "ok", kinds

    action, undone, kinds = asyncio.run(dialogue())
    assert action == "edit" and undone == "ok"
    assert "NewRevision" in kinds and kinds[-1] == "Done"


def test_a_connection_refused_before_sending_is_retried_and_then_reported() -> None:
    policy = RetryPolicy(attempts=2, backoff_s=0.01)
    with Client("http://127.0.0.1:9", retry=policy) as client, pytest.raises(Unreachable) as down:
        client.open(landscape(64, 48))
    assert down.value.sent is False and down.value.code == "unreachable"


@pytest.fixture
def app_service(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The service app as `serve` builds it, in a uvicorn thread, with the test's settings (indirect)."""
    require_serve_extra()
    from agent.service.app import create_app
    from agent.settings import Settings

    with uvicorn_thread(create_app(Settings(data_dir=tmp_path / "data", **request.param))) as url:
        yield url


@pytest.mark.parametrize("app_service", [{"rate_burst": 2, "rate_per_minute": 60}], indirect=True)
def test_rate_limited_requests_wait_for_retry_after(app_service: str) -> None:
    with Client(app_service, retry=NO_RETRY) as impatient:
        session = impatient.open(landscape(64, 48))
        session.send("make it brighter").result()
        with pytest.raises(RetryLater) as limited:
            session.undo()  # not keyed, but a refusal before any work is safe to repeat
        assert limited.value.code == "rate_limited" and limited.value.retry_after_s == 1
    with Client(app_service, retry=RetryPolicy(attempts=3)) as patient:
        reply = patient.resume(session.id).undo()
    assert reply.action == "undo"


@pytest.mark.parametrize("app_service", [{}], indirect=True)
def test_a_stream_cut_mid_turn_is_resumed_by_its_key_without_a_second_edit(app_service: str) -> None:
    port = int(app_service.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, marker=b"/messages")
    try:
        with Client(proxy.url, retry=RetryPolicy(attempts=4, backoff_s=0.3)) as client:
            session = client.open(landscape(64, 48))
            turn = session.send("make it brighter")
            events = list(turn)
            assert proxy.cuts == 1
            assert turn.result().action == "edit"
            assert len(session.revisions().revisions) == 2  # the upload and exactly one edit
            assert isinstance(events[0], Step) and isinstance(events[-1], Done)
        proxy.armed = True
        with Client(proxy.url, retry=NO_RETRY) as fragile, pytest.raises(Unreachable) as broke:
            fragile.resume(session.id).send("make it darker").result()
        assert broke.value.sent is True
    finally:
        proxy.close()


def test_retried_codes_are_codes_the_service_answers() -> None:
    require_serve_extra()
    from agent.service.errors import CODES

    assert set(CODES) >= SAFE_WHEN_IDEMPOTENT
