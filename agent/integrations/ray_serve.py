"""Editing tools as Ray Serve deployments behind the remote-tool contract (tools.wire).

Each tool in the config becomes one Serve application at ``/<name>`` whose replicas each build the
ordinary ToolApp once (``build_tool_app``: the model is loaded in the replica's constructor, before it
takes traffic) and serve it as their ASGI ingress, so the wire handling is tools.serving's, not a
second copy. Ray Serve does the rest: placement by ``num_gpus``/``num_cpus``, replicas or autoscaling
on ongoing requests, ``max_ongoing_requests`` per replica, and back-pressure: a request beyond
``max_queued_requests`` is answered 503 by Serve's proxy, which RemoteTool reads as ToolUnavailable,
the contract's meaning of 503. ``check_health`` fails a replica whose tool reports itself unusable
(a sticky CUDA error) or whose CUDA context no longer synchronises; Serve then replaces it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.base import unavailable_reason
from tools.errors import DialogPaintError
from tools.serving import ToolApp


class Autoscaling(BaseModel):
    """Serve's autoscaling on ongoing requests per replica (queue length), bounded."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(1, ge=0, le=1000)
    max_replicas: int = Field(1, ge=1, le=1000)
    target_ongoing_requests: float = Field(1.0, gt=0, le=1000)


class ToolDeploymentSpec(BaseModel):
    """One editing tool's deployment: what each replica needs and how many there are."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="A registered tool (see `dialogpaint tools`).")
    num_replicas: int = Field(1, ge=1, le=1000, description="Fixed replica count, unless autoscaling is set.")
    autoscaling: Autoscaling | None = None
    num_gpus: float = Field(0, ge=0, le=8, description="GPUs per replica (1 for instruct_pix2pix).")
    num_cpus: float = Field(1, ge=0, le=64)
    max_ongoing_requests: int = Field(1, ge=1, le=1000, description="Edits one replica runs or holds at once.")
    max_queued_requests: int = Field(8, ge=-1, le=100_000, description="Waiting edits beyond that get 503; -1: no cap.")
    concurrency: int = Field(1, ge=1, le=64, description="Edits one replica runs at once (1 suits a GPU).")
    health_check_period_s: float = Field(10, gt=0, le=3600)
    health_check_timeout_s: float = Field(30, gt=0, le=3600)
    settings: dict[str, Any] = Field(default_factory=dict, description="dialogpaint settings for this tool.")


class RayToolsConfig(BaseModel):
    """``dialogpaint serve-tools --ray CONFIG``: where Ray is, where Serve listens, which tools it serves."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(None, description="Ray cluster address ('auto': the local cluster); None: start one.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    settings: dict[str, Any] = Field(default_factory=dict, description="dialogpaint settings for every tool.")
    tools: list[ToolDeploymentSpec] = Field(min_length=1)


def load_config(path: Path) -> RayToolsConfig:
    """The config in a YAML (or JSON) file; DialogPaintError naming the file and the problem."""
    import yaml
    from pydantic import ValidationError

    from tools.errors import brief_errors

    try:
        return RayToolsConfig.model_validate(yaml.safe_load(path.read_text()))
    except OSError as exc:
        raise DialogPaintError(f"cannot read the Ray config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DialogPaintError(f"{path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        raise DialogPaintError(f"{path}: {brief_errors(exc, whole='config')}") from None


def settings_app(name: str, settings: dict[str, Any], concurrency: int) -> ToolApp:
    """The ToolApp for a registered tool under the given settings (runs inside a replica)."""
    from agent.settings import Settings
    from agent.wiring import build_tool_app

    return build_tool_app(name, Settings(**settings), concurrency=concurrency)


def deployment_options(spec: ToolDeploymentSpec) -> dict[str, Any]:
    """Serve deployment options for a spec."""
    options: dict[str, Any] = {
        "name": spec.name,
        "ray_actor_options": {"num_gpus": spec.num_gpus, "num_cpus": spec.num_cpus},
        "max_ongoing_requests": spec.max_ongoing_requests,
        "max_queued_requests": spec.max_queued_requests,
        "health_check_period_s": spec.health_check_period_s,
        "health_check_timeout_s": spec.health_check_timeout_s,
    }
    if spec.autoscaling is not None:
        options["autoscaling_config"] = spec.autoscaling.model_dump()
    else:
        options["num_replicas"] = spec.num_replicas
    return options


def tool_application(build: Callable[[], ToolApp], options: dict[str, Any]) -> Any:
    """A Serve application whose replicas each serve ``build()``'s ToolApp (built once per replica)."""
    from ray import serve

    @serve.ingress()
    class EditToolDeployment:
        """One replica: one tool, its model loaded once, served through tools.serving."""

        def __init__(self, build: Callable[[], ToolApp]) -> None:
            self.tool_app = build()

        def __serve_build_asgi_app__(self) -> ToolApp:
            return self.tool_app

        def check_health(self) -> None:
            """Raise, so Serve replaces this replica, when the tool or its GPU context is broken."""
            problem = unavailable_reason(self.tool_app.tool) or cuda_problem()
            if problem:
                raise RuntimeError(problem)

    return serve.deployment(**options)(EditToolDeployment).bind(build)


def cuda_problem() -> str | None:
    """Why the CUDA context of this process is unusable, if torch has initialised one; else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return None
    try:
        torch.cuda.synchronize()
    except RuntimeError as exc:  # a sticky error (illegal address, ECC) poisons the context for good
        return f"the CUDA context is broken: {exc}"
    return None


def serve_tools(config: RayToolsConfig, base_settings: dict[str, Any]) -> list[str]:
    """Start (or join) Ray, start Serve's HTTP proxy and deploy every tool; the base URL of each."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        ray.init(address=config.address)
    serve.start(http_options={"host": config.host, "port": config.port})
    urls = []
    for spec in config.tools:
        settings = {**base_settings, **config.settings, **spec.settings}
        build = partial(settings_app, spec.name, settings, spec.concurrency)
        serve.run(tool_application(build, deployment_options(spec)), name=spec.name, route_prefix=f"/{spec.name}")
        urls.append(f"http://{config.host}:{config.port}/{spec.name}")
    return urls
