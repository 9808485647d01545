"""A response checked against the run's OpenAPI descriptions, as assertion results of its step.

The first description with an operation for the request's method and path decides; a response
no description covers is listed as "not described" (a passed check that says so), not failed.
"""

from __future__ import annotations

import urllib.parse

from runner.contracts.check import check
from runner.contracts.description import Description
from runner.engine.results import AssertionResult, ReceivedResponse, SentRequest
from runner.flowfile.source import Span


def contract_results(
    descriptions: list[Description], request: SentRequest, response: ReceivedResponse, span: Span
) -> tuple[list[AssertionResult], str]:
    """The checks of the response, and what it was checked against (`POST /carts`, "not described")."""
    path = urllib.parse.urlsplit(request.url).path or "/"
    for description in descriptions:
        operation = description.match(request.method, path)
        if operation is None:
            continue
        subject = f"openapi {operation.name}"
        mismatches, note = check(
            operation, response.status, response.headers, response.body, response.json, response.is_json
        )
        if not mismatches:
            return [
                AssertionResult(subject, "conforms", description.path, "conforms", True, span, note)
            ], operation.name
        suffix = f"; {note}" if note else ""
        checks = [
            AssertionResult(subject, m.rule, m.expected, m.actual, False, span, m.message + suffix) for m in mismatches
        ]
        return checks, operation.name
    files = ", ".join(d.path for d in descriptions)
    why = f"not described: no operation of {files} matches {request.method} {path}"
    return [AssertionResult("openapi", "described", "an operation", NOT_DESCRIBED, True, span, why)], NOT_DESCRIBED


NOT_DESCRIBED = "not described"
