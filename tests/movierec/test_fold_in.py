"""Folding a newcomer into a trained model: `MatrixFactorization.fold_in` and
`Recommender.recommend_for_ratings` (what POST /recommend/for-ratings answers with)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from movierec.errors import FoldInError
from movierec.model import MatrixFactorization


@pytest.fixture
def movies_only() -> MatrixFactorization:
    """40 movies with random factors and biases; its users are never used."""
    torch.manual_seed(0)
    model = MatrixFactorization(n_users=1, n_items=40, n_factors=3, global_bias=3.5)
    with torch.no_grad():
        model.item_factors.weight.normal_(0, 1)
        model.item_bias.weight.normal_(0, 0.3)
    return model


def _exact_ratings(model, bias: float, taste: torch.Tensor, items: torch.Tensor):
    """The ratings a user with this bias and taste would give, with no noise at all."""
    with torch.no_grad():
        item_bias = model.item_bias(items).squeeze(1)
        return model.global_bias + bias + item_bias + model.item_factors(items) @ taste


def _user_scores(model, bias: float, taste: torch.Tensor) -> torch.Tensor:
    return _exact_ratings(model, bias, taste, torch.arange(model.item_factors.num_embeddings))


# --- the method itself ----------------------------------------------------------------------------


def test_fold_in_recovers_a_taste_the_ratings_explain_exactly(movies_only):
    """Ratings made by a known bias and taste vector give that user's scores back."""
    taste, items = torch.tensor([1.0, -0.5, 0.25]), torch.arange(0, 40, 2)
    ratings = _exact_ratings(movies_only, 0.4, taste, items)
    scores = movies_only.fold_in(items, ratings, l2=1e-9)
    assert torch.allclose(scores, _user_scores(movies_only, 0.4, taste), atol=1e-3)


def test_a_strong_penalty_makes_the_newcomer_an_average_user(movies_only):
    """With an enormous L2 the ratings say nothing: the scores are the movies' biases alone."""
    items = torch.arange(5)
    scores = movies_only.fold_in(items, torch.full((5,), 5.0), l2=1e9)
    average = movies_only.global_bias + movies_only.item_bias.weight.squeeze(1)
    assert torch.allclose(scores, average.detach(), atol=1e-4)


def test_one_rating_is_enough_and_l2_must_be_positive(movies_only):
    scores = movies_only.fold_in(torch.tensor([3]), torch.tensor([5.0]), l2=0.1)
    assert scores.shape == (40,) and torch.isfinite(scores).all()
    with pytest.raises(ValueError, match="l2 must be positive"):
        movies_only.fold_in(torch.tensor([3]), torch.tensor([5.0]), l2=0.0)


def test_the_order_of_the_ratings_does_not_matter(movies_only):
    """Invariance: the same ratings, shuffled, give the same scores."""
    items, ratings = torch.tensor([1, 7, 9, 30]), torch.tensor([5.0, 1.0, 4.0, 2.0])
    order = torch.tensor([2, 0, 3, 1])
    assert torch.allclose(
        movies_only.fold_in(items, ratings, 0.1),
        movies_only.fold_in(items[order], ratings[order], 0.1),
    )


# --- on a trained model ---------------------------------------------------------------------------


def test_a_folded_in_user_is_scored_like_the_trained_one(trained, split):
    """Minimum functionality: fold in a trained user's own training ratings, as if they were new:
    their scores follow the trained user's closely, without any training."""
    recommender, train_part = trained.recommender, split[0]
    l2 = recommender.metadata["hyperparameters"]["l2"]  # the penalty it was trained with
    correlations = []
    for user in recommender.users.raw_ids[:30]:
        mine = train_part[train_part.user_id == user]
        items = torch.from_numpy(recommender.items.indices(mine.item_id))
        ratings = torch.tensor(mine.rating.to_numpy(), dtype=torch.float32)
        folded = recommender.model.fold_in(items, ratings, l2).numpy()
        correlations.append(np.corrcoef(folded, recommender.scores(int(user)))[0, 1])
    assert np.mean(correlations) > 0.9, correlations


def test_newcomers_who_love_science_fiction_get_mostly_science_fiction(trained, synthetic_dataset):
    """Directional, as test_behaviour's retrained fans, but folded in: no retraining at all."""
    movies, recommender = synthetic_dataset.movies, trained.recommender
    scifi = movies.item_id[movies.genres.str.contains("Sci-Fi")].to_numpy()
    scifi = scifi[np.isin(scifi, recommender.items.raw_ids)]
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(3):
        loved = rng.choice(scifi, 20, replace=False)
        top = recommender.recommend_for_ratings({int(item): 5.0 for item in loved}, 10)
        shares.append(np.isin([r.item_id for r in top], scifi).mean())
    assert np.mean(shares) >= 0.6, shares


# --- Recommender.recommend_for_ratings ------------------------------------------------------------


def test_recommendations_for_ratings_are_the_best_unrated_movies(trained):
    recommender = trained.recommender
    rated = {int(item): 4.0 for item in recommender.items.raw_ids[:8]}
    top = recommender.recommend_for_ratings(rated, k=15)
    assert len(top) == 15
    assert not {r.item_id for r in top} & set(rated)
    scores = [r.score for r in top]
    assert scores == sorted(scores, reverse=True)
    assert all(r.title for r in top)


def test_movies_the_model_never_saw_are_skipped(trained):
    recommender = trained.recommender
    known = int(recommender.items.raw_ids[0])
    unknown = int(recommender.items.raw_ids.max()) + 1000
    with_unknown = recommender.recommend_for_ratings({known: 5.0, unknown: 1.0}, 5)
    assert with_unknown == recommender.recommend_for_ratings({known: 5.0}, 5)
    with pytest.raises(FoldInError, match="none of the rated movies is known"):
        recommender.recommend_for_ratings({unknown: 5.0}, 5)


def test_a_model_class_without_fold_in_says_so(trained, monkeypatch):
    recommender = trained.recommender
    monkeypatch.setattr(type(recommender.model), "fold_in", None)
    with pytest.raises(FoldInError, match="MatrixFactorization.*cannot take in the ratings"):
        recommender.recommend_for_ratings({int(recommender.items.raw_ids[0]): 5.0}, 5)
