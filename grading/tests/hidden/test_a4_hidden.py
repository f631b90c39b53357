"""A4, hidden (an example of what an instructor keeps private): the rule keeps the champion."""

from __future__ import annotations

import mlflow
import pytest

pytestmark = [pytest.mark.assignment("A4"), pytest.mark.timeout(300)]


@pytest.mark.points(2, exercises=["A4.2", "A4.1"])
def test_a_worse_model_does_not_take_the_alias(tracked_runs):
    """A clearly worse second model is registered (version 2) but the champion stays version 1."""
    tracked_runs.check()
    client = mlflow.MlflowClient(tracking_uri=tracked_runs.tracking_uri)
    versions = {str(v.version) for v in client.search_model_versions("name='movie-recommender'")}
    assert "2" in versions, "the second run was not registered"
    champion = client.get_registered_model("movie-recommender").aliases.get("champion")
    assert str(champion) == "1", f"the worse model took the alias: champion is {champion}"
