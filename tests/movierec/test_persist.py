"""Saving and loading a model directory: identical predictions, atomic saves, clear errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from movierec.persist import (
    METADATA_FILE,
    MODEL_FILE,
    MOVIES_FILE,
    ModelLoadError,
    load_model,
    save_model,
)


@pytest.fixture
def model_copy(trained_model_dir, tmp_path):
    """A private copy of the shared tiny model, safe to damage."""
    return shutil.copytree(trained_model_dir, tmp_path / "model")


def test_round_trip_gives_identical_predictions_and_recommendations(trained_model_dir, tmp_path):
    original = load_model(trained_model_dir)
    copy = load_model(save_model(original, tmp_path / "again", note="resaved"))
    users = np.repeat(original.users.raw_ids[:30], 3)
    items = np.resize(original.items.raw_ids, len(users))
    assert np.array_equal(original.predict(users, items), copy.predict(users, items))
    assert original.recommend(int(users[0]), 10) == copy.recommend(int(users[0]), 10)
    assert copy.metadata["note"] == "resaved"


def test_metadata_records_what_a_grader_needs(trained_model_dir):
    info = json.loads((trained_model_dir / METADATA_FILE).read_text())
    assert info["dataset"]["name"] == "synthetic" and len(info["dataset"]["checksum"]) == 64
    assert info["hyperparameters"]["n_factors"] == info["n_factors"] == 16
    assert {"rmse", "mae", "precision@10", "recall@10", "ndcg@10"} <= set(info["metrics"])
    assert info["versions"]["torch"].startswith("2.13")
    assert len(info["user_ids"]) == 300 and info["created_at"]


def test_the_state_dict_is_plain_tensors(trained_model_dir):
    state = torch.load(trained_model_dir / MODEL_FILE, weights_only=True)
    assert set(state) == {
        "user_factors.weight", "item_factors.weight", "user_bias.weight", "item_bias.weight",
        "global_bias",
    }  # fmt: skip


def test_a_failed_save_leaves_the_previous_model_untouched(model_copy):
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    recommender = load_model(model_copy)
    with pytest.raises(TypeError, match="cannot be saved as JSON"):
        save_model(recommender, model_copy, bad=object())  # fails after the weights are written
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]  # no leftovers


def test_saving_over_a_model_replaces_it_whole(model_copy, tmp_path):
    (model_copy / "stale.txt").write_text("from an older model")
    save_model(load_model(model_copy), model_copy)
    assert not (model_copy / "stale.txt").exists()
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]


def test_missing_model_directory_names_the_command_that_makes_one(tmp_path):
    with pytest.raises(ModelLoadError, match="no model at .*python -m movierec train"):
        load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("name", [MODEL_FILE, MOVIES_FILE, "rated.npz"])
def test_a_missing_file_is_named(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(ModelLoadError, match=f"incomplete: .*{name} is missing"):
        load_model(model_copy)


@pytest.mark.parametrize("name", [MODEL_FILE, METADATA_FILE, "rated.npz"])
def test_a_truncated_file_is_reported_as_corrupt(model_copy, name):
    path = model_copy / name
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(model_copy)


class Exploit:
    """A pickle payload: unpickling it would run `touch` — weights_only must refuse it."""

    marker = None

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_loading_never_runs_code_hidden_in_a_pickle(model_copy, tmp_path):
    Exploit.marker = tmp_path / "pwned"
    state = torch.load(model_copy / MODEL_FILE, weights_only=True)
    torch.save({**state, "surprise": Exploit()}, model_copy / MODEL_FILE)
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(model_copy)
    assert not Exploit.marker.exists()
