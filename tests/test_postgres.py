"""The Postgres checkpointer against a real server (scripts/ci-postgres.sh starts one for CI)."""

from __future__ import annotations

import importlib.util
import os

import pytest

from agent.settings import Settings
from tests.conftest import require_system
from tests.service_helpers import KEY_A, auth, require_serve_extra, send, upload
from tools.errors import StateStoreUnavailable

URL = os.environ.get("DIALOGPAINT_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url() -> str:
    require_system("PostgreSQL", URL is not None, "set DIALOGPAINT_TEST_POSTGRES_URL (scripts/ci-postgres.sh start)")
    missing = [m for m in ("psycopg", "psycopg_pool", "langgraph.checkpoint.postgres") if not _importable(m)]
    require_system("the postgres extra", not missing, f"missing {', '.join(missing)}: pip install -e '.[postgres]'")
    assert URL is not None
    return URL


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_service_sessions_live_in_postgres_and_survive_a_restart(postgres_url, tmp_path):
    require_serve_extra()
    import psycopg
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="never", checkpoint_url=postgres_url)
    with TestClient(create_app(settings)) as client:
        sid = upload(client, KEY_A).json()["id"]
        edited = send(client, KEY_A, sid, "make it brighter")[-1]["data"]
        assert edited["action"] == "edit", edited
    assert not (tmp_path / "data" / "sessions.sqlite").exists()
    with psycopg.connect(postgres_url) as conn:
        count = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (sid,)).fetchone()
    assert count is not None and count[0] > 0
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["head"] == edited["head"]
        assert send(client, KEY_A, sid, "undo")[-1]["data"]["action"] == "undo"
        assert client.delete(f"/v1/sessions/{sid}", headers=auth(KEY_A)).status_code == 204
    with psycopg.connect(postgres_url) as conn:
        left = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (sid,)).fetchone()
    assert left == (0,)


def test_an_unreachable_server_is_one_clear_error_without_the_password(tmp_path):
    required = ("psycopg", "psycopg_pool")
    require_system("the postgres extra", all(_importable(m) for m in required), "pip install -e '.[postgres]'")
    from graphs.storage.checkpoint import postgres_checkpointer

    with pytest.raises(StateStoreUnavailable, match="cannot use the Postgres checkpointer") as caught:
        postgres_checkpointer("postgresql://me:hunter2@127.0.0.1:1/none", timeout_s=1)
    assert "hunter2" not in str(caught.value) and "postgresql://***@127.0.0.1:1/none" in str(caught.value)
    assert "Connection refused" in str(caught.value)  # the reason, not only the pool's timeout
    with pytest.raises(StateStoreUnavailable) as caught:
        postgres_checkpointer("postgresql://me@127.0.0.1:1/none?sslmode=disable&password=hunter2", timeout_s=1)
    assert "hunter2" not in str(caught.value) and "sslmode=disable&password=***" in str(caught.value)
    with pytest.raises(StateStoreUnavailable, match='invalid integer value "x" for connection option "port"'):
        postgres_checkpointer("postgresql://me@127.0.0.1:x/none", timeout_s=1)


def test_a_missing_database_is_named_in_the_error(postgres_url):
    from graphs.storage.checkpoint import postgres_checkpointer

    with pytest.raises(StateStoreUnavailable, match='database "no_such_database" does not exist'):
        postgres_checkpointer(postgres_url.rsplit("/", 1)[0] + "/no_such_database", timeout_s=2)


def test_on_postgres_the_state_keeps_a_window_and_the_transcript_table_the_rest(postgres_url, tmp_path):
    import psycopg

    from agent.wiring import create_engine
    from tests.fakes import gradient
    from tests.test_transcript import MOST, WINDOW, humans, talk, wire

    settings = Settings(data_dir=tmp_path / "data", confirm="never", window_turns=WINDOW, checkpoint_url=postgres_url)
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        talk(session, 16)
        state, before, history = session.state(), wire(session), session.history()
        assert humans(state) <= MOST and state["archived"] > 0
    with create_engine(settings) as engine:  # a restart
        again = engine.resume(session.id)
        assert wire(again) == before and again.history() == history
        again.send("make it brighter", request_key="turn-0")  # a key whose turn is in the transcript: nothing runs
        assert wire(again) == before
        engine.delete(session.id)
    with psycopg.connect(postgres_url) as conn:
        left = conn.execute("SELECT count(*) FROM transcript WHERE thread_id = %s", (session.id,)).fetchone()
    assert left == (0,)
