"""Lecture 5's deployment files (nginx, systemd, TorchServe, the container image), and the
Python that runs them on loopback for the tests and the benchmark (`deploy.loopback`)."""
