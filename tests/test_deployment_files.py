"""docker-compose.yml and deploy/ (docker is not run here): their structure, and that every setting they
pass is one dialogpaint knows, so a typo cannot ship silently."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from agent.integrations.ray_serve import deployment_options, load_config
from agent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PARTS = {"postgres", "minio", "minio-bucket", "vllm", "ray-head", "ray-gpu-worker", "service", "nginx"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_starts_every_part_with_replicas_and_gpus_where_they_belong():
    services = compose()["services"]
    assert set(services) == PARTS
    assert services["service"]["deploy"]["replicas"] >= 2
    assert services["ray-gpu-worker"]["deploy"]["replicas"] >= 1
    for gpu_part in ("vllm", "ray-gpu-worker"):
        devices = services[gpu_part]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]
    for part, spec in services.items():
        assert "image" in spec or "build" in spec, part
        for dependency in spec.get("depends_on", []):
            assert dependency in services, f"{part} depends on unknown {dependency}"
    for mount in services["ray-head"]["volumes"] + services["nginx"]["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).is_file(), source


def test_every_dialogpaint_setting_in_compose_is_a_real_one_with_a_valid_value():
    fields = set(Settings.model_fields)
    for part in ("service", "ray-head", "ray-gpu-worker"):
        env = compose()["services"][part]["environment"]
        ours = {k.removeprefix("DIALOGPAINT_").lower(): v for k, v in env.items() if k.startswith("DIALOGPAINT_")}
        assert set(ours) <= fields, f"{part}: unknown settings {set(ours) - fields}"
        ours.pop("api_keys", None)  # filled in from the host's environment by compose
        settings = Settings(**{k: json.loads(v) if k == "remote_tools" else v for k, v in ours.items()})
        assert settings.s3_bucket == "dialogpaint-images"


def test_the_ray_config_validates_and_asks_for_one_gpu_per_editor_replica():
    config = load_config(ROOT / "deploy" / "ray-tools.yaml")
    (pix2pix,) = config.tools
    options = deployment_options(pix2pix)
    assert options["ray_actor_options"]["num_gpus"] == 1 and options["autoscaling_config"]["max_replicas"] == 2
    served = json.loads(compose()["services"]["service"]["environment"]["DIALOGPAINT_REMOTE_TOOLS"])
    assert served == {"instruct_pix2pix": f"http://ray-head:{config.port}/instruct_pix2pix"}


def test_every_install_goes_through_the_lock():
    """README's two commands, .ci/run and the service image install what CI tested (constraints.txt)."""
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```bash\n")
    demo, tests = blocks[1].split("\n", 1)[0], blocks[2].split("\n", 1)[0]
    assert demo.endswith("dialogpaint demo") and tests.endswith(".venv/bin/pytest")
    for command in (demo, tests):
        installs = [part for part in command.split("&&") if " install " in part]
        assert installs and all(" -c constraints.txt " in part for part in installs), command
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()  # CI runs the README's test command verbatim
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG LOCK=constraints.txt" in dockerfile and '${LOCK:+-c "$LOCK"}' in dockerfile
    pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if not line.startswith("#")]
    assert all(line.count("==") == 1 for line in pins) and any(line.startswith("openai==") for line in pins)
