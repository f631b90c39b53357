"""A2, hidden (an example of what an instructor keeps private): quality in bands, and the
notebook that trains and saves the model."""

from __future__ import annotations

import json
import math

import pytest

pytestmark = pytest.mark.assignment("A2")

# The solution's held-out RMSE on the grading data with the grading settings, measured with the
# course's own code (`trained_predictions` on the solution), and the margin a submission gets.
SOLUTION_RMSE, MARGIN = 0.939, 0.03


@pytest.mark.points(2, exercises=["A2.4"])
@pytest.mark.timeout(180)
def test_a_trained_model_comes_close_to_the_solution(trained_predictions, grading_data):
    """Its held-out RMSE is within 0.03 of the solution's, with the same data and settings."""
    truth = [rating for _, _, rating in grading_data.test_ratings()]
    pairs = list(zip(trained_predictions, truth, strict=True))
    ours = math.sqrt(sum((a - b) ** 2 for a, b in pairs) / len(pairs))
    assert ours <= SOLUTION_RMSE + MARGIN, (
        f"held-out RMSE {ours:.3f}; the solution reaches {SOLUTION_RMSE:.3f} with these settings"
    )


@pytest.mark.points(2, exercises=["A2.5", "A2.1", "A2.2", "A2.3", "A2.4"])
def test_notebook_02_trains_and_saves_the_model_to_serve(run_submission_notebook, tmp_path):
    """Notebook 02 runs top to bottom and saves a model measured on its hold-out, then refitted."""
    model = tmp_path / "model"
    run_submission_notebook(
        "notebooks/02_train_a_recommender.ipynb",
        {"dataset": "synthetic", "epochs": 5, "model_dir": str(model)},
        cell_timeout=100,  # within the manifest's time per test
    )
    metadata_file = model / "metadata.json"
    assert metadata_file.is_file(), "the notebook saved no model to model_dir"
    metadata = json.loads(metadata_file.read_text())
    assert metadata.get("refit") is True, "the saved model must be trained on every rating"
    assert metadata.get("holdout") == {"test_fraction": 0.2, "seed": 42}, (
        "the metrics must come from the same hold-out as the notebook's section 1"
    )
    assert 0.5 < metadata.get("metrics", {}).get("rmse", 0) < 1.2, "no plausible hold-out RMSE"
