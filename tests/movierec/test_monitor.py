"""`python -m movierec monitor`: the users of the access log, next to the training data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from movierec.cli import main
from movierec.monitor import build_report, format_report, requested_users

TRAINING = {1: 20, 2: 50, 3: 100, 4: 300}  # ratings per training user
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def log_line(user_id=None, path="/recommend", status=200) -> str:
    record = {"method": "GET", "path": path, "status": status, "request_id": "x"}
    if user_id is not None:
        record["user_id"] = user_id
    return json.dumps(record)


def test_only_requests_naming_a_user_count():
    lines = [log_line(1), log_line(path="/health"), "[INFO] Booting worker with pid: 7",
             "{not json", log_line(True), log_line(2)]  # fmt: skip
    assert requested_users(lines) == (6, [1, 2])


def test_few_unknown_users_and_a_young_model_need_no_retraining():
    lines = [log_line(u) for u in [1, 2, 3, 4] * 25] + [log_line(999)]  # 1 % unknown
    report = build_report(lines, TRAINING, "2026-11-20T10:00:00+00:00", now=NOW)
    assert (report.requests, report.distinct_users, report.unknown_requests) == (101, 5, 1)
    assert report.unknown_share == pytest.approx(1 / 101)
    assert report.model_age_days == pytest.approx(2.58, abs=0.01)
    assert not report.retraining_due
    assert "retraining due: no" in format_report(report)


def test_many_unknown_users_make_retraining_due():
    lines = [log_line(1)] * 8 + [log_line(1000 + i) for i in range(2)]  # 20 % unknown
    report = build_report(lines, TRAINING, "2026-11-20T10:00:00+00:00", now=NOW)
    assert report.unknown_users == 2 and report.retraining_due
    assert "20% of requests are for users the model never saw" in report.reasons[0]
    assert "retraining due: yes" in format_report(report)


def test_an_old_model_makes_retraining_due():
    report = build_report([log_line(1)], TRAINING, "2026-09-01T00:00:00", now=NOW)
    assert report.retraining_due and "days old" in report.reasons[0]


def test_the_requested_users_activity_is_compared_with_all_training_users():
    """Only the lightest user asks: the requested p50 is 20 ratings, the training p50 75."""
    report = build_report([log_line(1)] * 10, TRAINING, None, now=NOW)
    assert report.training_activity["p50"] == 75
    assert report.requested_activity == {"p10": 20, "p50": 20, "p90": 20}
    assert report.model_age_days is None


def test_the_command_reads_a_log_and_says_when_to_retrain(trained_model_dir, tmp_path, capsys):
    users = json.loads((trained_model_dir / "metadata.json").read_text())["user_ids"]
    log = tmp_path / "access.log"
    log.write_text("\n".join([log_line(users[0])] * 3 + [log_line(10**9)]) + "\n")
    assert main(["monitor", "--model", str(trained_model_dir), "--log", str(log), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["requests"], report["unknown_requests"]) == (4, 1)
    assert report["retraining_due"] is True  # 25 % unknown
    with pytest.raises(SystemExit) as exit_:
        main(["monitor", "--model", str(trained_model_dir), "--log", str(log), "--check"])
    assert exit_.value.code == 3
    assert "retraining due: yes" in capsys.readouterr().out
