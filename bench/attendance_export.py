"""The term attendance export of the whole school (the children's marks, a sheet per offering) and the
teachers' attendance export, on the large school with 90 service days: time, peak memory, queries.

Runs the functions the export jobs run (attendance.exports), on bench.rollcall's database.
"""

import io
import resource
import time
import tracemalloc

from bench.rollcall import attendance_database, counted, freeze_today, history_days


def measure(label: str, build) -> bytes:
    """Time and queries of one run; then the peak of Python allocations (tracemalloc) of a second run."""
    started = time.perf_counter()
    content, queries = counted(build)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    build()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:36} {elapsed:6.1f} s   {len(queries):3d} queries   peak {peak / 2**20:6.1f} MiB (tracemalloc)   "
        f"{len(content) / 2**20:5.1f} MiB file"
    )
    return content


def main() -> None:
    attendance_database()
    from openpyxl import load_workbook

    from aftercare.models import School
    from attendance.exports import school_attendance_workbook, teachers_attendance_workbook
    from attendance.models import ChildAttendance

    school = School.objects.get(code="demo-1")
    freeze_today(school)
    term = school.terms.get()
    days = history_days(school)
    marks = ChildAttendance.objects.filter(session__term=term, session__date__lte=days[-1]).count()
    print(f"school: 3,000 students, {len(days)} service days ({days[0]} to {days[-1]}), {marks:,} marks")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    children = measure(
        "children's attendance, whole school",
        lambda: school_attendance_workbook(school, term, date_from=term.starts_on, date_to=days[-1]),
    )
    teachers = measure(
        "teachers' attendance, term", lambda: teachers_attendance_workbook(term, date_to=days[-1])
    )
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"process peak RSS {rss_before / 1024:.0f} MiB before the exports, {rss_after / 1024:.0f} MiB after"
    )

    for name, content in (("children's", children), ("teachers'", teachers)):
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        rows = [sum(1 for _row in sheet.iter_rows(min_row=2)) for sheet in workbook.worksheets]
        print(f"{name} workbook: {len(rows)} sheets, {sum(rows):,} rows under the headings")


if __name__ == "__main__":
    main()
