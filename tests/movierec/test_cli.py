"""`python -m movierec`, run as a student or a grader runs it: in a subprocess, and through `main`
for the property-based tests. Every failure is one `error:` line, never a traceback, and no
command destroys a file it did not make."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movierec.cli import main
from movierec.processes import free_port
from tests.conftest import REPO_ROOT

COMMANDS = ["download", "train", "evaluate", "predict", "recommend", "info", "batch", "spark-als"]
QUICK = ["--epochs", "2", "--n-factors", "4", "--quiet"]


def movierec(*args, data_dir=None, check=True, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    """Run the CLI offline, with its own data cache; fail with its output if `check` fails."""
    env = os.environ | {"MOVIEREC_MOVIELENS_URL": f"http://127.0.0.1:{free_port()}"}
    if data_dir is not None:
        env["MOVIEREC_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "movierec", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip
    if check and result.returncode != 0:
        pytest.fail(f"movierec {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def assert_one_line_error(stderr: str, code: int, *needles: str, expected_code: int = 1) -> None:
    """The failure contract: a documented exit code, no traceback, the last line `error: ...`
    (progress lines may come before it), and only one such line."""
    assert code == expected_code, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), stderr
    assert sum(line.startswith("error:") for line in lines) == 1, stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


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


# --- help -------------------------------------------------------------------------------------


def test_help_lists_every_command_with_examples_and_exit_codes():
    text = movierec("--help").stdout
    for command in COMMANDS:
        assert command in text
    assert "examples:" in text and "exit codes:" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    assert "usage: python -m movierec " + command in movierec(command, "--help").stdout


def test_help_and_version_answer_fast_without_importing_torch():
    started = time.perf_counter()
    assert movierec("--version").stdout.startswith("movierec ")
    assert time.perf_counter() - started < 5  # well under a second on an idle machine
    code = "import sys, movierec.cli as c; c.build_parser(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_evaluates_help_shows_no_default_dataset():
    text = movierec("evaluate", "--help").stdout
    assert "required unless --ratings" in " ".join(text.split())


# --- train ------------------------------------------------------------------------------------


def test_train_says_what_the_saved_model_was_trained_on(cli_model, ratings_file):
    info = json.loads((cli_model / "metadata.json").read_text())
    assert info["dataset"]["name"] == "ratings.csv"
    assert info["hyperparameters"]["epochs"] == 4
    assert info["refit"] is True and info["holdout"] == {"test_fraction": 0.2, "seed": 42}
    assert info["training"]["n_ratings"] == info["dataset"]["n_ratings"]  # all of them
    assert 0.5 < info["metrics"]["rmse"] < 1.2


def test_train_prints_what_it_measured_and_what_it_saved(tmp_path):
    result = movierec("train", "--dataset", "synthetic", "--out", tmp_path / "m", *QUICK)
    assert "measuring on 20% of each user's ratings held out" in result.stderr
    assert "trained on all 18,431 ratings of synthetic (after measuring)" in result.stdout
    assert "metrics on the held-out ratings" in result.stdout


def test_a_model_kept_as_measured_is_evaluated_on_its_own_hold_out(tmp_path):
    out = tmp_path / "model"
    movierec("train", "--dataset", "synthetic", "--out", out, "--no-refit", *QUICK)
    result = movierec("evaluate", "--model", out, "--dataset", "synthetic", "--json")
    saved = json.loads((out / "metadata.json").read_text())["metrics"]
    assert json.loads(result.stdout) == pytest.approx(saved)  # the same held-out ratings


def test_evaluate_refuses_ratings_the_model_learned_from(tmp_path, ratings_file):
    """A refitted model has seen its hold-out; a file of training ratings is no test either."""
    out = tmp_path / "model"
    movierec("train", "--dataset", "synthetic", "--out", out, *QUICK)
    result = movierec("evaluate", "--model", out, "--dataset", "synthetic", check=False)
    assert_one_line_error(
        result.stderr, result.returncode, "were in the training data", "--no-refit"
    )
    result = movierec("evaluate", "--model", out, "--ratings", ratings_file, check=False)
    assert_one_line_error(result.stderr, result.returncode, "18,431 of the 18,431 test ratings")


def test_default_dataset_offline_falls_back_to_synthetic_and_says_so(tmp_path):
    result = movierec("train", "--out", tmp_path / "m", "--epochs", "1", "--quiet",
                      data_dir=tmp_path / "empty")  # fmt: skip
    assert "Using the synthetic dataset" in result.stderr
    assert "python -m movierec download" in result.stderr


# --- nothing lost: --out replaces only an earlier model ----------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("target", ["folder", "parent", "file", "dot"])
def test_train_never_overwrites_what_is_not_a_model(tmp_path, cli_model, target):
    work = tmp_path / "work"
    (work / "thesis" / "sub").mkdir(parents=True)
    (work / "thesis" / "thesis.txt").write_text("three years")
    (work / "thesis" / "sub" / "notes.md").write_text("notes")
    (work / "model.pt").write_bytes(b"my weights")
    shutil.copytree(cli_model, work / "models" / "mine")
    out = {"folder": "thesis", "parent": "models", "file": "model.pt", "dot": "."}[target]
    before = snapshot(work)
    result = movierec("train", "--dataset", "synthetic", "--out", out, *QUICK, cwd=work,
                      check=False)  # fmt: skip
    assert_one_line_error(result.stderr, result.returncode, out)
    assert snapshot(work) == before


def test_train_model_best_saves_the_strongest_model_which_every_command_uses(tmp_path):
    """`--model best` trains the blend; the other commands use it as they use the taught one."""
    out = tmp_path / "best"
    result = movierec("train", "--dataset", "synthetic", "--model", "best", "--epochs", "3",
                      "--test-fraction", "0", "--out", out, "--quiet")  # fmt: skip
    assert "blend of mf (" in result.stdout and "autorec (" in result.stdout
    info = json.loads(movierec("info", "--model", out, "--json").stdout)
    assert info["model"]["name"] == "blend" and info["model"]["class"] == "Blend"
    assert info["hyperparameters"] == {"epochs": 3, "valid_fraction": 0.05, "seed": 42}
    assert [m["model"] for m in info["training"]["members"]] == ["mf", "autorec", "user-autorec"]
    shown = movierec("recommend", "--model", out, "--user", 1, "-k", 3, "--json").stdout
    assert len(json.loads(shown)) == 3


def test_train_help_lists_every_models_settings_from_their_classes():
    text = movierec("train", "--help").stdout
    assert "--model {mf,autorec,user-autorec,blend,best}" in text
    for option in ("--n-factors", "--movie-l2", "--hidden", "--input-dropout", "--decay-patience"):
        assert option in text


def test_train_replaces_an_earlier_model(tmp_path, cli_model):
    out = tmp_path / "model"
    movierec("train", "--dataset", "synthetic", "--out", out, *QUICK)
    first = out.resolve()
    movierec("train", "--dataset", "synthetic", "--out", out, *QUICK, "--seed", "5")
    assert out.resolve() != first and first.exists()


# --- predict, recommend, info ---------------------------------------------------------------------


def test_predict_writes_one_row_per_pair_in_order(cli_model, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("3\t10\t5\t0\n1\t2\t1\t0\n")  # u.data style, ratings ignored
    out = tmp_path / "out.csv"
    movierec("predict", "--model", cli_model, "--pairs", pairs, "--out", out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["user_id", "item_id", "prediction"]
    assert frame[["user_id", "item_id"]].values.tolist() == [[3, 10], [1, 2]]
    assert frame.prediction.between(1, 5).all()
    again = tmp_path / "again.csv"  # its own output is a valid --pairs file
    movierec("predict", "--model", cli_model, "--pairs", out, "--out", again)
    assert pd.read_csv(again).equals(frame)


def test_predict_refuses_unknown_ids_as_the_api_does_unless_asked(cli_model, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("userId,movieId\n1,2\n999999,1\n")
    out = tmp_path / "out.csv"
    result = movierec("predict", "--model", cli_model, "--pairs", pairs, "--out", out, check=False)
    assert_one_line_error(result.stderr, result.returncode, "1 of 2 pairs", "user 999999")
    assert not out.exists()
    movierec("predict", "--model", cli_model, "--pairs", pairs, "--out", out, "--unknown",
             "fallback")  # fmt: skip
    frame = pd.read_csv(out, keep_default_na=False)
    assert frame.unknown.tolist() == ["", "user"]


def test_predict_never_overwrites_a_file_it_did_not_write(cli_model, ratings_file, tmp_path):
    precious = tmp_path / "ratings.csv"
    shutil.copy(ratings_file, precious)
    before = precious.read_bytes()
    result = movierec("predict", "--model", cli_model, "--pairs", ratings_file, "--out",
                      precious, check=False)  # fmt: skip
    assert_one_line_error(result.stderr, result.returncode, "was not written by `predict`")
    assert precious.read_bytes() == before


def test_recommend_prints_movies_best_first(cli_model):
    rows = json.loads(movierec("recommend", "--model", cli_model, "--user", 1, "-k", 4,
                               "--json").stdout)  # fmt: skip
    assert len(rows) == 4
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    table = movierec("recommend", "--model", cli_model, "--user", 1, "-k", 4).stdout
    assert rows[0]["title"] in table


def test_info_says_what_a_model_is(cli_model):
    text = movierec("info", "--model", cli_model).stdout
    assert "MatrixFactorization, version" in text and "ratings.csv" in text and "rmse" in text
    assert "--model mf: n_factors 32, epochs 4," in text
    assert json.loads(movierec("info", "--model", cli_model, "--json").stdout)["refit"] is True


# --- batch (lecture 7) ---------------------------------------------------------------------------


def test_batch_stores_every_users_list_and_says_how_to_serve_it(cli_model, tmp_path):
    from movierec.store import RecommendationStore

    out = tmp_path / "stores" / "mine.sqlite"
    text = movierec("batch", "--model", cli_model, "--out", out, "-k", 5).stdout
    assert f"MOVIEREC_STORE={out}" in text and "top 5 of each of" in text
    file = RecommendationStore(out).current()
    assert file.k == 5 and len(file.recommendations(1, 5)) == 5
    again = movierec("batch", "--model", cli_model, "--out", out, "-k", 3).stdout  # replaces it
    assert "top 3" in again and RecommendationStore(out).current().k == 3


def test_batch_never_overwrites_what_is_not_a_store(cli_model, tmp_path):
    precious = tmp_path / "thesis.sqlite"
    precious.write_text("three years")
    result = movierec("batch", "--model", cli_model, "--out", precious, check=False)
    assert_one_line_error(result.stderr, result.returncode, "is not a store written by movierec")
    assert precious.read_text() == "three years"


# --- one clear line for every failure ----------------------------------------------------------


def test_offline_download_is_one_clear_line(tmp_path):
    result = movierec("download", data_dir=tmp_path, check=False)
    assert_one_line_error(result.stderr, result.returncode, "could not download", "ml-100k.zip")


def test_a_missing_model_is_one_clear_line(tmp_path):
    result = movierec("recommend", "--model", tmp_path / "none", "--user", 1, check=False)
    assert_one_line_error(
        result.stderr, result.returncode, "no model at", "python -m movierec train"
    )


def test_a_model_file_given_as_the_model_points_at_the_folder(cli_model):
    result = movierec("recommend", "--model", cli_model / "model.pt", "--user", 1, check=False)
    assert_one_line_error(result.stderr, result.returncode, "is a file: give the model's directory")
    assert "train --out" not in result.stderr  # no advice to save a model *into* model.pt


def test_a_corrupt_model_is_one_clear_line(cli_model, tmp_path):
    broken = shutil.copytree(cli_model, tmp_path / "broken")
    (broken / "model.pt").write_bytes(b"not a torch file")
    result = movierec("recommend", "--model", broken, "--user", 1, check=False)
    assert_one_line_error(result.stderr, result.returncode, "corrupt", str(broken))


def test_an_unknown_user_is_one_clear_line(cli_model):
    result = movierec("recommend", "--model", cli_model, "--user", 424242, check=False)
    assert_one_line_error(result.stderr, result.returncode, "unknown user 424242")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--valid-fraction", "0"], "valid_fraction must be between 0 and 1"),
        (["train", "--epochs", "0"], "epochs must be at least 1"),
        (["train", "--hidden", "300"], "--hidden is not a setting of model mf"),
        (["train", "--model", "blend", "--l2", "1"], "--l2 is not a setting of model blend"),
        (["train", "--model", "autorec", "--input-dropout", "1"], "input_dropout must be below 1"),
        (["train", "--model", "gpt"], "invalid choice: 'gpt'"),
        (["train", "--test-fraction", "1.0"], "must be at least 0 and below 1"),
        (["train", "--test-fraction", "1.5"], "must be at least 0 and below 1"),
        (["train", "--movies", "u.item"], "--movies gives titles for --ratings"),
        (["recommend", "--user", "1", "-k", "0"], "must be at least 1"),
        (["batch", "-k", "101"], "-k must be at most 100"),
        (["spark-als", "--rank", "0"], "rank must be at least 1"),
        (["evaluate"], "either --dataset"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_wrong_usage_is_one_line_with_exit_code_2(args, message):
    result = movierec(*args, check=False)
    assert_one_line_error(result.stderr, result.returncode, message, expected_code=2)
    assert "usage:" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"userId,movieId,rating\n", "has a header but no ratings"),
        (b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1\n", "columns"),
        (b"\x00\xff\xfe", "is not a ratings file"),
    ],
    ids=["empty", "header-only", "u.item", "binary"],
)
def test_bad_ratings_files_are_one_clear_line(tmp_path, content, message):
    path = tmp_path / "ratings.csv"
    path.write_bytes(content)
    result = movierec("train", "--ratings", path, "--out", tmp_path / "m", *QUICK, check=False)
    assert_one_line_error(result.stderr, result.returncode, "ratings.csv", message)
    assert not (tmp_path / "m").exists()


# --- property-based: generated bad inputs ------------------------------------------------------

# Bytes a student might feed the CLI by mistake: text, numbers, separators, binary, nothing.
FILE_CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.lists(
        st.lists(
            st.one_of(st.integers(-5, 10**12), st.floats(allow_nan=True), st.text(max_size=5)),
            min_size=1,
            max_size=6,
        ),  # fmt: skip
        max_size=8,
    ).map(lambda rows: "\n".join("\t,|"[len(r) % 3].join(map(str, r)) for r in rows).encode()),
)
ARGUMENT = st.one_of(
    st.text(max_size=8),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["--k", "-k", "--user", "--out", "--dataset", ".", "--json", "--epochs"]),
)


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    """`main(argv)` in this process: (exit code, stderr), argparse's SystemExit included."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    return code, capsys.readouterr().err


def check_contract(code: int, stderr: str, work: Path, before: dict[str, bytes]) -> None:
    """Success, or one `error:` line with exit 1 (failed) or 2 (wrong usage); files untouched."""
    if code != 0:
        assert_one_line_error(stderr, code, expected_code=code)
        assert code in (1, 2)
    after = snapshot(work)
    assert {name: after.get(name) for name in before} == before  # nothing existing changed


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=FILE_CONTENTS, command=st.sampled_from(["train", "predict", "evaluate"]))
def test_generated_files_never_break_the_contract(
    tmp_path_factory, cli_model, capsys, content, command
):
    work = tmp_path_factory.mktemp("prop")
    data = work / "input.csv"
    data.write_bytes(content)
    before = snapshot(work)
    argv = {
        "train": ["train", "--ratings", str(data), "--out", str(work / "m"), *QUICK],
        "predict": [
            "predict",
            "--model",
            str(cli_model),
            "--pairs",
            str(data),
            "--out",
            str(work / "p.csv"),
        ],  # fmt: skip
        "evaluate": ["evaluate", "--model", str(cli_model), "--ratings", str(data)],
    }[command]
    code, stderr = run_main(argv, capsys)
    check_contract(code, stderr, work, before)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(["recommend", "predict", "evaluate", "info", "train"]),
    extra=st.lists(ARGUMENT, max_size=4),
)
def test_generated_arguments_never_break_the_contract(
    tmp_path_factory, cli_model, capsys, command, extra
):
    work = tmp_path_factory.mktemp("args")
    (work / "notes.txt").write_text("keep me")
    before = snapshot(work)
    base = {
        "recommend": ["--model", str(cli_model), "--user", "1"],
        "predict": ["--model", str(cli_model), "--pairs", str(work / "notes.txt")],
        "evaluate": ["--model", str(cli_model)],
        "info": ["--model", str(cli_model)],
        "train": ["--dataset", "synthetic", "--out", str(work / "notes.txt"), *QUICK],
    }[command]
    cwd = os.getcwd()
    os.chdir(work)  # a relative --out lands here, where the snapshot looks
    try:
        code, stderr = run_main([command, *base, *extra], capsys)
    finally:
        os.chdir(cwd)
    check_contract(code, stderr, work, before)


@pytest.mark.parametrize(
    "args",
    [
        ["recommend", "--user", "abc"],
        ["recommend", "--user", "1", "-k", "1e9"],
        ["train", "--learning-rate", "nan"],
        ["train", "--epochs", "-1"],
        ["predict", "--pairs", "/", "--out", "x.csv"],
        ["evaluate", "--ratings", "/dev/null"],
        ["info", "--model", "/"],
        ["train", "--ratings", "/etc/hostname", "--out", "m"],
        ["evaluate", "--dataset", "synthetic", "--split", "u1"],
        ["predict", "--pairs", "missing.csv", "--out", "."],
    ],
)
def test_the_real_process_keeps_the_contract(tmp_path, cli_model, args):
    """A few dozen of the same through the real command, as a student's terminal sees it."""
    if args[0] != "train" and "--model" not in args:
        args = [*args, "--model", str(cli_model)]
    (tmp_path / "notes.txt").write_text("keep me")
    before = snapshot(tmp_path)
    result = movierec(*args, cwd=tmp_path, check=False)
    check_contract(result.returncode, result.stderr, tmp_path, before)
    assert result.returncode != 0
