"""`python -m movierec`, run as a student or a grader runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, free_port

COMMANDS = ["download", "train", "evaluate", "predict", "recommend"]


def movierec(*args, data_dir=None, check=True) -> subprocess.CompletedProcess:
    """Run the CLI offline, with its own data cache; fail with its output if `check` fails."""
    env = os.environ | {"MOVIEREC_MOVIELENS_URL": f"http://127.0.0.1:{free_port()}"}
    if data_dir is not None:
        env["MOVIEREC_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "movierec", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip
    if check and result.returncode != 0:
        pytest.fail(f"movierec {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture(scope="module")
def ratings_file(tmp_path_factory, synthetic_dataset):
    """The synthetic ratings written in ml-latest's ratings.csv format."""
    path = tmp_path_factory.mktemp("cli") / "ratings.csv"
    synthetic_dataset.ratings.rename(columns={"user_id": "userId", "item_id": "movieId"}).to_csv(
        path, index=False
    )
    return path


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory, ratings_file):
    out = tmp_path_factory.mktemp("cli-model") / "model"
    result = movierec("train", "--ratings", ratings_file, "--out", out, "--epochs", 4, "--quiet")
    assert "saved the model" in result.stdout and "rmse" in result.stdout
    return out


def test_help_lists_every_command_with_examples():
    text = movierec("--help").stdout
    for command in COMMANDS:
        assert command in text
    assert "examples:" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    assert "usage: python -m movierec " + command in movierec(command, "--help").stdout


def test_train_records_the_ratings_file_and_its_metrics(cli_model, ratings_file):
    info = json.loads((cli_model / "metadata.json").read_text())
    assert info["dataset"]["name"] == "ratings.csv"
    assert info["hyperparameters"]["epochs"] == 4
    assert 0.5 < info["metrics"]["rmse"] < 1.2


def test_evaluate_prints_every_metric_as_json(cli_model, ratings_file):
    result = movierec("evaluate", "--model", cli_model, "--ratings", ratings_file, "--json")
    metrics = json.loads(result.stdout)
    assert set(metrics) == {"rmse", "mae", "precision@10", "recall@10", "ndcg@10"}


def test_predict_writes_one_row_per_pair_in_order(cli_model, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("3\t10\t5\t0\n1\t2\t1\t0\n999999\t1\t3\t0\n")  # u.data style, ratings ignored
    out = tmp_path / "out.csv"
    movierec("predict", "--model", cli_model, "--pairs", pairs, "--out", out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["user_id", "item_id", "prediction"]
    assert frame[["user_id", "item_id"]].values.tolist() == [[3, 10], [1, 2], [999999, 1]]
    assert frame.prediction.between(1, 5).all()


def test_recommend_prints_movies_best_first(cli_model):
    rows = json.loads(movierec("recommend", "--model", cli_model, "--user", 1, "-k", 4,
                               "--json").stdout)  # fmt: skip
    assert len(rows) == 4
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    table = movierec("recommend", "--model", cli_model, "--user", 1, "-k", 4).stdout
    assert rows[0]["title"] in table


def test_train_and_evaluate_on_a_named_dataset(tmp_path):
    out = tmp_path / "model"
    movierec("train", "--dataset", "synthetic", "--out", out, "--epochs", 3, "--quiet")
    result = movierec("evaluate", "--model", out, "--dataset", "synthetic", "--json")
    saved = json.loads((out / "metadata.json").read_text())["metrics"]
    assert json.loads(result.stdout) == pytest.approx(saved)  # the same held-out ratings


def test_default_dataset_offline_falls_back_to_synthetic_and_says_so(tmp_path):
    result = movierec("train", "--out", tmp_path / "m", "--epochs", 1, "--quiet",
                      data_dir=tmp_path / "empty")  # fmt: skip
    assert "Using the synthetic dataset" in result.stderr
    assert "python -m movierec download" in result.stderr


def test_offline_download_is_one_clear_line(tmp_path):
    result = movierec("download", data_dir=tmp_path, check=False)
    assert_one_line_error(result, "could not download", "ml-100k.zip")


def test_a_missing_model_is_one_clear_line(tmp_path):
    result = movierec("recommend", "--model", tmp_path / "none", "--user", 1, check=False)
    assert_one_line_error(result, "no model at", "python -m movierec train")


def test_a_corrupt_model_is_one_clear_line(cli_model, tmp_path):
    broken = shutil.copytree(cli_model, tmp_path / "broken")
    (broken / "model.pt").write_bytes(b"not a torch file")
    result = movierec("recommend", "--model", broken, "--user", 1, check=False)
    assert_one_line_error(result, "corrupt", str(broken))


def test_an_unknown_user_is_one_clear_line(cli_model):
    result = movierec("recommend", "--model", cli_model, "--user", 424242, check=False)
    assert_one_line_error(result, "unknown user 424242")


def test_evaluate_needs_exactly_one_source_of_test_data(cli_model):
    result = movierec("evaluate", "--model", cli_model, check=False)
    assert result.returncode == 2 and "either --dataset" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--valid-fraction", "0"], "valid_fraction must be between 0 and 1"),
        (["train", "--epochs", "0"], "epochs must be at least 1"),
        (["recommend", "--user", "1", "-k", "0"], "must be at least 1"),
    ],
)
def test_impossible_settings_are_usage_errors(args, message):
    result = movierec(*args, check=False)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
