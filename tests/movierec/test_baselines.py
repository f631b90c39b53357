"""The baselines: the global mean, and per-user and per-movie biases fitted by Ridge."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.baselines import GlobalMean, RidgeBaseline

RATINGS = pd.DataFrame({
    "user_id": [1, 1, 2, 2, 3, 3],
    "item_id": [10, 20, 10, 20, 10, 30],
    "rating": [5.0, 3.0, 4.0, 2.0, 5.0, 1.0],
})  # fmt: skip


def test_the_global_mean_predicts_the_average_for_anyone():
    model = GlobalMean().fit(RATINGS)
    assert np.allclose(model.predict([1, 99], [10, 99]), RATINGS.rating.mean())


def test_ridge_learns_that_a_movie_is_liked_and_stays_in_the_scale():
    model = RidgeBaseline(alpha=0.1).fit(RATINGS)
    liked, disliked = model.score([1, 1], [10, 20])
    assert liked > disliked  # movie 10 gets 4.7 on average, movie 20 gets 2.5
    assert np.all((model.predict([1, 3], [10, 30]) >= 1) & (model.predict([1, 3], [10, 30]) <= 5))


def test_ridge_gives_an_unknown_user_and_movie_the_mean_level():
    model = RidgeBaseline().fit(RATINGS)
    assert abs(model.predict([99], [99])[0] - RATINGS.rating.mean()) < 0.5
