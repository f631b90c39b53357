"""How many recommendations an answer holds: by default, and at most, whoever asks.

A module without imports, so a server that only looks answers up in a store (lecture 7) shares
these limits with everything else without importing the model's code (torch, pandas).
"""

# The API, the MLflow model, the CLI and the store all answer DEFAULT_K recommendations unless
# asked for another number, and never more than MAX_K: a bound on the size of every answer.
DEFAULT_K, MAX_K = 10, 100
