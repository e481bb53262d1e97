"""Pytest fixtures for the tests on tiny random-weight models, registered by tests/conftest.py.

None is autouse: a module on torch opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``,
so torch is imported where a test needs it and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a shared 2-core machine they lose ~30x."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny InstructPix2Pix pipeline folder, built once per test session."""
    from tests.tiny_pix2pix import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-pix2pix"))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny Stable Diffusion and CLIP folders of the training recipes (built once, then reused)."""
    from tests.tiny_training import tiny_training_models

    return tiny_training_models(tmp_path_factory.getbasetemp() / "tiny-training")


@pytest.fixture(scope="session")
def editor_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny Qwen-Image-Edit, FLUX.2 klein and LongCat-Image-Edit pipeline folders, built once per session."""
    import torch

    from tests.tiny_editors import BUILDERS

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: builder(tmp_path_factory.mktemp(name)) for name, builder in BUILDERS.items()}
    finally:
        torch.set_num_threads(threads)
