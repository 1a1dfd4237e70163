"""Benchmark: `interdict audit verify` over a long audit trail on PostgreSQL.

1. A scratch PostgreSQL database (schema only) gets ``--entries`` (1,000,000) chained audit entries of
   realistic shape (actors, actions, incident references, small before/after documents), computed with
   the trail's own hash function and written with COPY; the chain head is set to the last entry.
2. ``interdict audit verify`` runs as a child process; wall time (spawn to exit) and peak RSS are
   measured, and the exit status must say the trail is intact.

Target: < 60 s for 1,000,000 entries.

    .venv/bin/python bench/bench_audit_verify.py                   # 1,000,000 entries
    .venv/bin/python bench/bench_audit_verify.py --entries 50000   # quick run
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    INTERDICT,
    PG_ADMIN_URL,
    console,
    header,
    loadavg,
    scratch_dir,
    scratch_pg,
    server_env,
    table,
    verdict,
    wait_idle,
)

TARGET_S = 60.0
ACTIONS = [
    "incident.create",
    "incident.update",
    "incident.submit",
    "incident.read_nominal",
    "incident.share",
    "auth.login",
    "incident.export",
]


def fill(url: str, n: int, seed: int) -> float:
    """Write ``n`` chained entries with COPY (hashes from interdict.audit.service.entry_hash)."""
    from psycopg.types.json import Json
    from sqlalchemy import text

    from interdict.audit.models import GENESIS
    from interdict.audit.service import entry_hash
    from interdict.core import migrate
    from interdict.core.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(seed)
    users = [(uuid.uuid4(), f"officer{i}", uuid.uuid4()) for i in range(200)]
    t0 = time.perf_counter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS
    cols = ["seq", "at", "actor_user_id", "actor_username", "actor_org_id", "channel", "ip", "action"]
    cols += ["object_type", "object_id", "object_label", "summary", "before", "after", "prev_hash", "hash"]
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY audit_entries ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for seq in range(1, n + 1):
                uid, name, org = rng.choice(users)
                action = rng.choice(ACTIONS)
                ref = f"VNC-HP-2026-{rng.randrange(1, 99999):05d}"
                changed = action in ("incident.update", "incident.share")
                row = {
                    "seq": seq,
                    "at": start + timedelta(seconds=seq * 7, microseconds=rng.randrange(1_000_000)),
                    "actor_user_id": uid,
                    "actor_username": name,
                    "actor_org_id": org,
                    "channel": rng.choice(["web", "api", "cli"]),
                    "ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
                    "action": action,
                    "object_type": "incident",
                    "object_id": str(uuid.uuid4()),
                    "object_label": ref,
                    "summary": "narrative" if changed else "",
                    "before": {"narrative": "Declared as acetic acid."} if changed else None,
                    "after": {"narrative": "Field test: acetic anhydride, 1,200 L."} if changed else None,
                    "prev_hash": prev,
                }
                row["hash"] = prev = entry_hash(row)
                copy.write_row(
                    [Json(row[c]) if c in ("before", "after") and row[c] is not None else row[c] for c in cols]
                )
        conn.execute(text("UPDATE audit_head SET last_seq = :n, last_hash = :h WHERE id = 1"), {"n": n, "h": prev})
        conn.execute(text("ANALYZE audit_entries"))
    engine.dispose()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--wait-idle", type=float, metavar="LOAD")
    args = ap.parse_args()
    header(f"interdict audit verify over {args.entries} entries (PostgreSQL)")
    with scratch_pg("interdict_bench_audit", admin_url=args.pg) as url, scratch_dir("interdict-bench-audit") as d:
        dt = fill(url, args.entries, args.seed)
        console.print(f"wrote {args.entries} chained entries in {dt:.1f} s")
        wait_idle(args.wait_idle)
        load_before = loadavg()
        env = server_env(d, url)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [INTERDICT, "audit", "verify"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out = proc.stdout.read().decode() if proc.stdout else ""
        load_after = loadavg()
    code = os.waitstatus_to_exitcode(status)
    rss_mib = usage.ru_maxrss / 1024
    table(
        f"interdict audit verify — {args.entries} entries",
        ["metric", "value"],
        [
            ["exit status", code],
            ["output", out.strip()[:80]],
            ["wall time (s)", wall],
            ["entries/s", args.entries / wall],
            ["peak RSS (MiB)", rss_mib],
            ["load average before / after", f"{load_before} / {load_after}"],
        ],
    )
    target = TARGET_S * args.entries / 1_000_000
    ok_time, ok_intact = wall < target, code == 0 and "intact" in out
    console.print(f"target < {target:.0f} s: {verdict(ok_time)}; trail reported intact: {verdict(ok_intact)}")
    return 0 if ok_time and ok_intact else 1


if __name__ == "__main__":
    raise SystemExit(main())
