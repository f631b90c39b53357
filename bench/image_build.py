"""Build the container image for real with Podman, report its size, and smoke-test what it holds.

    python bench/image_build.py                       # the Dockerfile's own base and torch index
    python bench/image_build.py --local-base --torch-wheel /path/to/torch-2.13.0+cpu-...whl

It runs `make image` (so the Dockerfile and the make target are what is measured), then prints
the build time, the image's size, its largest layers (as `podman history` shows them) and the
settings the runtime stage declares (user, health check, command).

For a machine that cannot pull images or reach PyTorch's index (the course's CI machines):
`--local-base` makes a Debian 12 base with Python 3.11 by debootstrap, from Debian's packages,
and `--torch-wheel` serves a local CPU wheel to the build over loopback as its TORCH_INDEX.
pip inside the build trusts the host's certificate authorities (mounted read-only).

Then, as root, the smoke test: where `podman run` is not allowed (as in some sandboxes, where
crun may not set resource limits), it mounts a container's file system, binds a freshly trained
tiny model to /app/models, and runs the image's own gunicorn command inside it with `chroot`, as
uid 10001, until /health answers, and the HEALTHCHECK command passes. Minutes, and a gigabyte.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from loadtest import REPO_ROOT

from movierec.processes import answers, free_port, running

BIN = Path(sys.executable).parent
IMAGE = "movierec-api"
LOCAL_BASE = "localhost/movierec-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
APP_USER = "10001:10001"  # the Dockerfile's USER


def run(*command: str, timeout: float = 1800, **kwargs) -> str:
    """Run a command, fail loudly with its output, return its stdout."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- what the build needs on an offline machine --------------------------------------------------


def make_local_base(podman: str, scratch: Path) -> str:
    """A Debian 12 base image with Python 3.11 and venv, made by debootstrap; its name."""
    if subprocess.run([podman, "image", "exists", LOCAL_BASE], timeout=60).returncode == 0:
        return LOCAL_BASE
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    rootfs = scratch / "rootfs"
    print(f"making {LOCAL_BASE} with debootstrap (a few minutes) ...", file=sys.stderr)
    run(debootstrap, "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
        "bookworm", str(rootfs), DEBIAN_MIRROR)  # fmt: skip
    for cache in ("var/lib/apt/lists", "var/cache/apt/archives"):  # what debootstrap downloaded
        shutil.rmtree(rootfs / cache, ignore_errors=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run(podman, "import", "--change", 'CMD ["/bin/bash"]', "-", LOCAL_BASE, stdin=tar.stdout)
    tar.wait(timeout=60)
    return LOCAL_BASE


@contextmanager
def wheel_index(wheel: Path, scratch: Path) -> Iterator[str]:
    """A package index on loopback that offers one torch wheel (pip reads a directory listing)."""
    folder = scratch / "index" / "torch"
    folder.mkdir(parents=True)
    (folder / wheel.name).symlink_to(wheel.resolve())
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running(command, scratch / "index.log", f"{url}/torch/", cwd=folder.parent):
        yield url


def health_check(info: dict) -> list[str]:
    """The HEALTHCHECK command (Podman shows it beside Config, Docker inside it)."""
    check = info.get("Healthcheck") or info["Config"]["Healthcheck"]
    return check["Test"][1:]  # ["CMD", program, args...]


def compressed_size(podman: str) -> int:
    """Bytes of the image saved and gzipped: roughly what a push uploads and a pull downloads."""
    save = subprocess.Popen([podman, "save", "--format", "docker-archive", IMAGE],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    gzip = subprocess.run(["gzip", "-1"], stdin=save.stdout, capture_output=True, timeout=600)
    save.wait(timeout=60)
    return len(gzip.stdout)


# --- the smoke test -----------------------------------------------------------------------------


def train_tiny_model(models: Path) -> None:
    """models/default, trained for a second on synthetic data (readable by the image's user, as
    every saved model is)."""
    run(str(BIN / "python"), "-m", "movierec", "train", "--dataset", "synthetic", "--epochs",
        "2", "--out", str(models / "default"), "--quiet", cwd=REPO_ROOT)  # fmt: skip


def smoke_test(podman: str, scratch: Path) -> None:
    """The image's CMD, run with chroot inside a container's file system, answers /health."""
    (info,) = json.loads(run(podman, "image", "inspect", IMAGE))
    config = info["Config"]
    models = scratch / "models"
    train_tiny_model(models)
    container = run(podman, "create", IMAGE).strip()
    with ExitStack() as cleanup:
        cleanup.callback(run, podman, "rm", container)
        root = Path(run(podman, "mount", container).strip())
        cleanup.callback(run, podman, "umount", container)
        for source, target in ((models, "app/models"), ("/dev", "dev")):
            (root / target).mkdir(parents=True, exist_ok=True)
            run("mount", "--bind", str(source), str(root / target))
            cleanup.callback(run, "umount", str(root / target))
        run("mount", "-t", "proc", "proc", str(root / "proc"))
        cleanup.callback(run, "umount", str(root / "proc"))

        port = free_port()
        command = list(config["Cmd"])
        command[command.index("-b") + 1] = f"127.0.0.1:{port}"  # loopback, not 0.0.0.0, here
        env = ["env", "-i", *config["Env"], "HOME=/nonexistent"]
        chroot = ["chroot", f"--userspec={APP_USER}", str(root), *env,
                  "sh", "-c", f'cd {config["WorkingDir"]} && exec "$@"', "_", *command]  # fmt: skip
        started = time.monotonic()
        with running(chroot, scratch / "gunicorn.log", f"http://127.0.0.1:{port}/health", 120):
            ready = time.monotonic() - started
            probe = [a.replace("127.0.0.1:5000", f"127.0.0.1:{port}") for a in health_check(info)]
            run("chroot", f"--userspec={APP_USER}", str(root), *env, *probe, timeout=30)
            assert answers(f"http://127.0.0.1:{port}/health")
        print(f"smoke test: the image's gunicorn answered /health after {ready:.1f} s as uid "
              f"{APP_USER.split(':')[0]}, and its HEALTHCHECK command passed")  # fmt: skip


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--local-base", action="store_true", help=f"build on {LOCAL_BASE}")
    parser.add_argument("--torch-wheel", type=Path, help="a local CPU torch 2.13.0 wheel")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    parser.add_argument("--no-smoke-test", action="store_true")
    args = parser.parse_args()
    podman = shutil.which("podman")
    if podman is None:
        raise SystemExit("error: podman is not installed: sudo apt-get install podman")

    with tempfile.TemporaryDirectory(prefix="bench-image-") as scratch, ExitStack() as stack:
        scratch = Path(scratch)
        make = ["make", "image", f"CONTAINER_ENGINE={podman}", f"IMAGE={IMAGE}"]
        # chroot isolation: no nested namespaces needed; the host's CAs for pip's downloads.
        flags = "--isolation=chroot -v /etc/ssl/certs:/etc/ssl/certs:ro"
        if args.no_cache:
            flags += " --no-cache"
        make.append(f"IMAGE_BUILD_FLAGS={flags}")
        if args.local_base:
            make.append(f"BASE_IMAGE={make_local_base(podman, scratch)}")
        if args.torch_wheel:
            make.append(
                f"TORCH_INDEX={stack.enter_context(wheel_index(args.torch_wheel, scratch))}"
            )
        print("building:", " ".join(make), file=sys.stderr, flush=True)
        started = time.monotonic()
        run(*make, cwd=REPO_ROOT, timeout=3600)
        seconds = time.monotonic() - started

        (info,) = json.loads(run(podman, "image", "inspect", IMAGE))
        history = json.loads(run(podman, "history", "--format", "json", IMAGE))
        print(f"\nbuilt {IMAGE} in {seconds:.0f} s: {info['Size'] / 1e9:.2f} GB")
        print("largest layers:")
        for layer in sorted(history, key=lambda layer: -layer["size"])[:3]:
            print(f"  {layer['size'] / 1e6:8.0f} MB  {layer['CreatedBy'][:90]}")
        print(f"compressed (gzip, what a registry stores): {compressed_size(podman) / 1e6:.0f} MB")
        config = info["Config"]
        print(f"user {config['User']}; health check {health_check(info)}; "
              f"command {config['Cmd']}")  # fmt: skip
        if not args.no_smoke_test and os.geteuid() == 0:
            smoke_test(podman, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
