"""Saving and loading a model directory: nothing lost, one atomic swap, clear errors, and never a
file destroyed that the save did not make."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from movierec.errors import ModelLoadError, ModelSaveError
from movierec.persist import (
    KEEP_VERSIONS,
    METADATA_FILE,
    MODEL_FILE,
    MODEL_FILES,
    MOVIES_FILE,
    load_model,
    read_metadata,
    save_model,
    versions_dir,
)


@pytest.fixture
def model_copy(trained_model_dir, tmp_path) -> Path:
    """A private copy of the shared tiny model, as a plain folder (as movierec 0.1 saved it)."""
    return Path(shutil.copytree(trained_model_dir, tmp_path / "model"))


@pytest.fixture(scope="module")
def recommender(trained_model_dir):
    return load_model(trained_model_dir)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links not followed) with its bytes: to prove nothing changed."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


# --- what is saved ------------------------------------------------------------------------------


def test_round_trip_gives_identical_predictions_and_recommendations(recommender, tmp_path):
    copy = load_model(save_model(recommender, tmp_path / "again"))
    users = np.repeat(recommender.users.raw_ids[:30], 3)
    items = np.resize(recommender.items.raw_ids, len(users))
    assert np.array_equal(recommender.predict(users, items), copy.predict(users, items))
    assert recommender.recommend(int(users[0]), 10) == copy.recommend(int(users[0]), 10)


def test_the_strongest_model_round_trips_through_weights_only_loading(blend_model_dir, tmp_path):
    """A blend and its AutoRec members load with `weights_only=True` and the package's classes,
    and answer exactly as before a re-save."""
    blend = load_model(blend_model_dir)
    assert type(blend.model).__name__ == "Blend" and blend.metadata["model"]["name"] == "blend"
    state = torch.load(blend_model_dir / MODEL_FILE, weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in state.values())
    copy = load_model(save_model(blend, tmp_path / "again"))
    users = np.repeat(blend.users.raw_ids[:30], 3)
    items = np.resize(blend.items.raw_ids, len(users))
    assert np.array_equal(blend.predict(users, items), copy.predict(users, items))
    assert copy.version == blend.version


def test_load_then_save_loses_no_metadata(trained_model_dir, recommender, tmp_path):
    """The metadata travels with the Recommender: a re-save keeps the dataset, the metrics, the
    hyperparameters, the training facts, the version and the training date."""
    before = read_metadata(trained_model_dir)
    after = read_metadata(save_model(recommender, tmp_path / "again"))
    kept = ["dataset", "holdout", "refit", "metrics", "hyperparameters", "training", "model"]
    kept += ["version", "created_at", "rating_range", "user_ids", "item_ids"]
    for key in kept:
        assert after[key] == before[key], key


def test_metadata_records_what_a_grader_needs(trained_model_dir):
    info = json.loads((trained_model_dir / METADATA_FILE).read_text())
    assert info["dataset"]["name"] == "synthetic" and len(info["dataset"]["checksum"]) == 64
    assert info["holdout"] == {"test_fraction": 0.2, "seed": 42} and info["refit"] is False
    assert info["model"]["init_args"]["n_factors"] == info["hyperparameters"]["n_factors"] == 16
    assert {"rmse", "mae", "precision@10", "recall@10", "ndcg@10"} <= set(info["metrics"])
    assert info["versions"]["torch"].startswith("2.13")
    assert len(info["user_ids"]) == 300 and info["created_at"] and info["format_version"] == 2


def test_the_state_dict_is_plain_tensors(trained_model_dir):
    state = torch.load(trained_model_dir / MODEL_FILE, weights_only=True)
    assert set(state) == {
        "user_factors.weight", "item_factors.weight", "user_bias.weight", "item_bias.weight",
        "global_bias",
    }  # fmt: skip


# --- one atomic swap ----------------------------------------------------------------------------


def test_the_path_is_a_relative_link_to_a_version_folder(trained_model_dir):
    assert trained_model_dir.is_symlink()
    target = Path(os.readlink(trained_model_dir))
    assert not target.is_absolute() and target.parent.name == "tiny.versions"
    assert {p.name for p in trained_model_dir.resolve().iterdir()} == MODEL_FILES


def test_a_version_folder_is_readable_by_a_server_of_another_user(recommender, tmp_path):
    """A container or a systemd unit may serve the model as another, unprivileged user."""
    version = save_model(recommender, tmp_path / "model").resolve()
    assert version.stat().st_mode & 0o005 == 0o005  # others may list and enter it
    assert all(file.stat().st_mode & 0o004 for file in version.iterdir())


def test_saving_again_swaps_the_link_and_keeps_the_previous_version(recommender, tmp_path):
    path = save_model(recommender, tmp_path / "model")
    first = path.resolve()
    reader = load_model(first)  # a server that resolved the link before the swap...
    save_model(recommender, path)
    assert path.resolve() != first and first.is_dir()  # ...still finds all of its files
    assert reader.recommend(1, 3) == load_model(path).recommend(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.versions"]


def test_only_a_bounded_number_of_versions_is_kept(recommender, tmp_path):
    path = tmp_path / "model"
    for _ in range(KEEP_VERSIONS + 2):
        save_model(recommender, path)
    kept = [p for p in versions_dir(path).iterdir() if not p.name.startswith(".")]
    assert len(kept) == KEEP_VERSIONS and path.resolve() in kept


def test_an_old_version_with_files_of_the_user_is_never_pruned(recommender, tmp_path):
    path = save_model(recommender, tmp_path / "model")
    notes = path.resolve() / "notes.txt"
    notes.write_text("what I tried")
    for _ in range(KEEP_VERSIONS + 1):
        save_model(recommender, path)
    assert notes.read_text() == "what I tried"


def test_a_failed_save_leaves_the_previous_model_untouched(recommender, tmp_path, monkeypatch):
    path = save_model(recommender, tmp_path / "model")
    before = snapshot(tmp_path)
    target = path.resolve()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)  # fails after the weights are written
    with pytest.raises(OSError, match="No space left"):
        save_model(recommender, path)
    assert path.resolve() == target and snapshot(tmp_path) == before  # no leftovers either


def test_a_model_saved_as_a_plain_folder_becomes_a_version(model_copy, recommender):
    """movierec 0.1 saved plain folders: saving over one keeps it, as an older version."""
    before = snapshot(model_copy)
    save_model(recommender, model_copy)
    assert model_copy.is_symlink()
    kept = [p for p in versions_dir(model_copy).iterdir() if p != model_copy.resolve()]
    assert len(kept) == 1 and snapshot(kept[0]) == before


# --- never destroy what is not a model ----------------------------------------------------------


def test_a_folder_of_the_users_files_is_refused_and_left_intact(recommender, tmp_path):
    folder = tmp_path / "thesis"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("three years of work")
    (folder / "sub" / "data.csv").write_text("1,2,3\n")
    before = snapshot(tmp_path)
    with pytest.raises(ModelSaveError, match=f"{folder} exists and is not a model"):
        save_model(recommender, folder)
    assert snapshot(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["thesis"]


def test_a_parent_of_other_models_is_refused(recommender, tmp_path):
    models = tmp_path / "models"
    save_model(recommender, models / "a")
    save_model(recommender, models / "b")
    before = snapshot(tmp_path)
    with pytest.raises(ModelSaveError, match="is not a model"):
        save_model(recommender, models)
    assert snapshot(tmp_path) == before


def test_an_existing_file_is_refused_and_left_intact(recommender, tmp_path):
    file = tmp_path / "model.pt"
    file.write_bytes(b"my own weights")
    with pytest.raises(ModelSaveError, match="model.pt is a file, not a model directory"):
        save_model(recommender, file)
    assert file.read_bytes() == b"my own weights" and os.listdir(tmp_path) == ["model.pt"]


def test_the_current_folder_is_refused(recommender, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ModelSaveError, match="not a model"):
        save_model(recommender, ".")
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_an_empty_folder_may_be_used(recommender, tmp_path):
    (tmp_path / "empty").mkdir()
    assert load_model(save_model(recommender, tmp_path / "empty")).version == recommender.version


# --- loading ------------------------------------------------------------------------------------


def test_a_model_in_the_first_format_still_loads(model_copy, recommender):
    """Models saved by movierec 0.1 (format 1, in MLflow registries too) load unchanged."""
    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    for key in ("model", "version"):
        del metadata[key]
    metadata |= {"format_version": 1, "n_factors": 16}
    (model_copy / METADATA_FILE).write_text(json.dumps(metadata))
    old = load_model(model_copy)
    assert old.recommend(1, 5) == recommender.recommend(1, 5)
    assert old.version == recommender.version  # the version is computed from the weights


@pytest.mark.parametrize("format_version", [3, None, "2"])
def test_an_unknown_format_is_a_clear_error(model_copy, format_version):
    metadata = json.loads((model_copy / METADATA_FILE).read_text())
    (model_copy / METADATA_FILE).write_text(
        json.dumps({**metadata, "format_version": format_version})
    )
    with pytest.raises(ModelLoadError, match="reads versions 1 to 2: update movierec"):
        load_model(model_copy)


def test_missing_model_directory_names_the_command_that_makes_one(tmp_path):
    with pytest.raises(ModelLoadError, match="no model at .*python -m movierec train"):
        load_model(tmp_path / "nowhere")


def test_a_file_of_a_model_given_as_the_model_points_at_its_folder(trained_model_dir):
    file = trained_model_dir / MODEL_FILE
    with pytest.raises(ModelLoadError, match="is a file: give the model's directory instead"):
        load_model(file)


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
        return (os.system, (f"touch {self.marker}",))


def test_loading_never_runs_code_hidden_in_a_pickle(model_copy, tmp_path):
    Exploit.marker = tmp_path / "pwned"
    state = torch.load(model_copy / MODEL_FILE, weights_only=True)
    torch.save({**state, "surprise": Exploit()}, model_copy / MODEL_FILE)
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(model_copy)
    assert not Exploit.marker.exists()
