"""A2, train and persist: the hold-out, top-k, a ranking metric, saving, and a trained model
that predicts held-out ratings well. Submission code runs in its own process
(`run_in_submission`); every verdict is made here."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.assignment("A2")


@pytest.mark.points(1)
def test_the_command_line_answers_help(submission_cli):
    """`python -m movierec --help` lists the commands."""
    done = submission_cli("--help")
    assert done.returncode == 0, "`python -m movierec --help` failed"
    assert all(command in done.stdout for command in ("train", "evaluate", "recommend"))


@pytest.mark.points(2, exercises=["A2.2"])
def test_the_hold_out_keeps_test_ratings_out_of_training(run_in_submission):
    """holdout_split puts each rating on one side only, a fifth of each user's on the test side."""
    result = run_in_submission(
        """
        import pandas as pd
        from movierec.data import holdout_split
        users = [user for user in range(1, 11) for _ in range(10)]
        ratings = pd.DataFrame({"user_id": users, "item_id": range(100), "rating": 4.0,
                                "timestamp": 0})
        train, test = holdout_split(ratings, 0.2, seed=3)
        result = {"train": train[["user_id", "item_id"]].values.tolist(),
                  "test": test[["user_id", "item_id"]].values.tolist()}
        """
    )
    train, test = {tuple(p) for p in result["train"]}, {tuple(p) for p in result["test"]}
    assert not train & test, "some ratings are both in training and in the test: scores flatter"
    assert len(train | test) == 100, "some ratings were lost or duplicated"
    per_user = {user: sum(u == user for u, _ in test) for user in range(1, 11)}
    assert set(per_user.values()) == {2}, f"each user should have 2 of 10 in the test: {per_user}"


@pytest.mark.points(2, exercises=["A2.1"])
def test_top_k_puts_the_best_scores_first(run_in_submission):
    """top_k returns the positions of the highest scores, best first, never a rated (-inf) one."""
    result = run_in_submission(
        """
        import numpy as np
        from movierec.recommender import top_k
        scores = np.array([1.0, 3.0, -np.inf, 2.5, 0.5])
        result = [top_k(scores.copy(), 3).tolist(), top_k(scores.copy(), 10).tolist()]
        """
    )
    assert result[0] == [1, 3, 0], f"top 3 of [1, 3, -inf, 2.5, 0.5] is {result[0]}, not [1, 3, 0]"
    assert result[1] == [1, 3, 0, 4], "with k above the movies left, every finite score, in order"


@pytest.mark.points(2, exercises=["A2.1"])
def test_recommendations_leave_out_rated_movies(run_in_submission, grading_data):
    """A user is never recommended a movie they rated, and the list comes best first."""
    result = run_in_submission(
        """
        from movierec.persist import load_model
        model = load_model(model_dir)
        result = {}
        for user in model.users.raw_ids[:20]:
            top = model.recommend(int(user), 20)
            result[int(user)] = {"items": [r.item_id for r in top],
                                 "scores": [r.score for r in top],
                                 "rated": model.rated_by(int(user)).tolist()}
        """,
        model_dir=str(grading_data.model),
    )
    for user, answer in result.items():
        assert not set(answer["items"]) & set(answer["rated"]), (
            f"user {user} was recommended movies they rated: recommend them something new"
        )
        assert answer["scores"] == sorted(answer["scores"], reverse=True), "best score first"
        assert len(answer["items"]) == 20


@pytest.mark.points(2, exercises=["A2.3"])
def test_ndcg_rewards_liked_movies_at_the_top(run_in_submission):
    """nDCG@k is 1 for a perfect list, smaller when the liked movie comes later, 0 with no hit."""
    result = run_in_submission(
        """
        from movierec.metrics import ndcg_at_k
        result = [ndcg_at_k([1, 0, 0], 1), ndcg_at_k([0, 0, 1], 1), ndcg_at_k([0, 1, 1], 2),
                  ndcg_at_k([0, 0, 0], 2)]
        """
    )
    ideal_two = 1 + 1 / math.log2(3)
    expected = [1.0, 0.5, (1 / math.log2(3) + 0.5) / ideal_two, 0.0]
    assert result == pytest.approx(expected), f"nDCG values {result}, expected {expected}"


@pytest.mark.points(2, exercises=["A2.4"])
def test_a_saved_model_loads_back_the_same_and_holds_only_weights(
    run_in_submission, grading_data, tmp_path
):
    """save_model then load_model predicts the same, and model.pt is a state dict of tensors."""
    result = run_in_submission(
        """
        import torch
        from movierec.persist import load_model, save_model
        model = load_model(model_dir)
        again = load_model(save_model(model, out))
        users, items = model.users.raw_ids[:50], model.items.raw_ids[:50]
        state = torch.load(f"{out}/model.pt", weights_only=True)
        result = {"before": model.predict(users, items).tolist(),
                  "after": again.predict(users, items).tolist(),
                  "tensors": all(isinstance(t, torch.Tensor) for t in state.values()),
                  "network": again.metadata.get("model")}
        """,
        model_dir=str(grading_data.model),
        out=str(tmp_path / "saved"),
    )
    assert result["after"] == pytest.approx(result["before"], abs=1e-6), "predictions changed"
    assert result["tensors"], "model.pt must hold the state dict (tensors), not a pickled object"
    assert result["network"] and result["network"]["class"] == "MatrixFactorization", (
        "the metadata must say which class to rebuild, and with which init_args"
    )


def rmse(pairs: list[tuple[float, float]]) -> float:
    return math.sqrt(sum((a - b) ** 2 for a, b in pairs) / len(pairs))


@pytest.mark.points(2, exercises=["A2.4"])
@pytest.mark.timeout(180)
def test_a_trained_model_beats_the_mean_rating(trained_predictions, grading_data):
    """Trained by `movierec train` on the grading ratings, it predicts held-out ratings better
    than their mean does."""
    truth = grading_data.test_ratings()
    train = grading_data.train_ratings()
    mean = sum(rating for _, _, rating in train) / len(train)
    ours = rmse(list(zip(trained_predictions, (r for _, _, r in truth), strict=True)))
    baseline = rmse([(mean, r) for _, _, r in truth])
    assert ours < baseline, f"held-out RMSE {ours:.3f}, no better than the mean's {baseline:.3f}"
