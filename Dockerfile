# The recommender API as a container image: CPU-only torch, gunicorn, no build tools, not root.
#
#   docker build -t movierec-api .                    (or `make image`, with podman or docker)
#   docker run --rm -p 127.0.0.1:5000:5000 -v "$PWD/models:/app/models:ro" movierec-api
#
# The model is not in the image: mount the whole models/ folder, because models/default is a
# relative link into models/default.versions/ (movierec.persist), which must come along.
# Lecture 5 explains each choice; compose.yaml runs it behind nginx.

# An exact tag, so a rebuild next month starts from the same Python. For byte-for-byte
# rebuilds pin the digest too: python:3.11.14-slim-bookworm@sha256:<digest of the day>.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
# PyTorch's CPU-only wheels. PyPI's Linux torch bundles CUDA: gigabytes this image never uses.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# --- build: a wheel of our code, and a virtual environment with everything it needs ---------
FROM ${BASE_IMAGE} AS build
ARG TORCH_INDEX
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when requirements-serve.txt
# changes, not at every edit of the code. torch alone from the CPU index (its own dependencies
# then come from PyPI with the rest, as `make install` does). Last, torch's C++ headers go:
# they are for compiling extensions, which a server never does.
COPY requirements-serve.txt ./
RUN pip install --no-deps --index-url "${TORCH_INDEX}" torch==2.13.0 \
 && pip install -r requirements-serve.txt \
 && rm -rf /opt/venv/lib/python3*/site-packages/torch/include

# Our code as a wheel, installed without dependencies (they are all above, pinned).
COPY pyproject.toml README.md ./
COPY movierec/ movierec/
COPY flask_app/ flask_app/
COPY training_service/ training_service/
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --no-deps /wheels/*.whl

# --- runtime: the same Python, the virtual environment, a user; nothing else -----------------
FROM ${BASE_IMAGE} AS runtime
# An account without a home or a shell: if the app is ever compromised, the attacker is not
# root inside the container (nor, with user namespaces, on the host). A uid no host account
# uses; the mounted models must be readable by it (save_model makes them world-readable).
RUN groupadd --gid 10001 movierec \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin movierec
COPY --from=build /opt/venv /opt/venv
COPY flask_app/gunicorn.conf.py /app/gunicorn.conf.py
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MOVIEREC_MODEL=/app/models/default
USER 10001:10001
EXPOSE 5000

# `docker ps` shows healthy/unhealthy; compose and orchestrators restart or wait on it. Python,
# not curl: the slim image has no curl, and one more program is one more thing to patch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:5000/health', timeout=4)"]

# Exec form: gunicorn is PID 1 and receives `docker stop`'s SIGTERM itself (a shell in between
# would swallow it, and the container would be killed after 10 s instead of stopping cleanly).
# 0.0.0.0 inside the container, where it is the only way in; publish it on the host's loopback
# (`-p 127.0.0.1:5000:5000`), because Docker's published ports bypass ufw (lecture 1).
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "-b", "0.0.0.0:5000", "flask_app:create_app()"]
