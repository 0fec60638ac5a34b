"""The roll-call save under load: 50 teachers at once, each saving their own session again and again,
against gunicorn and PostgreSQL on this machine (16:10 in a large school). Prints p50/p95 latency.

The load comes from a pool of 50 threads in this process, one keep-alive HTTP connection each
(``http.client``), not from locust: it needs no extra packages, and on a two-core machine locust's
single gevent process would compete for the same cores in the same way. Each teacher first takes
the roll of a session nobody has marked yet (all present, two late), then alternates between saving
the same sheet again (idempotent: nothing changes) and a real change (a child late <-> present).

Three runs: one teacher alone (the latency without load); the 50 at once with no pause between
saves (the server saturated: latency is mostly queueing, throughput is the capacity); the 50 at
once with 2–10 s between saves, as people tapping on phones would.

Needs PostgreSQL (``BENCH_POSTGRES_URL``, default postgres@127.0.0.1:5432, database
``aftercare_bench``, created and seeded with ``seed_demo --size large --history-days 90`` on the first
run) and uses Redis for the cache (``BENCH_REDIS_URL``); without PostgreSQL it says so and stops.
"""

import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path

from bench.common import setup_django
from bench.rollcall import HISTORY_DAYS, form_fields, reset_roll

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/aftercare_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TEACHERS = int(os.environ.get("BENCH_TEACHERS", "50"))
SAVES_PER_TEACHER = int(os.environ.get("BENCH_SAVES", "20"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "5"))  # gunicorn's rule: 2 x cores + 1
PORT = int(os.environ.get("BENCH_PORT", "8765"))
PACED_SAVES = 6
PAUSE = (2.0, 10.0)
ROOT = Path(__file__).resolve().parent.parent


def create_database() -> bool:
    """Create the benchmark database if it is missing; False when PostgreSQL cannot be reached."""
    import psycopg

    parts = urllib.parse.urlsplit(POSTGRES_URL)
    name = parts.path.lstrip("/")
    server = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"skipped: PostgreSQL not reachable at {server} ({error})")
        return False
    return True


def prepare_sessions():
    """The day's sessions of 50 different teachers, with their roll not taken yet, and a signed-in
    session cookie for each teacher."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from aftercare.models import School
    from attendance.models import Session
    from catalogue.models import OfferingKind

    if not School.objects.filter(code="demo-1").exists():
        started = time.perf_counter()
        call_command("seed_demo", size="large", force=True, history_days=HISTORY_DAYS, verbosity=0)
        print(
            f"seeded PostgreSQL: large school, {HISTORY_DAYS} service days, in {time.perf_counter() - started:.0f} s"
        )
    school = School.objects.get(code="demo-1")
    # The latest seeded day that is not in the future (a roll-call cannot be taken ahead).
    day = (
        Session.objects.filter(
            school=school, date__lte=timezone.localdate(), teacher_attendance__isnull=False
        )
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    sessions = list(
        Session.objects.filter(school=school, date=day, offering__kind=OfferingKind.BASIC_CARE)
        .select_related("offering")
        .order_by("offering__classroom__grade", "offering__classroom__number")[: TEACHERS + 1]
    )
    user_model = get_user_model()
    plan = []
    for session in sessions:
        reset_roll(session)
        teacher = user_model.objects.get(taught_offerings=session.offering)
        client = Client()
        client.force_login(teacher)
        plan.append((session.pk, teacher.username, client.cookies["sessionid"].value))
    assert len({username for _pk, username, _cookie in plan}) == TEACHERS + 1
    # The last one saves alone first: the latency without load, for comparison.
    return day, plan[:TEACHERS], plan[TEACHERS]


def start_gunicorn() -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftercare.settings.base",
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONWARNINGS": "ignore:No directory at",  # whitenoise: no collectstatic for a bench
    }
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "aftercare.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/accounts/login/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


class Teacher:
    """One teacher on a phone: a keep-alive connection, the session cookie, the roll-call form."""

    def __init__(self, session_pk: int, username: str, cookie: str) -> None:
        self.path = f"/attendance/sessions/{session_pk}/roll-call/"
        self.username = username
        self.cookies = {"sessionid": cookie}
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)

    def request(self, method: str, body: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        encoded = None
        if body is not None:
            encoded = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, self.path, body=encoded, headers=headers)
        response = self.connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.read().decode()

    def open_sheet(self) -> dict:
        status, html = self.request("GET")
        assert status == 200, (self.username, status)
        return form_fields(html)


def run_teacher(
    teacher: Teacher,
    saves: int,
    *,
    start: threading.Barrier | None = None,
    pause: tuple[float, float] | None = None,
) -> list[tuple[str, float, int]]:
    """Open the sheet, then ``saves`` saves: alternately the same sheet again and a real change. On
    a fresh session the first save takes the roll. ``pause``: seconds to wait before each save (random)."""
    fields = teacher.open_sheet()
    fresh = int(fields["version"]) == 0
    children = sorted(key for key in fields if key.startswith("mark-"))
    sheet = dict(fields)  # as the page shows it: the stored marks, once the roll has been taken
    if fresh:
        sheet.update({**dict.fromkeys(children, "present"), children[0]: "late", children[1]: "late"})
    version = int(fields["version"])
    rng = random.Random(teacher.username)
    results = []
    if start is not None:
        start.wait()
    for round_number in range(saves):
        if pause is not None:
            time.sleep(rng.uniform(*pause))
        if round_number == 0:
            kind = "first save" if fresh else "re-save"
        elif round_number % 2:
            kind = "re-save"
        else:
            kind = "change"
            sheet[children[2]] = "late" if sheet[children[2]] == "present" else "present"
        started = time.perf_counter()
        status, _body = teacher.request("POST", {**sheet, "version": version})
        elapsed = (time.perf_counter() - started) * 1000
        results.append((kind, elapsed, status))
        if status == 302 and kind != "re-save":
            version += 1
    return results


def all_at_once(teachers: list[Teacher], saves: int, pause=None) -> tuple[list, float]:
    start = threading.Barrier(len(teachers))
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(teachers)) as pool:
        outcomes = list(pool.map(lambda t: run_teacher(t, saves, start=start, pause=pause), teachers))
    return [row for outcome in outcomes for row in outcome], time.perf_counter() - began


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    if not create_database():
        return
    os.environ["DATABASE_URL"] = POSTGRES_URL
    os.environ["REDIS_URL"] = REDIS_URL
    setup_django(POSTGRES_URL)
    day, plan, alone = prepare_sessions()
    print(
        f"{TEACHERS} teachers, each saving their own session of {day} "
        f"(gunicorn, {WORKERS} sync workers; PostgreSQL; {os.cpu_count()} cores)"
    )
    server = start_gunicorn()
    try:
        alone_rows = run_teacher(Teacher(*alone), SAVES_PER_TEACHER)
        teachers = [Teacher(*row) for row in plan]
        busy_rows, busy_wall = all_at_once(teachers, SAVES_PER_TEACHER)
        paced_rows, paced_wall = all_at_once(teachers, PACED_SAVES, pause=PAUSE)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report("one teacher alone", alone_rows, None)
    report(f"{TEACHERS} teachers at once, no pause between saves (saturation)", busy_rows, busy_wall)
    report(
        f"{TEACHERS} teachers at once, {PAUSE[0]:.0f}-{PAUSE[1]:.0f} s between saves (a phone user)",
        paced_rows,
        paced_wall,
    )


def report(title: str, rows: list[tuple[str, float, int]], wall: float | None) -> None:
    failed = [row for row in rows if row[2] != 302]
    rate = f" in {wall:.1f} s ({len(rows) / wall:.1f} saves/s)" if wall else ""
    print(f"{title}: {len(rows)} saves{rate}, {len(failed)} not saved")
    for kind in ("all", "first save", "re-save", "change"):
        samples = [elapsed for name, elapsed, _status in rows if kind in ("all", name)]
        if not samples:
            continue
        print(
            f"  {kind:10} n={len(samples):4d}  p50 {statistics.median(samples):7.1f} ms  "
            f"p95 {percentile(samples, 0.95):7.1f} ms  max {max(samples):7.1f} ms"
        )
    if failed:
        print("  statuses not saved:", sorted({status for _k, _e, status in failed}))


if __name__ == "__main__":
    main()
