"""Editing tools on Ray Serve, on a real local Ray instance (CPU): edits through the deployment with the
remote-tool client, two replicas sharing load, back-pressure as 503, a replica killed mid-request."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from PIL import ImageOps

from agent.integrations.ray_serve import deployment_options, load_config, tool_application
from tests.fakes import ai, call, gradient
from tests.live_servers import free_port
from tests.ray_tools_fixture import marked_app
from tools.errors import DialogPaintError, EditFailed, ToolUnavailable
from tools.remote import connect_remote_tool

ROOT = Path(__file__).resolve().parents[1]
DELAY_S = 1.0  # long enough that concurrent edits overlap


@pytest.fixture(scope="module")
def serve_url() -> Iterator[str]:
    """A local Ray with Serve's HTTP proxy on a free port; its base URL."""
    import ray  # the ray extra: in the test command, so this must run, not skip
    from ray import serve

    # Serve kills a proxy that is not ready within 5 s; on a loaded 2-core machine (CI runs other suites
    # beside this one) it can take longer to start, which failed the test with ActorDiedError.
    patient = {"RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60", "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S": "30"}
    os.environ.update(patient)  # the local cluster's processes start from the driver's environment
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), **patient}},
    )
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()
        for name in patient:
            os.environ.pop(name, None)


def marks_of(marks: Path, seed: int, kind: str) -> list[int]:
    """The pids of the replicas that started or finished the edit with ``seed``."""
    return [int(p.name.split(".")[1]) for p in marks.glob(f"{seed}.*.{kind}")]


def running_replicas() -> int:
    from ray import serve

    deployment = serve.status().applications["mirror"].deployments["mirror"]
    return int(deployment.replica_states.get("RUNNING", 0))


def test_a_tool_on_two_serve_replicas_shares_load_pushes_back_and_survives_a_killed_replica(
    serve_url, tmp_path, make_session
):
    from ray import serve

    marks = tmp_path / "marks"
    marks.mkdir()
    options = deployment_options(load_config_text(tmp_path, MIRROR_CONFIG).tools[0])
    assert options["num_replicas"] == 2 and options["ray_actor_options"] == {"num_gpus": 0, "num_cpus": 0.5}
    serve.run(
        tool_application(partial(marked_app, str(marks), DELAY_S), options), name="mirror", route_prefix="/mirror"
    )
    remote = connect_remote_tool("mirror", f"{serve_url}/mirror")

    # A session edits through the deployment like through any remote tool.
    session = make_session([ai(call("mirror", instruction="mirror it"))], tools={"mirror": remote})
    reply = session.send("mirror it")
    assert reply.action == "edit", reply.text
    assert session.image().tobytes() == ImageOps.mirror(gradient()).tobytes()

    # Six at once: two run (one per replica), two wait (max_queued_requests), the rest get 503.
    def edit(seed: int) -> object:
        try:
            return remote(gradient(), remote.Params(), seed=seed)
        except ToolUnavailable as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(edit, range(100, 106)))
    refused = [r for r in results if isinstance(r, ToolUnavailable)]
    assert refused and len(refused) <= 4 and len(results) - len(refused) >= 2, results
    served_by = {pid for seed in range(100, 106) for pid in marks_of(marks, seed, "done")}
    assert len(served_by) == 2  # both replicas took edits

    # Kill the replica running an edit: the edit fails cleanly, Serve replaces the replica, a retry
    # succeeds, and the edit was completed exactly once.
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(remote, gradient(), remote.Params(), seed=7)
        deadline = time.monotonic() + 60
        while not marks_of(marks, 7, "start"):
            assert time.monotonic() < deadline, "no replica started the edit"
            time.sleep(0.05)
        os.kill(marks_of(marks, 7, "start")[0], signal.SIGKILL)
        with pytest.raises(EditFailed):  # ToolUnavailable is an EditFailed too
            pending.result(timeout=60)
    assert marks_of(marks, 7, "done") == []
    retried = remote(gradient(), remote.Params(), seed=7)
    assert retried.tobytes() == ImageOps.mirror(gradient()).tobytes()
    assert len(marks_of(marks, 7, "done")) == 1
    deadline = time.monotonic() + 90
    while running_replicas() < 2:
        assert time.monotonic() < deadline, "the killed replica was not replaced"
        time.sleep(0.5)


MIRROR_CONFIG = """
tools:
  - name: mirror
    num_replicas: 2
    num_cpus: 0.5
    max_ongoing_requests: 1
    max_queued_requests: 2
"""


def load_config_text(tmp_path: Path, text: str):
    path = tmp_path / "ray.yaml"
    path.write_text(text)
    return load_config(path)


def test_a_bad_config_is_one_error_naming_the_field(tmp_path):
    with pytest.raises(DialogPaintError, match=r"tools\.0\.num_gpus: Input should be greater than or equal to 0"):
        load_config_text(tmp_path, "tools:\n  - name: instruct_pix2pix\n    num_gpus: -1\n")
    with pytest.raises(DialogPaintError, match="tools: Field required"):
        load_config_text(tmp_path, "port: 8000\n")
    with pytest.raises(DialogPaintError, match="cannot read the Ray config"):
        load_config(tmp_path / "absent.yaml")
    config = load_config_text(tmp_path, "tools:\n  - name: x\n    autoscaling: {max_replicas: 4}\n")
    assert deployment_options(config.tools[0])["autoscaling_config"]["max_replicas"] == 4


def test_serve_tools_refuses_a_bad_config_with_one_error_line(tmp_path):
    from typer.testing import CliRunner

    from agent.cli import app

    path = tmp_path / "ray.yaml"
    path.write_text("tools:\n  - name: instruct_pix2pix\n    max_ongoing_requests: 0\n")
    result = CliRunner().invoke(app, ["serve-tools", "--ray", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {path}: tools.0.max_ongoing_requests: Input should be greater than or equal to 1"
    ]
