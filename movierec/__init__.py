"""movierec: the movie recommender that every part of the course shares.

One module per stage: `data` (load MovieLens or the synthetic set), `model` (the PyTorch network),
`train` (the training loop), `baselines`, `metrics`, `recommender` (ids in, ranked movies out),
`persist` (save and load a model directory), `cli` (`python -m movierec ...`).
"""

__version__ = "0.1.0"
