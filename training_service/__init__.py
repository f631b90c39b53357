"""The training service (lecture 6): training jobs that run beside the web app, not inside it.

    flask_app/training.py   POST /train, GET /train/status/<id>: checks a job, records it, queues it
    jobs.py                 the jobs table (SQLite): our own record of every job and its state
    queue.py                the task queue (huey, stored in SQLite) that carries jobs to the worker
    job.py                  what one job does: train, save, and promote by the one rule
    worker.py               `python -m training_service.worker`: runs the jobs, one at a time

The web app answers in milliseconds; a training takes minutes. So the two never share a process.
"""
