"""Soak benchmark: mixed traffic from 50 simulated users for 30 minutes against `interdict serve` on PostgreSQL.

Issue 16 §2: "30 minutes of mixed traffic (searches, creates, updates, sharing changes, alerts, uploads) from 50
simulated users against `interdict serve` on PostgreSQL: error rate 0, p95 latencies and memory reported at the
start and the end (no growth beyond 10 %)."

1. A scratch PostgreSQL database gets the reference data, the demo organisations, ``--incidents`` incidents (the bulk
   path of imports and the demo), ``--users`` users with an API token each — an administrator, then officers of the
   provincial units and of the Cambodian partner, analysts of the anti-smuggling department and PCU analysts — and
   a sharing group of the Vietnamese, Cambodian and Lao administrations.
2. A real `interdict serve` (``--workers`` uvicorn processes) with every background worker on, as in production:
   linkage, watch, alerts, notices, delivery, and the jobs worker process.
3. Each user creates a watch rule through the API (some for the whole unit), so incidents raise notifications.
4. Each user is a thread looping over a weighted mix, with a think time of ``--think`` seconds between actions:
   searches (GET with filters and free text, POST /search with a filter tree), reading an incident, creating one
   (the demo generator on the real reference data; some as drafts), updating one of the unit's incidents (PATCH with
   the version it read), submitting a draft, changing an incident's sharing, issuing a rapid alert to other units,
   acknowledging and answering alerts, listing, reading and acknowledging notifications, uploading a small CSV
   incident import or (PCU analysts) a small XLSX targeting manifest and polling the job until it is done, and
   loading a page of the web UI with a session.
5. Every request is recorded: kind, status, latency. An error is a 5xx, a transport error, a failed job, or a 4xx
   that is not the legitimate answer. Legitimate, counted apart: 409 of the optimistic lock ("changed since you
   opened it") when two users edit one incident ("conflict"), and 404 of an incident or notification that another
   user's sharing change took out of the reader's sight between listing and opening it ("gone").
6. Memory: the RSS of the server's process tree (the server, its uvicorn workers, the job worker process) every
   10 s. Start = mean over [``--warmup``, ``--warmup`` + ``--rss-window``) minutes, end = mean over the last
   ``--rss-window`` minutes. Latencies p50/p95 per kind over the first ``--latency-window`` minutes after the warm-up
   and the last ``--latency-window`` minutes. Tracebacks in the server's log (background workers) count as errors.

    .venv/bin/python bench/bench_soak.py                                        # 30 minutes, 50 users
    .venv/bin/python bench/bench_soak.py --minutes 4 --users 10 --warmup 1 --rss-window 1 --latency-window 1

Targets: error rate 0; RSS growth from start to end <= 10 %. ``--tracemalloc`` traces allocations in the server
processes (slower; for diagnosis of a growth) and prints the biggest growth between the start and the end.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_SECRET,
    PASSWORD,
    PG_ADMIN_URL,
    console,
    create_orgs_and_users,
    header,
    loadavg,
    prepare_schema,
    process_tree,
    rss_kib,
    scratch_dir,
    scratch_pg,
    serve,
    summary_ms,
    table,
    verdict,
    wait_idle,
)
from bench_import import MAX_PARTIES, MAX_SUBSTANCES, _write_part
from bench_upload_job import SEARCHES, generate_incidents, write_manifest

TARGET_GROWTH = 0.10
OFFICER_UNITS = ["VNC-HP", "VNC-HCM", "VNC-QN", "VNC-LS", "VNC-LC", "VNC-DN", "VNC-BRVT", "KHC"]
PCU_UNITS = ["VNC-PCU-HP", "VNC-PCU-HCM", "VNC-PCU-DN", "VNC-PCU-BRVT"]
ALERT_UNITS = [u for u in OFFICER_UNITS + PCU_UNITS + ["VNC-ASID"] if u != "KHC"]
GROUP = "SOAK-MEKONG"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOAK_NOTE = "\n\n[soak] "
WEB_PAGES = ["/dashboard", "/incidents", "/alerts", "/notifications"]

# Filter trees for POST /search (the shared filter language) and the watch rules users create.
FILTERS: list[dict[str, Any]] = [
    {"all": [{"field": "type", "op": "eq", "value": "seizure"}, {"field": "route_country", "op": "eq", "value": "CN"}]},
    {"field": "substance_class", "op": "eq", "value": "precursor-fentanyl"},
    {"any": [{"field": "port", "op": "eq", "value": "VNHPH"}, {"field": "port", "op": "eq", "value": "VNCLI"}]},
    {
        "all": [
            {"field": "substance", "op": "eq", "value": "P2P"},
            {"not": {"field": "country", "op": "eq", "value": "KH"}},
        ]
    },
    {"field": "company", "op": "contains", "value": "trading"},
    {"field": "hs_code", "op": "contains", "value": "2915"},
]
RULES: list[dict[str, Any]] = [
    {"field": "port", "op": "eq", "value": "VNHPH"},
    {
        "all": [
            {"field": "substance_class", "op": "eq", "value": "precursor-fentanyl"},
            {"field": "route_country", "op": "eq", "value": "CN"},
        ]
    },
    {"field": "substance", "op": "eq", "value": "P2P"},
    {"field": "company", "op": "contains", "value": "tianhe"},
    {"field": "text", "op": "match", "value": "laboratory"},
    {"all": [{"field": "type", "op": "eq", "value": "seizure"}, {"field": "country", "op": "eq", "value": "VN"}]},
]


# --- the simulated users -----------------------------------------------------------------------


@dataclass
class Person:
    username: str
    role: str  # officer, analyst, admin
    kind: str  # officer, analyst, pcu, admin
    unit: str
    token: str = ""


def plan_people(n: int) -> list[Person]:
    """One administrator; then, of every ten users, six officers, two analysts and two PCU analysts."""
    people = [Person("soak.admin", "admin", "admin", "VNC-ASID")]
    pattern = ["officer"] * 6 + ["analyst"] * 2 + ["pcu"] * 2
    counts: collections.Counter[str] = collections.Counter()
    for i in range(1, n):
        kind = pattern[(i - 1) % len(pattern)]
        k = counts[kind]
        counts[kind] += 1
        if kind == "officer":
            people.append(Person(f"soak.officer{i:02d}", "officer", kind, OFFICER_UNITS[k % len(OFFICER_UNITS)]))
        elif kind == "analyst":
            people.append(Person(f"soak.analyst{i:02d}", "analyst", kind, "VNC-ASID"))
        else:
            people.append(Person(f"soak.pcu{i:02d}", "analyst", kind, PCU_UNITS[k % len(PCU_UNITS)]))
    return people


def create_people(url: str, people: list[Person]) -> None:
    """The users and their API tokens, and the sharing group (created by the administrator)."""
    from interdict.accounts import service as accounts
    from interdict.accounts.schemas import TokenCreate, UserCreate
    from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
    from interdict.sharing import groups
    from interdict.sharing.schemas import SharingGroupCreate

    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        for p in people:
            user = accounts.create_user(
                s,
                UserCreate.model_validate(
                    {
                        "username": p.username,
                        "full_name": f"Soak {p.kind} {p.username}",
                        "role": p.role,
                        "org_code": p.unit,
                        "password": PASSWORD,
                    }
                ),
            )
            scopes = ["read", "write", "admin"] if p.role == "admin" else ["read", "write"]
            p.token, _ = accounts.create_api_token(
                s, user, TokenCreate(name="soak", scopes=scopes), pepper=BENCH_SECRET
            )
        admin = accounts.subject_by_username(s, people[0].username, channel="cli")
        groups.create_group(
            s,
            admin,
            SharingGroupCreate(code=GROUP, name="Soak Mekong partners", members=["VNC", "KHC", "LAC"]),
        )
    engine.dispose()


def write_import_files(url: str, tmp: Path, files: int, rows: int, seed: int) -> list[bytes]:
    """Small CSV imports in the documented format (the export code path, as bench_import.py writes them)."""
    from interdict.incidents import importexport

    cols = importexport.export_columns(MAX_SUBSTANCES, MAX_PARTIES)
    out = []
    for i in range(files):
        part = tmp / f"import{i}.part"
        _write_part(url, str(part), i * rows, rows, seed + i, False)
        head = io.StringIO()
        csv.writer(head).writerow(cols)
        out.append(head.getvalue().encode() + part.read_bytes())
    return out


@dataclass
class Sample:
    t: float  # seconds since the start of the run
    kind: str
    status: int  # 0: transport error
    latency: float
    outcome: str  # ok, conflict, gone, error


@dataclass
class Shared:
    base: str
    index: Any  # the reference index (for generating incidents)
    imports: list[bytes]
    manifests: list[bytes]
    think: tuple[float, float]
    t0: float
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    jobs: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, latency: float, outcome: str, detail: str = "") -> None:
        with self.lock:
            self.samples.append(Sample(time.perf_counter() - self.t0, kind, status, latency, outcome))
            if outcome == "error" and len(self.failures) < 50:
                self.failures.append(f"{kind} -> {status or 'transport error'}: {detail[:400]}")


# The optimistic lock's two answers: the version sent is older than the record's (checked on reading), or another
# user's change committed between that check and this one's UPDATE (version_id_col: StaleDataError, app.py).
LOCK_MESSAGES = ("was changed since you opened it", "the record was changed by someone else meanwhile")


def version_conflict(r: httpx.Response) -> str | None:
    """The optimistic lock's answer: another user changed the incident since this one read it."""
    return "conflict" if r.status_code == 409 and any(m in r.text for m in LOCK_MESSAGES) else None


def gone(r: httpx.Response) -> str | None:
    return "gone" if r.status_code == 404 else None


class SimUser(threading.Thread):
    def __init__(self, person: Person, shared: Shared, seed: int) -> None:
        super().__init__(daemon=True, name=person.username)
        self.p, self.sh = person, shared
        self.rng = random.Random(seed)
        self.seen: collections.deque[str] = collections.deque(maxlen=50)
        self.drafts: list[tuple[str, int]] = []
        self.created = 0
        self.web: httpx.Client | None = None
        self.api = httpx.Client(base_url=shared.base, headers={"Authorization": f"Bearer {person.token}"}, timeout=120)

    # -- plumbing

    def call(
        self,
        kind: str,
        method: str,
        url: str,
        ok: tuple[int, ...] = (200,),
        legit: Callable[[httpx.Response], str | None] | None = None,
        client: httpx.Client | None = None,
        **kw: Any,
    ) -> httpx.Response | None:
        """One request, recorded; the response when its status is ``ok``, else None."""
        t = time.perf_counter()
        try:
            r = (client or self.api).request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.sh.record(kind, 0, time.perf_counter() - t, "error", f"{type(exc).__name__}: {exc}")
            return None
        dt = time.perf_counter() - t
        if r.status_code in ok:
            self.sh.record(kind, r.status_code, dt, "ok")
            return r
        outcome = legit(r) if legit else None
        self.sh.record(kind, r.status_code, dt, outcome or "error", f"{method} {url}: {r.text}")
        return None

    def actions(self) -> list[tuple[Callable[[], None], float]]:
        creates = self.p.unit in ("KHC", *OFFICER_UNITS, *PCU_UNITS)
        mix: list[tuple[Callable[[], None], float]] = [
            (self.search_get, 20),
            (self.search_post, 6),
            (self.read, 16),
            (self.update, 7 if creates else 0),
            (self.share, 3 if creates else 0),
            (self.create, 8 if creates else 0),
            (self.submit, 3 if creates else 0),
            (self.alert_issue, 2 if self.p.unit != "KHC" else 0),
            (self.alert_acknowledge, 4 if self.p.unit != "KHC" else 0),
            (self.alert_respond, 2 if self.p.unit != "KHC" else 0),
            (self.notifications, 8),
            (self.import_csv, 0.4 if creates else 0),
            (self.targeting_upload, 1.2 if self.p.kind == "pcu" else 0),
            (self.web_page, 4),
        ]
        return [(a, w) for a, w in mix if w > 0]

    def run(self) -> None:
        mix = self.actions()
        acts, weights = [a for a, _ in mix], [w for _, w in mix]
        self.sh.stop.wait(self.rng.uniform(0, self.sh.think[1]))  # users do not all start at once
        try:
            while not self.sh.stop.is_set():
                action = self.rng.choices(acts, weights)[0]
                try:
                    action()
                except Exception as exc:  # a bug of this script: say so, do not kill the user
                    self.sh.record(action.__name__, 0, 0.0, "error", f"client exception {type(exc).__name__}: {exc}")
                self.sh.stop.wait(self.rng.uniform(*self.sh.think))
        finally:
            self.api.close()
            if self.web is not None:
                self.web.close()

    # -- searches and reads

    def _remember(self, r: httpx.Response | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = r.json()["items"] if r is not None else []
        self.seen.extend(i["id"] for i in items)
        return items

    def search_get(self) -> None:
        params: dict[str, Any] = {"page_size": 25, "sort": "-incident_date", **self.rng.choice(SEARCHES)}
        if self.rng.random() < 0.2:
            params["date_from"] = f"202{self.rng.randrange(3, 6)}-0{self.rng.randrange(1, 10)}-01"
        self._remember(self.call("search.get", "GET", "/api/v1/incidents", params=params))

    def search_post(self) -> None:
        body: dict[str, Any] = {"filter": {"all": [self.rng.choice(FILTERS)]}, "page_size": 25}
        if self.rng.random() < 0.3:
            body["q"] = self.rng.choice(["laboratory", "container", "declared", "hoang"])
        self._remember(self.call("search.post", "POST", "/api/v1/incidents/search", json=body))

    def read(self) -> None:
        if not self.seen:
            return self.search_get()
        self.call("incident.read", "GET", f"/api/v1/incidents/{self.rng.choice(self.seen)}", legit=gone)

    def _own_incident(self) -> dict[str, Any] | None:
        """One of the unit's open incidents as it is now (listed, then read)."""
        r = self.call(
            "search.own",
            "GET",
            "/api/v1/incidents",
            params={"owner_org": self.p.unit, "page_size": 25, "sort": "-updated_at", "status": "submitted,updated"},
        )
        items = self._remember(r)
        if not items:
            return None
        r = self.call("incident.read", "GET", f"/api/v1/incidents/{self.rng.choice(items)['id']}", legit=gone)
        return r.json() if r is not None else None

    # -- writes

    def create(self, submit: bool | None = None) -> None:
        from interdict.demo.seed import generate_incident

        self.created += 1
        data = generate_incident(self.rng, self.sh.index, self.p.unit, self.created)
        body = data.model_dump(mode="json", exclude_none=True)
        body["submit"] = self.rng.random() < 0.75 if submit is None else submit
        r = self.call("incident.create", "POST", "/api/v1/incidents", ok=(201,), json=body)
        if r is not None:
            made = r.json()
            self.seen.append(made["id"])
            if made["status"] == "draft":
                self.drafts.append((made["id"], made["version"]))

    def update(self) -> None:
        incident = self._own_incident()
        if incident is None:
            return
        self.sh.stop.wait(self.rng.uniform(0.2, 1.5))  # the officer edits the form
        narrative = (incident.get("narrative") or "").split(SOAK_NOTE)[0]
        note = f"{SOAK_NOTE}checked by {self.p.username} at {time.strftime('%H:%M:%S')}"
        body: dict[str, Any] = {"version": incident["version"], "narrative": narrative + note}
        if self.rng.random() < 0.3:
            body["case_reference"] = f"SOAK-{self.rng.randrange(10_000)}"
        self.call("incident.update", "PATCH", f"/api/v1/incidents/{incident['id']}", json=body, legit=version_conflict)

    def submit(self) -> None:
        if not self.drafts:
            return self.create(submit=False)
        incident_id, version = self.drafts.pop(self.rng.randrange(len(self.drafts)))
        self.call(
            "incident.submit",
            "POST",
            f"/api/v1/incidents/{incident_id}/submit",
            json={"version": version},
            legit=version_conflict,
        )

    def share(self) -> None:
        incident = self._own_incident()
        if incident is None:
            return
        distribution = self.rng.choices(["national", "all", "group", "organisation", "unit"], [4, 3, 2, 1, 0.5])[0]
        body = {
            "version": incident["version"],
            "distribution": distribution,
            "sharing_group": GROUP if distribution == "group" else None,
            "tlp": self.rng.choices(["GREEN", "AMBER", "CLEAR", "AMBER+STRICT"], [3, 4, 1, 1])[0],
            "share_nominal": self.rng.random() < 0.3,
        }
        self.call(
            "incident.share", "POST", f"/api/v1/incidents/{incident['id']}/sharing", json=body, legit=version_conflict
        )

    # -- rapid alerts

    def alert_issue(self) -> None:
        from interdict.demo.seed import container_number

        n = self.rng.randrange(100_000)
        others = [u for u in ALERT_UNITS if u != self.p.unit]
        body = {
            "subject": f"Soak alert {n}: container expected at Hai Phong",
            "urgency": self.rng.choices(["routine", "urgent", "immediate"], [5, 3, 1])[0],
            "body": "Suspected precursor shipment declared as industrial chemicals; inspect on arrival.",
            "vessel_name": f"SOAK CARRIER {n % 40}",
            "containers": [container_number(self.rng)],
            "companies": [f"Soak Trading {n % 300} Co., Ltd"],
            "route": [{"locode": "CNSHA"}, {"locode": "VNHPH"}],
            "addressees": self.rng.sample(others, self.rng.randint(1, 3)),
            "tlp": "AMBER",
        }
        self.call("alert.issue", "POST", "/api/v1/alerts", ok=(201,), json=body)

    def _open_alerts(self, **params: Any) -> list[dict[str, Any]]:
        r = self.call(
            "alert.list",
            "GET",
            "/api/v1/alerts",
            params={"addressed_to_me": "true", "status": "issued", "page_size": 10, **params},
        )
        return r.json()["items"] if r is not None else []

    def alert_acknowledge(self) -> None:
        items = self._open_alerts(unacknowledged="true")
        if items:
            alert = self.rng.choice(items)
            self.call("alert.read", "GET", f"/api/v1/alerts/{alert['id']}")
            self.call("alert.acknowledge", "POST", f"/api/v1/alerts/{alert['id']}/acknowledge")

    def alert_respond(self) -> None:
        items = self._open_alerts()
        if items:
            alert = self.rng.choice(items)
            text = f"{self.p.unit}: container will be inspected on arrival ({self.p.username})."
            self.call(
                "alert.respond", "POST", f"/api/v1/alerts/{alert['id']}/responses", ok=(201,), json={"text": text}
            )

    # -- notifications

    def notifications(self) -> None:
        params = {"limit": 20, "unread_only": "true" if self.rng.random() < 0.5 else "false"}
        r = self.call("notification.list", "GET", "/api/v1/notifications", params=params)
        items = r.json()["items"] if r is not None else []
        unread = [i["id"] for i in items if not i["read"]]
        if unread and self.rng.random() < 0.6:
            self.call("notification.read", "POST", "/api/v1/notifications/read", json={"ids": unread[:5]})
        open_ = [i["id"] for i in items if not i["acknowledged"]]
        if open_ and self.rng.random() < 0.4:
            nid = self.rng.choice(open_)
            self.call("notification.acknowledge", "POST", f"/api/v1/notifications/{nid}/acknowledge", legit=gone)

    # -- uploads (background jobs)

    def _wait_job(self, kind: str, r: httpx.Response | None) -> None:
        if r is None:
            return
        url = r.headers["location"]
        while not self.sh.stop.is_set():
            self.sh.stop.wait(2.0)
            polled = self.call("job.poll", "GET", url)
            if polled is None:
                return
            job = polled.json()
            if job["status"] == "done":
                res = job["result"] or {}
                with self.sh.lock:
                    self.sh.jobs[f"{kind} done"] += 1
                    for key in ("rows", "imported", "rejected", "loaded"):
                        self.sh.jobs[f"{kind} {key}"] += int(res.get(key) or 0)
                return
            if job["status"] == "failed":
                self.sh.record(f"{kind}.job", 200, 0.0, "error", f"job failed: {job['error']} {job['result']}")
                return

    def import_csv(self) -> None:
        content = self.rng.choice(self.sh.imports)
        files = {"file": ("soak-import.csv", content, "text/csv")}
        r = self.call(
            "import.upload",
            "POST",
            "/api/v1/incidents/import",
            ok=(202,),
            files=files,
            data={"skip_invalid": "true"},
        )
        self._wait_job("import", r)

    def targeting_upload(self) -> None:
        content = self.rng.choice(self.sh.manifests)
        r = self.call(
            "targeting.upload",
            "POST",
            "/api/v1/targeting/batches",
            ok=(202,),
            files={"file": ("manifest.xlsx", content, XLSX)},
            data={"mapping": "generic-manifest", "batch_name": f"SOAK {self.p.unit} {self.rng.randrange(5)}"},
        )
        self._wait_job("targeting", r)

    # -- the web UI

    def web_page(self) -> None:
        if self.web is None:
            web = httpx.Client(base_url=self.sh.base, timeout=120)
            r = self.call("web.page", "GET", "/login", client=web)
            found = re.search(r'name="csrf_token" value="([^"]+)"', r.text if r is not None else "")
            form = {"username": self.p.username, "password": PASSWORD, "next": "/dashboard"}
            form["csrf_token"] = found.group(1) if found else ""
            if self.call("web.login", "POST", "/login", ok=(303,), client=web, data=form) is None:
                web.close()
                return
            self.web = web
        self.call("web.page", "GET", self.rng.choice(WEB_PAGES), client=self.web)


def create_rules(base: str, people: list[Person]) -> None:
    """Each user watches something (analysts of a unit for the whole unit): incidents then raise notifications."""
    for i, p in enumerate(people):
        scope = "unit" if p.role in ("analyst", "admin") and i % 3 == 0 else "user"
        body = {"name": f"soak rule {i}", "scope": scope, "filter": RULES[i % len(RULES)], "urgency": "routine"}
        r = httpx.post(
            f"{base}/api/v1/watch/rules", json=body, headers={"Authorization": f"Bearer {p.token}"}, timeout=600
        )
        if r.status_code != 201:
            raise RuntimeError(f"watch rule of {p.username}: {r.status_code} {r.text[:300]}")


# --- memory and load sampling ------------------------------------------------------------------


@dataclass
class MemSample:
    t: float
    total_mib: float
    per_process: dict[int, float]


class Sampler(threading.Thread):
    """RSS of the server's process tree every ``every`` seconds, and the 1-minute load average."""

    def __init__(self, pid: int, t0: float, stop: threading.Event, every: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.t0, self.stop, self.every = pid, t0, stop, every
        self.mem: list[MemSample] = []
        self.load: list[float] = []
        self.names: dict[int, str] = {}

    def sample(self) -> None:
        per = {pid: rss_kib(pid) / 1024 for pid in process_tree(self.pid)}
        for pid in per:
            self.names.setdefault(pid, describe(pid))
        self.mem.append(MemSample(time.perf_counter() - self.t0, sum(per.values()), per))
        self.load.append(float(loadavg().split()[0]))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every)


def describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"pid {pid} (gone)"
    markers = (("jobs run", "job worker"), ("resource_tracker", "resource tracker"), ("spawn_main", "uvicorn worker"))
    for marker, name in (*markers, ("serve", "serve")):
        if marker in cmd:
            return f"pid {pid} ({name})"
    return f"pid {pid} ({cmd[:60]})"


# --- tracemalloc in the server processes (diagnosis only) --------------------------------------

TRACE_HOOK = """
import os, threading, time, tracemalloc
_dir = os.environ.get("SOAK_TRACEMALLOC_DIR")
if _dir:
    tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "8")))
    def _dump():
        n = 0
        while True:
            time.sleep(float(os.environ.get("SOAK_TRACEMALLOC_EVERY", "60")))
            tracemalloc.take_snapshot().dump(os.path.join(_dir, f"{os.getpid()}-{n:04d}.snap"))
            n += 1
    threading.Thread(target=_dump, daemon=True).start()
"""


def tracemalloc_report(snap_dir: Path, every: float, start_s: float) -> None:
    """Per traced process: the biggest growth between the snapshot at ``start_s`` and the last one."""
    import tracemalloc

    by_pid: dict[str, list[Path]] = collections.defaultdict(list)
    for f in sorted(snap_dir.glob("*.snap")):
        by_pid[f.name.split("-")[0]].append(f)
    for pid, files in by_pid.items():
        first = files[min(len(files) - 1, max(0, int(start_s / every) - 1))]
        if first == files[-1]:
            continue
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib*")]
        a = tracemalloc.Snapshot.load(str(first)).filter_traces(ignore)
        b = tracemalloc.Snapshot.load(str(files[-1])).filter_traces(ignore)
        total = sum(s.size for s in b.statistics("filename")) - sum(s.size for s in a.statistics("filename"))
        console.print(
            f"[bold]tracemalloc, pid {pid}[/]: {first.name} -> {files[-1].name}, traced {total / 2**20:+.1f} MiB"
        )
        for stat in b.compare_to(a, "traceback")[:8]:
            if stat.size_diff <= 0:
                break
            console.print(f"  {stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+d} blocks")
            for line in stat.traceback.format()[-8:]:
                console.print(f"    {line}", highlight=False)


# --- the run and its report --------------------------------------------------------------------


def window(samples: list[Sample], start_s: float, end_s: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = collections.defaultdict(list)
    for s in samples:
        if start_s <= s.t < end_s and s.outcome != "error":
            out[s.kind].append(s.latency)
    return out


def report(
    args: argparse.Namespace, sh: Shared, sampler: Sampler, duration: float, log: Path, people: list[Person]
) -> bool:
    samples = sh.samples
    warm, lat_w, rss_w = args.warmup * 60, args.latency_window * 60, args.rss_window * 60
    first = window(samples, warm, warm + lat_w)
    last = window(samples, duration - lat_w, duration + 1)
    kinds = sorted({s.kind for s in samples})
    outcomes = {k: collections.Counter(s.outcome for s in samples if s.kind == k) for k in kinds}
    rows = []
    for k in kinds:
        a, b = first.get(k, []), last.get(k, [])
        sa, sb = (summary_ms(a) if a else None), (summary_ms(b) if b else None)
        o = outcomes[k]
        rows.append(
            [
                k,
                sum(o.values()),
                o["conflict"] or "",
                o["gone"] or "",
                o["error"] or "",
                f"{sa['p50']:.0f}" if sa else "-",
                f"{sa['p95']:.0f}" if sa else "-",
                f"{sb['p50']:.0f}" if sb else "-",
                f"{sb['p95']:.0f}" if sb else "-",
            ]
        )
    all_a = [v for vs in first.values() for v in vs]
    all_b = [v for vs in last.values() for v in vs]
    total = collections.Counter(s.outcome for s in samples)
    if all_a and all_b:
        sa, sb = summary_ms(all_a), summary_ms(all_b)
        rows.append(
            [
                "all",
                len(samples),
                total["conflict"],
                total["gone"],
                total["error"],
                *(f"{v:.0f}" for v in (sa["p50"], sa["p95"], sb["p50"], sb["p95"])),
            ]
        )
    table(
        f"requests per kind; latency ms over minutes {args.warmup:g}-{args.warmup + args.latency_window:g} (start) "
        f"and the last {args.latency_window:g} (end)",
        ["kind", "n", "conflict", "gone", "errors", "p50 start", "p95 start", "p50 end", "p95 end"],
        rows,
    )

    tracebacks = log.read_text(errors="replace").count("Traceback (most recent call last)")
    errors = total["error"] + tracebacks
    error_rate = errors / max(1, len(samples))
    for f in sh.failures[:8]:
        console.print(f"[red]error[/] {f}", highlight=False)
    if tracebacks:
        text = log.read_text(errors="replace")
        at = text.index("Traceback (most recent call last)")
        console.print(
            f"[red]{tracebacks} traceback(s) in the server log[/]; the first:\n{text[max(0, at - 300) : at + 3000]}"
        )

    mem = sampler.mem
    start_m = [m.total_mib for m in mem if warm <= m.t < warm + rss_w]
    end_m = [m.total_mib for m in mem if m.t >= duration - rss_w]
    rss_start = statistics.mean(start_m) if start_m else float("nan")
    rss_end = statistics.mean(end_m) if end_m else float("nan")
    growth = rss_end / rss_start - 1 if start_m and end_m else float("nan")
    procs = sorted({pid for m in mem for pid in m.per_process})
    per_rows = []
    for pid in procs:
        a = [m.per_process[pid] for m in mem if warm <= m.t < warm + rss_w and pid in m.per_process]
        b = [m.per_process[pid] for m in mem if m.t >= duration - rss_w and pid in m.per_process]
        peak = max(m.per_process.get(pid, 0) for m in mem)
        per_rows.append(
            [
                sampler.names[pid],
                f"{statistics.mean(a):.0f}" if a else "-",
                f"{statistics.mean(b):.0f}" if b else "-",
                f"{peak:.0f}",
            ]
        )
    table("RSS per process of the server's tree (MiB)", ["process", "start", "end", "peak"], per_rows)
    series = ", ".join(f"{m.total_mib:.0f}" for m in mem[:: max(1, len(mem) // 30)])
    console.print(f"tree RSS series (MiB, ~every {duration / max(1, min(30, len(mem))):.0f} s): {series}")

    kinds_done = {k: sum(outcomes[k].values()) for k in kinds}
    load = sampler.load
    table(
        f"soak: {len(people)} users, {duration / 60:.1f} min, {args.workers} worker(s), think {args.think[0]:g}-{args.think[1]:g} s",
        ["measure", "value"],
        [
            ["requests", f"{len(samples):,} ({len(samples) / duration:.1f}/s)"],
            ["errors (requests, failed jobs, server tracebacks)", f"{total['error']} + {tracebacks}"],
            ["error rate", f"{error_rate:.4%}"],
            ["version conflicts (409 of the optimistic lock)", total["conflict"]],
            ["gone (404 after another user's sharing change)", total["gone"]],
            ["jobs", ", ".join(f"{k} {v:,}" for k, v in sorted(sh.jobs.items())) or "-"],
            [
                "incidents created / updated / shared",
                f"{kinds_done.get('incident.create', 0)} / "
                f"{kinds_done.get('incident.update', 0)} / {kinds_done.get('incident.share', 0)}",
            ],
            [f"tree RSS start (mean, min {args.warmup:g}-{args.warmup + args.rss_window:g}) MiB", f"{rss_start:.0f}"],
            [f"tree RSS end (mean, last {args.rss_window:g} min) MiB", f"{rss_end:.0f}"],
            ["RSS growth", f"{growth:+.1%}"],
            [
                "1-min load average during the run: min / mean / max",
                f"{min(load):.2f} / {statistics.mean(load):.2f} / {max(load):.2f}" if load else "?",
            ],
        ],
    )
    ok_errors, ok_growth = errors == 0, growth <= TARGET_GROWTH
    console.print(f"error rate 0: {verdict(ok_errors)}   RSS growth <= {TARGET_GROWTH:.0%}: {verdict(ok_growth)}")
    return ok_errors and ok_growth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="duration of the traffic (default 30)")
    ap.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    ap.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 4.0),
        metavar=("MIN", "MAX"),
        help="think time between a user's actions, seconds (default 2 4)",
    )
    ap.add_argument("--incidents", type=int, default=3000, help="incidents in the database at the start")
    ap.add_argument("--warmup", type=float, default=3.0, help="minutes before the start figures (default 3)")
    ap.add_argument("--rss-window", type=float, default=2.0, help="minutes averaged for RSS start and end (default 2)")
    ap.add_argument("--latency-window", type=float, default=5.0, help="minutes of the start and end latencies")
    ap.add_argument("--import-rows", type=int, default=20, help="rows of each CSV import (default 20)")
    ap.add_argument("--manifest-rows", type=int, default=300, help="rows of each XLSX targeting upload (default 300)")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--pg", default=PG_ADMIN_URL)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database and directory")
    ap.add_argument("--wait-idle", type=float, metavar="LOAD", help="first wait until the 1-min load average < LOAD")
    ap.add_argument(
        "--tracemalloc",
        type=float,
        metavar="SECONDS",
        help="trace allocations in the server processes, a snapshot every SECONDS (slow; diagnosis)",
    )
    args = ap.parse_args()

    header(f"soak: {args.users} users, {args.minutes:g} minutes of mixed traffic, PostgreSQL")
    wait_idle(args.wait_idle)
    with (
        scratch_pg("interdict_bench_soak", keep=args.keep, admin_url=args.pg) as url,
        scratch_dir("bench-soak", keep=args.keep) as tmp,
    ):
        from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
        from interdict.reference.catalogue import get_index

        t = time.perf_counter()
        prepare_schema(url)
        create_orgs_and_users(url)
        people = plan_people(args.users)
        create_people(url, people)
        generate_incidents(url, args.incidents, args.seed)
        imports = write_import_files(url, tmp, 8, args.import_rows, args.seed)
        manifests = []
        for i in range(4):
            write_manifest(tmp / f"manifest{i}.xlsx", args.manifest_rows, args.seed + i)
            manifests.append((tmp / f"manifest{i}.xlsx").read_bytes())
        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as s:
            index = get_index(s)
        engine.dispose()
        kinds = collections.Counter(p.kind for p in people)
        console.print(
            f"set up in {time.perf_counter() - t:.0f} s: {args.incidents:,} incidents, users "
            + ", ".join(f"{v} {k}" for k, v in kinds.items())
        )

        env = {"INTERDICT_LINKAGE_WORKER": "true", "INTERDICT_WATCH_WORKER": "true"}
        if args.tracemalloc:
            (tmp / "hook").mkdir()
            (tmp / "hook" / "sitecustomize.py").write_text(TRACE_HOOK)
            (tmp / "snaps").mkdir()
            env |= {
                "PYTHONPATH": str(tmp / "hook"),
                "SOAK_TRACEMALLOC_DIR": str(tmp / "snaps"),
                "SOAK_TRACEMALLOC_EVERY": str(args.tracemalloc),
            }
        (tmp / "data").mkdir()
        log = tmp / "server.log"
        interrupted = False
        with serve(tmp / "data", url, workers=args.workers, log=log, timeout=600, extra_env=env) as server:
            create_rules(server.url, people)
            t0 = time.perf_counter()
            sh = Shared(server.url, index, imports, manifests, tuple(args.think), t0)  # type: ignore[arg-type]
            sampler = Sampler(server.proc.pid, t0, sh.stop)
            sampler.start()
            users = [SimUser(p, sh, args.seed * 1000 + i) for i, p in enumerate(people)]
            for u in users:
                u.start()
            console.print(f"load average at the start of the traffic: {loadavg()}")
            deadline = t0 + args.minutes * 60
            try:
                while time.perf_counter() < deadline:
                    time.sleep(min(60.0, max(0.0, deadline - time.perf_counter())))
                    elapsed = time.perf_counter() - t0
                    errs = sum(1 for s in sh.samples if s.outcome == "error")
                    rss = sampler.mem[-1].total_mib if sampler.mem else float("nan")
                    console.print(
                        f"{elapsed / 60:5.1f} min: {len(sh.samples):,} requests, {errs} errors, "
                        f"tree RSS {rss:.0f} MiB, load {loadavg()}"
                    )
            except KeyboardInterrupt:
                interrupted = True
                console.print("[yellow]interrupted: stopping the users[/]")
            sh.stop.set()
            duration = time.perf_counter() - t0
            for u in users:
                u.join(timeout=150)
            sampler.join()
            sampler.sample()  # the tree once more before it stops
        ok = report(args, sh, sampler, duration, log, people)
        if args.tracemalloc:
            tracemalloc_report(tmp / "snaps", args.tracemalloc, (args.warmup + args.rss_window) * 60)
        return 0 if ok and not interrupted else 1


if __name__ == "__main__":
    raise SystemExit(main())
