"""The recommender as a TorchServe model: a handler, and the command that builds its archive."""
