"""Query-string secrets never reach a log line (sync/serving.py), with literal data;
tests/e2e/test_served_limits.py reads the logs of real servers."""

from __future__ import annotations

import logging

import pytest

from sync.serving import RedactSecrets, redact


@pytest.mark.parametrize(("line", "expected"), [
    ('"GET /scim/v2/Users?access_token=hr2bi_ab_CD-ef HTTP/1.1" 401',
     '"GET /scim/v2/Users?access_token=[REDACTED] HTTP/1.1" 401'),
    ("GET /scim/v2/Users?count=5&token=s3cr3t&startIndex=1",
     "GET /scim/v2/Users?count=5&token=[REDACTED]&startIndex=1"),
    ("/x?API_KEY=k1;client_secret=k2&id_token=k3&password=k4&sig=k5",
     ("/x?API_KEY=[REDACTED];client_secret=[REDACTED]&id_token=[REDACTED]&password=[REDACTED]"
      "&sig=[REDACTED]")),
    ('/scim/v2/Users?filter=userName eq "token=x"', '/scim/v2/Users?filter=userName eq "token=x"'),
    ("/scim/v2/Users?monkey=banana&tokens=3", "/scim/v2/Users?monkey=banana&tokens=3"),
])
def test_redact_hides_only_the_values_of_secret_parameters(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_redacts_a_formatted_record() -> None:
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                               "%(r)s %(s)s", ({"r": "GET /?token=abc HTTP/1.1", "s": "401"},), None)

    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == "GET /?token=[REDACTED] HTTP/1.1 401"
