"""The training worker: `python -m training_service.worker`, `make worker`, or the systemd unit
deploy/systemd/movierec-worker.service. It runs the queued jobs of $MOVIEREC_JOBS_DIR (jobs/).

One job at a time, in a child process (huey's "process" worker): a time limit can then stop a
training (SIGALRM), and a crash or an out-of-memory kill ends the child, not the worker, which
starts a new child and marks the lost job failed. One worker per jobs folder: it holds a lock
on `worker.lock` while it runs, and the web app looks at that lock to say whether a worker is
there. Stop it with SIGTERM (systemctl stop): a job in the middle of training is marked failed,
queued jobs stay queued for the next start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from movierec.locations import jobs_dir

LOCK_FILE = "worker.lock"
TRAINING_THREADS = 1  # on a 2-core server, the other core stays free for the web app


@contextmanager
def worker_lock(folder: Path) -> Iterator[IO[str]]:
    """Hold the folder's worker lock for a `with` block; SystemExit if another worker has it.

    The kernel releases a lock when its process ends, however it ends (even `kill -9`): a lock
    file cannot go stale the way a file that merely exists can.
    """
    with open(folder / LOCK_FILE, "a+") as lock:
        # A few tries: the web app's check (`worker_is_running`) holds it for microseconds.
        for _ in range(20):
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.1)
        else:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise SystemExit(f"error: another worker (pid {holder}) runs the jobs of {folder}")
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield lock


def worker_is_running(folder: str | Path) -> bool:
    """Does a worker hold the lock of this jobs folder right now? (One machine only.)"""
    try:
        lock = open(Path(folder) / LOCK_FILE)  # noqa: SIM115 (closed below, after the probe)
    except FileNotFoundError:
        return False  # no worker has ever run here
    with lock:
        try:
            # A shared lock is refused only while a worker holds its exclusive one.
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(message)s"
    )
    folder = jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with worker_lock(folder):
        # Imported once the lock is ours: these import torch, which takes seconds.
        import torch

        from training_service.queue import TrainingQueue

        torch.set_num_threads(TRAINING_THREADS)  # inherited by the child processes
        queue = TrainingQueue(folder)
        for job_id in queue.jobs.expire():
            logging.info("job %s expired: row and files deleted", job_id)
        for job_id in queue.requeue_lost():
            logging.info("job %s was in the table but not in the queue: queued again", job_id)
        logging.info("training worker for %s: pid %s, one job at a time", folder, os.getpid())
        # Each job in a child process; a dead child is replaced within a second or two.
        consumer = queue.huey.create_consumer(
            workers=1, worker_type="process", periodic=False, health_check_interval=1
        )
        consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
