"""The HTTP service's hardening: security headers, closed API docs, slow bodies, per-key work, storage faults."""

from __future__ import annotations

from tests.service_helpers import KEY_A, auth, send, upload
from tests.test_service import mirror_call, service  # noqa: F401 (the fixture)


def test_every_response_carries_the_security_headers(service):  # noqa: F811
    from agent.service.deps import owned_session

    client = service([mirror_call()])
    sid = upload(client, KEY_A).json()["id"]
    revision = send(client, KEY_A, sid, "mirror it")[-3]["data"]
    image = client.get(revision["image_url"], headers=auth(KEY_A))
    page, session = client.get("/"), client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    missing = client.get("/v1/sessions/nope", headers=auth(KEY_A))
    too_big = client.post(f"/v1/sessions/{sid}/messages", content=b"x" * 1_000_000, headers=auth(KEY_A))
    client.app.dependency_overrides[owned_session] = lambda: 1 / 0
    crashed = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A))
    assert (image.status_code, missing.status_code, too_big.status_code, crashed.status_code) == (200, 404, 413, 500)
    for response in (image, page, session, missing, too_big, crashed, client.get("/static/app.js")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert set(policy["img-src"].split()) >= {"'self'", "blob:"} and policy["connect-src"] == "'self'"
    assert image.headers["content-security-policy"].startswith("default-src 'none'")
    for response in (session, missing, crashed):
        assert response.headers["cache-control"] == "no-store"
    assert "immutable" in image.headers["cache-control"]  # an image is its content hash: it may be cached


def test_api_docs_are_closed_by_default_when_keys_are_set(service, tmp_path):  # noqa: F811
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from agent.settings import Settings

    closed = service()
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert closed.get(path).status_code == 404, path
        assert closed.get(path, headers=auth(KEY_A)).status_code == 404, path
    opened = service(api_docs=True)
    assert opened.get("/openapi.json").json()["info"]["title"] == "dialogpaint"
    docs = opened.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    with TestClient(create_app(Settings(data_dir=tmp_path / "dev", api_keys=""))) as dev:
        assert dev.get("/openapi.json").status_code == 200  # loopback dev mode keeps them open
