"""Benchmark: SCIM Bulk requests at the advertised limits, in process (Flask test client).

    .venv/bin/python bench/scim_bulk.py [--operations N] [--chain N] [--database-url URL]

Three requests against a fresh database (a SQLite file in a temporary directory, or the
empty PostgreSQL database named by ``--database-url``):

* flat:  N user POSTs (N = maxOperations by default), no references;
* chain: N group POSTs, each naming the next as a member through ``bulkId:`` (forward
         references, the worst order for a pass-by-pass resolver); N is the reference
         depth cap by default, and a chain one longer is refused up front (timed too);
         ``--uncapped --chain 1000`` times the resolver itself on a long chain;
* star:  N - 1 user POSTs and one group whose members reference every one of them.

Prints wall and CPU seconds per request. The target (issue 12): a request at the
advertised limits completes in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scim.bulk
from scim.bulk import MAX_REFERENCE_DEPTH
from scim.schema import BULK_REQUEST, GROUP, USER
from sync.config import load_settings
from sync.db import make_engine, migrate, session_scope
from sync.tokens import create_token
from sync.web import create_app


def chain(n: int) -> list[dict[str, Any]]:
    return [{"method": "POST", "path": "/Groups", "bulkId": f"g{i}",
             "data": {"schemas": [GROUP], "displayName": f"chain {i}",
                      "members": [{"value": f"bulkId:g{i + 1}"}] if i + 1 < n else []}}
            for i in range(n)]


def flat(n: int) -> list[dict[str, Any]]:
    return [{"method": "POST", "path": "/Users", "bulkId": f"u{i}",
             "data": {"schemas": [USER], "userName": f"flat{i}@example.com"}} for i in range(n)]


def star(n: int) -> list[dict[str, Any]]:
    users = [{"method": "POST", "path": "/Users", "bulkId": f"s{i}",
              "data": {"schemas": [USER], "userName": f"star{i}@example.com"}} for i in range(n - 1)]
    group = {"method": "POST", "path": "/Groups", "bulkId": "star",
             "data": {"schemas": [GROUP], "displayName": "star",
                      "members": [{"value": f"bulkId:s{i}"} for i in range(n - 1)]}}
    return [group, *users]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=None, help="default: maxOperations")
    parser.add_argument("--chain", type=int, default=None, help="default: the advertised depth")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--uncapped", action="store_true",
                        help="lift the reference-depth cap, to time the resolver on a long chain")
    args = parser.parse_args()
    if args.uncapped:
        scim.bulk.MAX_REFERENCE_DEPTH = 10**9
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        settings = load_settings(database_url=url, migrate_on_start=False)
        engine = make_engine(url)
        migrate(engine)
        with session_scope(engine) as session:
            token = create_token(session, "bench-bulk", "scim")
        client = create_app(settings, engine).test_client()
        auth = {"Authorization": f"Bearer {token}"}
        config = client.get("/scim/v2/ServiceProviderConfig", headers=auth).json
        n = args.operations or config["bulk"]["maxOperations"]
        depth = args.chain or MAX_REFERENCE_DEPTH
        for name, operations in (("flat", flat(n)), ("chain", chain(depth)), ("star", star(n)),
                                 ("chain+1", chain(depth + 1))):
            body = {"schemas": [BULK_REQUEST], "Operations": operations}
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.post("/scim/v2/Bulk", json=body, headers=auth)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            statuses = sorted({op["status"] for op in (response.json or {}).get("Operations", [])})
            print(f"{name:8} ops={len(operations):5} http={response.status_code} statuses={statuses} "
                  f"wall={wall:6.2f}s cpu={cpu:6.2f}s bytes={len(json.dumps(body))}")
        engine.dispose()
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
