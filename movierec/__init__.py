"""movierec: the movie recommender that every part of the course shares.

One module per stage: `data` (MovieLens, your files, or the synthetic set), `model` (the PyTorch
networks: the taught one and two stronger ones), `hyperparameters` (each model's settings),
`train` (the training loops), `baselines`, `metrics`, `pipeline`
(train, measure and describe in one call), `recommender` (ids in, ranked movies out), `persist`
(save and load a model directory), `promotion` (when a new model replaces the served one),
`serving`, `client`, `cli` (`python -m movierec ...`); the MLflow side: `tracking`, `registry`,
`mlflow_model`; lecture 7's batch side: `batch` and `store` (every user's top-k, precomputed and
looked up by id), `spark_als` (the same job on Spark), `limits` (how many an answer holds).
"""

__version__ = "0.3.0"
