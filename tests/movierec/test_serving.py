"""load_for_serving: a native model directory or an MLflow URI, said in the metadata."""

from __future__ import annotations

import sys

import pytest

from movierec.errors import ModelLoadError
from movierec.serving import is_mlflow_uri, load_for_serving


def test_mlflow_uris_are_recognised():
    assert is_mlflow_uri("models:/movie-recommender@champion")
    assert is_mlflow_uri("runs:/abc/model")
    assert not is_mlflow_uri("models/default")


def test_a_native_directory_loads_without_importing_mlflow(trained_model_dir, monkeypatch):
    monkeypatch.delitem(sys.modules, "mlflow", raising=False)
    recommender = load_for_serving(trained_model_dir)
    assert recommender.metadata["source"] == "native"
    assert recommender.metadata["location"] == str(trained_model_dir)
    assert "mlflow" not in sys.modules


def test_a_missing_model_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no model at"):
        load_for_serving(tmp_path / "none")
