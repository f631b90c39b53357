"""The package's expected failures. Each carries one line a student understands; the command
line prints it after `error:` and the Flask app turns the ones a client can cause into 4xx JSON.
"""

from __future__ import annotations


class DataError(Exception):
    """A dataset or ratings file is missing, unreadable, or does not match its pinned checksums."""


class ModelLoadError(Exception):
    """A model directory is missing, incomplete, corrupt, or from an incompatible version."""


class ModelSaveError(Exception):
    """A model cannot be saved at the path asked for: something that is not a model is there."""


class SetupError(Exception):
    """A tool the command needs is missing or not set up (pyspark, Java, a Spark setting)."""


class StoreError(Exception):
    """A recommendation store is missing, is not a store, or cannot be written at that path."""


class TrainingError(Exception):
    """Training could not produce a model with these settings (e.g. it diverged)."""


class UnknownUserError(KeyError):
    """Recommendations were asked for a user the model has never seen."""

    def __str__(self) -> str:
        return f"unknown user {self.args[0]}: the model was not trained on any rating of theirs"


class FoldInError(Exception):
    """A new user's ratings cannot be folded into the model: none of the movies is known to it,
    or the model's class has no way to take in a user it was not trained on."""
