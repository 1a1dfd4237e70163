"""Benchmark (robustness): Schemathesis against the whole REST API of a real `interdict serve`, for a long run
with concurrent workers, on the embedded SQLite database and on PostgreSQL.

The test suite fuzzes every operation briefly in process (tests/security/test_fuzz_api.py); this run goes
longer, over HTTP, with several Schemathesis workers at once (concurrent writes), as an analyst of the demo
organisations holding a read+write token. It counts:

* server errors: any 5xx answer (Schemathesis's ``not_a_server_error`` check, from its JUnit report);
* tracebacks and "database is locked" lines in the server's log (an error a check could miss).

Target: 0 of each, on both databases.

    .venv/bin/python bench/bench_fuzz_api.py                          # 10 minutes per database, 4 workers
    .venv/bin/python bench/bench_fuzz_api.py --db sqlite --max-time 120
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BIN,
    PG_ADMIN_URL,
    console,
    create_orgs_and_users,
    header,
    loadavg,
    prepare_schema,
    scratch_dir,
    scratch_pg,
    serve,
    table,
    verdict,
)

USER = "analyst"


@contextlib.contextmanager
def database(kind: str, data_dir: Path, admin_url: str, keep: bool) -> Iterator[str]:
    if kind == "postgresql":
        with scratch_pg("interdict_bench_fuzz", keep=keep, admin_url=admin_url) as url:
            yield url
    else:
        yield f"sqlite:///{(data_dir / 'interdict.db').as_posix()}"


def seed_incidents(base: str, token: str, index: Any, n: int) -> None:
    """A few real incidents, so that reads, updates and links have something to work on."""
    from interdict.demo.seed import generate_incident

    rng = random.Random(16)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for i in range(n):
            body = generate_incident(rng, index, "VNC-ASID", i).model_dump(mode="json", exclude_none=True)
            body["submit"] = True
            r = c.post("/api/v1/incidents", json=body)
            if r.status_code != 201:
                console.print(f"[yellow]seed incident refused[/] {r.status_code} {r.text[:200]}")


def run_database(kind: str, args: argparse.Namespace) -> dict[str, object]:
    with (
        scratch_dir(f"interdict-bench-fuzz-{kind}", keep=args.keep) as data_dir,
        database(kind, data_dir, args.pg, args.keep) as url,
    ):
        prepare_schema(url)
        token = create_orgs_and_users(url, token_user=USER)
        assert token is not None
        from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
        from interdict.reference.catalogue import get_index

        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as s:
            index = get_index(s)
        engine.dispose()
        log = data_dir / "server.log"
        with serve(data_dir, url, workers=args.workers, log=log) as srv:
            seed_incidents(srv.url, token, index, args.seed_incidents)
            schema = data_dir / "openapi.json"
            r = httpx.get(f"{srv.url}/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}, timeout=60)
            r.raise_for_status()
            schema.write_text(json.dumps(r.json()), encoding="utf-8")
            junit = data_dir / "junit.xml"
            load_before, t0 = loadavg(), time.perf_counter()
            st = subprocess.run(
                [
                    str(BIN / "st"),
                    "run",
                    str(schema),
                    "--url",
                    srv.url,
                    "-H",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error",
                    "--workers",
                    str(args.st_workers),
                    "--max-time",
                    str(args.max_time),
                    "--max-examples",
                    str(args.max_examples),
                    "--continue-on-failure",
                    "--request-timeout",
                    "120",
                    "--report",
                    "junit",
                    "--report-junit-path",
                    str(junit),
                    "--seed",
                    str(args.seed),
                ],
                capture_output=True,
                text=True,
            )
            elapsed, load_after = time.perf_counter() - t0, loadavg()
        output = st.stdout + st.stderr
        (data_dir / "schemathesis.txt").write_text(output, encoding="utf-8")
        tests = failures = 0
        failing: list[str] = []
        generator_errors: list[str] = []  # Schemathesis could not generate cases (its own error, not the server's)
        if junit.exists():
            root = ET.parse(junit).getroot()
            for case in root.iter("testcase"):
                tests += 1
                if case.find("failure") is not None:
                    failures += 1
                    failing.append(case.get("name", "?"))
                elif case.find("error") is not None:
                    generator_errors.append(case.get("name", "?"))
        server_log = log.read_text(encoding="utf-8", errors="replace")
        lines = output.splitlines()
        at = next((i for i, line in enumerate(lines) if line.strip().lower().startswith("test cases")), None)
        calls = lines[at + 1] if at is not None and at + 1 < len(lines) else ""
        return {
            "db": kind,
            "operations": tests,
            "operations with a server error": failures,
            "failing": failing,
            "generator errors": generator_errors,
            "tracebacks in the server log": server_log.count("Traceback"),
            '"database is locked" in the log': server_log.count("database is locked"),
            "summary": calls.strip(),
            "seconds": round(elapsed),
            "load": f"{load_before} / {load_after}",
            "exit": st.returncode,
            "dir": str(data_dir),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--max-time", type=int, default=600, help="seconds of fuzzing per database (default 600)")
    ap.add_argument("--max-examples", type=int, default=1000, help="examples per operation at most (default 1000)")
    ap.add_argument("--st-workers", type=int, default=4, help="concurrent Schemathesis workers (default 4)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    ap.add_argument("--seed-incidents", type=int, default=30)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases, logs and reports")
    args = ap.parse_args()

    header("Schemathesis against a real server (long run)")
    results = [run_database(kind, args) for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db])]
    rows = [
        [
            r["db"],
            r["operations"],
            r["operations with a server error"],
            len(r["generator errors"]),  # type: ignore[arg-type]
            r["tracebacks in the server log"],
            r['"database is locked" in the log'],
            r["seconds"],
            r["load"],
        ]
        for r in results
    ]
    table(
        f"{args.st_workers} Schemathesis workers, at most {args.max_examples} examples per operation",
        ["database", "operations", "failing a check", "not fuzzed", "tracebacks", "locked", "seconds", "load"],
        rows,
    )
    for r in results:
        console.print(f"{r['db']}: test cases {r['summary']}")
        for name in r["failing"][:20]:  # type: ignore[index]
            console.print(f"[red]failed check[/] {r['db']}: {name}")
        for name in r["generator errors"]:  # type: ignore[attr-defined]
            console.print(f"[yellow]not fuzzed (Schemathesis could not generate cases)[/] {r['db']}: {name}")
    ok = all(
        r["operations with a server error"] == 0
        and r["tracebacks in the server log"] == 0
        and r['"database is locked" in the log'] == 0
        and r["operations"]
        for r in results
    )
    console.print(f"target: no server error, no traceback, no lock error: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
