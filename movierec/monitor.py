"""A first step of model monitoring: are the users asking for recommendations the ones the model
was trained on? `python -m movierec monitor --model DIR --log access.log`.

It reads the server's JSON access log (flask_app/access_log.py: one object per request, with
the `user_id` a request asked about), compares those users with the model's training data, and
says whether retraining is due:

- the share of requests for users the model never saw (it answers them 404): new users arrive
  every day, and only a new model knows them;
- how active the requested users were in the training data, next to all training users: when
  mostly light users ask, the model knows little about the people it serves;
- how old the model is.

At scale, teams use tools built for this (Evidently's drift reports, Grafana dashboards on top of
Prometheus); the questions are the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

MAX_UNKNOWN_SHARE = 0.05  # more than 5 % of requests for unknown users: retrain
MAX_AGE_DAYS = 30.0  # a model older than a month: retrain
QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class Report:
    lines: int  # lines read
    requests: int  # of which, requests that named a user
    distinct_users: int
    unknown_requests: int  # requests for a user the model never saw
    unknown_users: int
    training_activity: dict[str, float]  # quantiles of ratings per training user
    requested_activity: dict[str, float]  # the same, over the requests for known users
    model_age_days: float | None
    reasons: list[str] = field(default_factory=list)  # why retraining is due; empty: it is not

    @property
    def unknown_share(self) -> float:
        return self.unknown_requests / self.requests if self.requests else 0.0

    @property
    def retraining_due(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict:
        return {**asdict(self), "unknown_share": self.unknown_share,
                "retraining_due": self.retraining_due}  # fmt: skip


def requested_users(lines: Iterable[str]) -> tuple[int, list[int]]:
    """(lines read, the user id of each request that named one). Lines that are not a JSON
    object (gunicorn's own messages, in the same journal) are skipped."""
    count, users = 0, []
    for line in lines:
        count += 1
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        user = record.get("user_id") if isinstance(record, dict) else None
        if isinstance(user, int) and not isinstance(user, bool):
            users.append(user)
    return count, users


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    return {f"p{round(q * 100)}": float(np.quantile(values, q)) for q in QUANTILES}


def build_report(
    lines: Iterable[str],
    ratings_per_user: dict[int, int],
    created_at: str | None,
    now: datetime | None = None,
    max_unknown_share: float = MAX_UNKNOWN_SHARE,
    max_age_days: float = MAX_AGE_DAYS,
) -> Report:
    """Compare the requested users with the training data (`ratings_per_user`: each training
    user's number of ratings) and decide whether retraining is due."""
    count, users = requested_users(lines)
    known = [u for u in users if u in ratings_per_user]
    unknown = [u for u in users if u not in ratings_per_user]
    age = None
    if created_at:
        created = datetime.fromisoformat(created_at)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        age = ((now or datetime.now(UTC)) - created).total_seconds() / 86400
    report = Report(
        lines=count,
        requests=len(users),
        distinct_users=len(set(users)),
        unknown_requests=len(unknown),
        unknown_users=len(set(unknown)),
        training_activity=_quantiles(np.array(list(ratings_per_user.values()))),
        requested_activity=_quantiles(np.array([ratings_per_user[u] for u in known])),
        model_age_days=age,
    )
    if report.requests and report.unknown_share > max_unknown_share:
        report.reasons.append(
            f"{report.unknown_share:.0%} of requests are for users the model never saw "
            f"(more than {max_unknown_share:.0%})"
        )
    if age is not None and age > max_age_days:
        report.reasons.append(f"the model is {age:.0f} days old (more than {max_age_days:g})")
    return report


def ratings_per_user(recommender) -> dict[int, int]:
    """Each training user's number of training ratings (a `Recommender`'s `rated` table)."""
    counts = recommender.rated["user_id"].value_counts()
    return {int(user): int(n) for user, n in counts.items()}


def format_report(report: Report) -> str:
    """The report as a student reads it in a terminal."""

    def row(name: str, quantiles: dict[str, float]) -> str:
        shown = "  ".join(f"{k} {v:6.0f}" for k, v in quantiles.items()) or "(no requests)"
        return f"  {name:<22}{shown}"

    age = "unknown" if report.model_age_days is None else f"{report.model_age_days:.1f} days"
    lines = [
        f"requests naming a user  {report.requests:,} ({report.distinct_users:,} users) "
        f"in {report.lines:,} log lines",
        f"unknown users           {report.unknown_requests:,} requests "
        f"({report.unknown_share:.1%}), {report.unknown_users:,} users",
        "ratings per user in the training data:",
        row("all training users", report.training_activity),
        row("requested (known)", report.requested_activity),
        f"model age               {age}",
    ]
    if report.retraining_due:
        lines.append("retraining due: yes")
        lines += [f"  - {reason}" for reason in report.reasons]
        lines.append("  python -m movierec train --out models/default  (then restart the server)")
    else:
        lines.append("retraining due: no")
    return "\n".join(lines)
