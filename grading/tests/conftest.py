"""What the graded tests share: the grading data, made by the course's own code (never by the
submission's), and readers of a submission's server configuration.

These helpers run in the scoring process, which never imports the course packages: the data are
made by a child process of the grader's own environment, and sshd reads the submission's drop-in.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grading.fixtures import Harness, Server, serve

# The training settings graded models use: small, so that a class is graded in minutes.
GRADING_TRAINING = ["--epochs", "8", "--n-factors", "16", "--seed", "1"]

# Made by the course's code: synthetic ratings with 20 % of each user's held out, and a small
# model trained on the rest (what the graded servers load). Deterministic: same files every time.
PREPARE = """
import json
import sys
from pathlib import Path

import numpy as np

from movierec.data import load_dataset
from movierec.persist import save_model
from movierec.train import TrainConfig, train

out = Path(sys.argv[1])
data = load_dataset("synthetic")
# About 20 % of the ratings held out, drawn here (not by an exercise's code).
is_test = np.random.default_rng(7).random(len(data.ratings)) < 0.2
names = {"user_id": "userId", "item_id": "movieId"}
train_part = data.ratings[~is_test]
train_part.rename(columns=names).to_csv(out / "train.csv", index=False)
data.ratings[is_test].rename(columns=names).to_csv(out / "test.csv", index=False)
data.movies.rename(columns={"item_id": "movieId"}).to_csv(out / "movies.csv", index=False)
result = train(train_part, data.movies, TrainConfig(epochs=5, n_factors=8), progress=False)
result.recommender.metadata["dataset"] = {"name": "grading", "checksum": data.checksum}
save_model(result.recommender, out / "model")

# What the served top-5s must be, worked out here on their own: unrated movies by score.
recommender, expected = result.recommender, {}
for user in recommender.users.raw_ids[:5]:
    scores = recommender.scores(int(user))
    scores[np.isin(recommender.items.raw_ids, recommender.rated_by(int(user)))] = -np.inf
    expected[int(user)] = recommender.items.raw(np.argsort(-scores, kind="stable")[:5]).tolist()
(out / "expected_top5.json").write_text(json.dumps(expected))
"""


@dataclass(frozen=True)
class GradingData:
    folder: Path
    train: Path  # ratings.csv format: userId,movieId,rating,timestamp
    test: Path  # the held-out ratings, never given to the submission's training
    movies: Path  # movieId,title,genres
    model: Path  # a model directory saved by the course's code (what graded servers serve)

    def test_ratings(self) -> list[tuple[int, int, float]]:
        with open(self.test, newline="") as f:
            return [(int(r["userId"]), int(r["movieId"]), float(r["rating"]))
                    for r in csv.DictReader(f)]  # fmt: skip

    def train_ratings(self) -> list[tuple[int, int, float]]:
        with open(self.train, newline="") as f:
            return [(int(r["userId"]), int(r["movieId"]), float(r["rating"]))
                    for r in csv.DictReader(f)]  # fmt: skip

    def expected_top5(self) -> dict[int, list[int]]:
        """{user: the five movies the model must recommend}, for a few users."""
        saved = json.loads((self.folder / "expected_top5.json").read_text())
        return {int(user): items for user, items in saved.items()}


@pytest.fixture(scope="session")
def grading_data(tmp_path_factory: pytest.TempPathFactory) -> GradingData:
    """The grading data, made once per graded submission by the grader's own `movierec`."""
    folder = tmp_path_factory.mktemp("grading-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-c", PREPARE, str(folder)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:  # with a student's own copy (`check`): their save_model, A2.4
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.fail(
            f"the grading data could not be made with this copy's movierec ({reason}); "
            "saving a model (exercise A2.4) must work first"
        )
    return GradingData(folder, folder / "train.csv", folder / "test.csv", folder / "movies.csv",
                       folder / "model")  # fmt: skip


TRAIN_AND_PREDICT = """
import contextlib, csv, io
from movierec.cli import main
for argv in (train, predict):
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main(argv)
    if code != 0:
        said = (errors.getvalue().strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"`python -m movierec {argv[0]}` failed: {said}")
with open(predictions) as written:
    result = [float(row["prediction"]) for row in csv.DictReader(written)]
"""


@pytest.fixture(scope="session")
def trained_predictions(
    submission: Path, submission_env: dict[str, str], grading_data: GradingData, tmp_path_factory
) -> list[float]:
    """The submission's `python -m movierec train` on the grading ratings (grading settings,
    nothing held out: the test ratings are ours), then its `predict` of the held-out pairs."""
    work = tmp_path_factory.mktemp("trained")
    model, predictions = work / "model", work / "predictions.csv"
    train = ["train", "--ratings", str(grading_data.train), "--movies", str(grading_data.movies),
             "--test-fraction", "0", "--out", str(model), "--quiet", *GRADING_TRAINING]  # fmt: skip
    predict = ["predict", "--model", str(model), "--pairs", str(grading_data.test),
               "--out", str(predictions), "--unknown", "fallback"]  # fmt: skip
    harness = Harness(submission, submission_env, work / "harness.log")
    try:
        variables = {"train": train, "predict": predict, "predictions": str(predictions)}
        return harness.run(TRAIN_AND_PREDICT, 150, variables)
    finally:
        harness.stop()


@pytest.fixture(scope="session")
def served_app(
    submission: Path, submission_env: dict[str, str], grading_data: GradingData, tmp_path_factory
) -> Iterator[Server]:
    """The submission's Flask app (`flask --app flask_app run`) serving the grading model, on a
    free loopback port; one server for all the tests that ask it."""
    env = {**submission_env, "MOVIEREC_MODEL": str(grading_data.model)}
    log = tmp_path_factory.mktemp("served-app") / "flask.log"
    command = ["--app", "flask_app", "run", "--port", "{port}"]
    with serve(submission, "flask", command, env, log, ready="/health", timeout=90) as server:
        yield server


@pytest.fixture
def ask(served_app: Server):
    """`ask(path, method="GET", body=None, headers=None)` -> (status, JSON body or None,
    headers) of one request to the served app."""

    def ask(path: str, method: str = "GET", body: bytes | None = None, headers=None):
        request = urllib.request.Request(served_app.url + path, data=body, method=method,
                                         headers=headers or {})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, answer_headers = error.code, error.read(), error.headers
        try:
            return status, json.loads(raw), answer_headers
        except ValueError:
            return status, None, answer_headers

    return ask


TRACK_TWO_RUNS = """
import contextlib, io, runpy
main = runpy.run_path("mlflow/train.py", run_name="graded")["main"]
said = io.StringIO()
with contextlib.redirect_stdout(said), contextlib.suppress(SystemExit):
    main(["--help"])
result = {"help": said.getvalue(), "failures": []}
for argv in runs:
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(argv)
    except Exception as error:  # reported by the tests that need the run, in the student's words
        result["failures"].append(f"{type(error).__name__}: {error}")
"""


@dataclass(frozen=True)
class TrackedRuns:
    tracking_uri: str  # a SQLite store of the grader's: every run and registered version
    help: str  # what `python mlflow/train.py --help` printed
    failures: list[str]  # how runs failed, if any did

    def check(self) -> None:
        """Fail the calling test, in the student's words, when mlflow/train.py failed."""
        assert not self.failures, f"python mlflow/train.py failed: {self.failures[0]}"


@pytest.fixture(scope="session")
def tracked_runs(submission: Path, submission_env: dict[str, str], tmp_path_factory) -> TrackedRuns:
    """The submission's mlflow/train.py, run twice into a fresh SQLite store: first a good model
    ("good"), then a clearly worse one ("worse"), as the lecture's commands do."""
    store = tmp_path_factory.mktemp("mlflow-store")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    common = ["--tracking-uri", uri, "--dataset", "synthetic"]
    runs = [
        [*common, "--epochs", "4", "--n-factors", "16", "--run-name", "good"],
        [*common, "--epochs", "1", "--n-factors", "2", "--run-name", "worse"],
    ]
    harness = Harness(submission, submission_env, store / "harness.log")
    try:
        said = harness.run(TRACK_TWO_RUNS, 240, {"runs": runs})
    finally:
        harness.stop()
    return TrackedRuns(uri, said["help"], said["failures"])


# --- sshd, reading the submission's drop-in ------------------------------------------------------

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def sshd_settings(dropin: Path, folder: Path) -> dict[str, str]:
    """The settings sshd really uses with `dropin` included first (`sshd -T`), as {name: value}.

    sshd only reads configuration here: nothing of the submission runs. A made-up host key and
    pid file keep it away from this machine's own sshd.
    """
    if not Path(SSHD).exists():
        pytest.fail("sshd is not installed on the grading machine (apt install openssh-server)")
    key = folder / "host_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, timeout=30)  # fmt: skip
    config = folder / "sshd_config"
    config.write_text(
        f"Include {dropin}\nHostKey {key}\nPidFile {folder / 'sshd.pid'}\nUsePAM no\n"
    )
    done = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, text=True,
                          timeout=30)  # fmt: skip
    assert done.returncode == 0, f"sshd refuses the drop-in: {done.stderr.strip()[:300]}"
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


@pytest.fixture
def dropin_settings(submission: Path, tmp_path: Path) -> dict[str, str]:
    """`sshd -T` of the submission's setup/sshd_config.d/10-course-hardening.conf."""
    dropin = submission / "setup" / "sshd_config.d" / "10-course-hardening.conf"
    assert dropin.is_file(), "setup/sshd_config.d/10-course-hardening.conf is missing"
    return sshd_settings(dropin, tmp_path)


# --- the firewall script, read (never run) -------------------------------------------------------

_ASSIGNMENT = re.compile(
    r"""^([A-Z_]+)=(?:"([^"$`\\]*)"|'([^']*)'|([^\s"'$`\\;&|]*))\s*(?:#.*)?$"""
)


def firewall_rules(script: Path) -> dict[str, str]:
    """The plain `NAME=value` settings of the firewall script, read as text: running a student's
    script as root on the grading machine is out of the question, and these lines need no shell."""
    rules = {}
    for line in script.read_text().splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            rules[match[1]] = next(value for value in match.groups()[1:] if value is not None)
    return rules


@pytest.fixture
def firewall(submission: Path) -> dict[str, str]:
    """The rules of the submission's setup/03_firewall.sh (INCOMING, OUTGOING, SSH_RULE ...)."""
    script = submission / "setup" / "03_firewall.sh"
    assert script.is_file(), "setup/03_firewall.sh is missing"
    return firewall_rules(script)
