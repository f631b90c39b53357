"""The thin API on AWS Lambda: `GET /recommend?user_id=U&k=K` from API Gateway, answered by the
SageMaker endpoint, in the JSON shape of the Flask app's /recommend.

It does what flask_app/inputs.py does for Flask (check the query, one clear 400) and forwards
the rest; the model stays in the endpoint. Lambda's Python runtime brings boto3, so the zip holds
this file alone:  zip -j build/lambda_api.zip deploy/aws/lambda_api.py
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

DEFAULT_K, MAX_K = 10, 100  # movierec.limits: the zip holds this file only, not the package
ID_MIN, ID_MAX = 1, 2**31 - 1  # flask_app/inputs.py's bounds
_INTEGER = re.compile(r"-?[0-9]{1,10}")


def handler(event: dict[str, Any], context: Any, runtime: Any = None) -> dict[str, Any]:
    """API Gateway's HTTP API event (payload format 2.0) in, its response dict out.

    `runtime` is the SageMaker runtime client; tests pass a fake one.
    """
    query = event.get("queryStringParameters") or {}
    try:
        user_id = _integer(query, "user_id", ID_MIN, ID_MAX, default=None)
        k = _integer(query, "k", 1, MAX_K, default=DEFAULT_K)
    except ValueError as error:
        return _response(400, {"error": str(error)})
    runtime = runtime or _sagemaker_runtime()
    answer = runtime.invoke_endpoint(
        EndpointName=os.environ["ENDPOINT_NAME"],
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"user_id": user_id, "k": k}),
    )
    body = json.loads(answer["Body"].read())
    # The endpoint answers an unknown user with {"error": ...}: a client error, as in Flask.
    return _response(404 if "error" in body else 200, body)


def _integer(query: dict[str, str], name: str, low: int, high: int, default: int | None) -> int:
    """A query parameter as an integer in [low, high]; ValueError with a message otherwise."""
    if name not in query:
        if default is None:
            raise ValueError(f"missing query parameter {name}, e.g. ?{name}=1")
        return default
    text = query[name]
    if not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {text[:20]!r}")
    return int(text)


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }


def _sagemaker_runtime() -> Any:
    """The boto3 client, made once per Lambda container (imported here: tests need no boto3)."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("sagemaker-runtime")
    return _client


_client = None
