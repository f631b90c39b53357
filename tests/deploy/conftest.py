"""Fixtures for lecture 5's deployment tests: a TorchServe archive of the tiny model.

nginx, gunicorn and TorchServe themselves are started once per test module, in that module.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_archive(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model packed by the code behind `make mar`: a real `.mar` file."""
    from deploy.torchserve.archive import build_mar

    return build_mar(trained_model_dir, tmp_path_factory.mktemp("model-store"))
