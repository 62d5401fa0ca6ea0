"""Property-based API testing (issue 9, item 10): schemathesis against the app in-process,
anonymous and professional OpenAPI documents, a bounded number of cases, 0 server errors.

About 300 cases in all: MAX_EXAMPLES per operation and audience (8 operations × 2 audiences).
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from conftest import login_as, make_app
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from search_support import add_providers

MAX_EXAMPLES = 19
COOKIES: dict[str, str] = {}


@pytest.fixture(params=["public", "professional"])
def api_schema(request, sqlite_services):
    add_providers(
        sqlite_services,
        {
            "source_id": "c1",
            "name": "番町クリニック",
            "fax": "087-555-0199",
            "capabilities": {"home_visit_medical": {"level": "accept"}},
        },
        {"source_id": "n1", "type": "home_nursing", "name": "訪問看護ステーション"},
    )
    app = make_app(sqlite_services, INDEX_REFRESH_SECONDS=60)
    client = app.test_client()
    COOKIES.clear()
    if request.param == "professional":
        login_as(client, sqlite_services, "professional")
        COOKIES["session"] = client.get_cookie("session").value
    doc = json.loads(client.get("/api/openapi.json").data)
    assert doc["paths"]
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = app
    schema.config.update(base_url="http://localhost")
    return schema


def test_no_server_errors(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    calls: list[int] = []
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(cookies=dict(COOKIES))
            calls.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert len(calls) >= len(operations) * 5
    assert not [c for c in calls if c >= 500]
    print(f"{len(calls)} cases, statuses {sorted(set(calls))}")
