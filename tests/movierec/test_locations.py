"""Where things live, and the one environment variable that moves each."""

from __future__ import annotations

import re

from movierec import locations


def test_the_model_location_comes_from_movierec_model(monkeypatch):
    monkeypatch.delenv("MOVIEREC_MODEL", raising=False)
    assert locations.model_location() == str(locations.DEFAULT_MODEL_DIR)
    monkeypatch.setenv("MOVIEREC_MODEL", "models:/movie-recommender@champion")
    assert locations.model_location() == "models:/movie-recommender@champion"  # not a Path


def test_the_default_model_is_where_make_demo_saves_it():
    assert locations.DEFAULT_MODEL_DIR == locations.PROJECT_ROOT / "models" / "default"
    makefile = (locations.PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^MODEL\s*\?=\s*models/default$", makefile, flags=re.M)


def test_the_data_cache_comes_from_movierec_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path))
    assert locations.data_dir() == tmp_path
