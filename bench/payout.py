"""Teachers' pay for the large school over 90 service days: the draft payout (time and queries), next
to a single aggregate SQL query over the same records (the floor), and the pay sheets (Excel, PDF).

Runs on bench.rollcall's database, "today" being the day after the 90th service day, with a term
fund entered, a survey score for every teacher (so both pools are shared), and every one of the 150
staff teaching (the seed gives offerings to 60; the rest become co-teachers).
"""

import random
import statistics
import time
from decimal import Decimal

from bench.rollcall import attendance_database, counted, freeze_today, history_days

REPEAT = 5


def timed_runs(function, repeat: int = REPEAT) -> tuple[float, list[str], object]:
    """Median milliseconds of ``repeat`` runs, the SQL of the last run and its result."""
    samples, queries, result = [], [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result, queries = counted(function)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), queries, result


def floor_query(term, cut_off):
    """Each teacher's sessions, record units, late arrivals and voided days in one aggregate query."""
    from django.db import connection

    from attendance.models import ActivityRecord, Session, TeacherAttendance
    from catalogue.models import Offering

    sql = f"""
        SELECT t.user_id,
               COUNT(*),
               SUM(CASE r.rating WHEN 'complete' THEN 1.0 WHEN 'incomplete' THEN 0.5
                                 WHEN 'unrated' THEN 0.5 ELSE 0 END),
               SUM(CASE WHEN a.presence = 'late' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.presence = 'absent_unexcused' OR a.incident <> '' THEN 1 ELSE 0 END)
        FROM {Session._meta.db_table} s
        JOIN {Offering.teachers.through._meta.db_table} t ON t.offering_id = s.offering_id
        LEFT JOIN {ActivityRecord._meta.db_table} r ON r.session_id = s.id
        LEFT JOIN {TeacherAttendance._meta.db_table} a ON a.session_id = s.id AND a.teacher_id = t.user_id
        WHERE s.term_id = %s AND s.date <= %s AND s.status <> 'cancelled'
        GROUP BY t.user_id
    """  # noqa: S608  (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [term.pk, cut_off])
        return cursor.fetchall()


def every_staff_member_teaches(school, term) -> int:
    """The issue's scale is 150 paid teachers; the large seed gives offerings to 60 of its 150 staff.
    The others become co-teachers of an offering (in turn), so the draft pays all 150. Idempotent."""
    from aftercare.models import Staff
    from catalogue.models import Offering, OfferingStatus

    through = Offering.teachers.through
    taught = set(through.objects.filter(offering__term=term).values_list("user_id", flat=True))
    offerings = list(Offering.objects.filter(term=term, status=OfferingStatus.PUBLISHED).order_by("pk"))
    others = Staff.objects.filter(school=school, is_active=True).exclude(user_id__in=taught).order_by("pk")
    rows = [
        through(offering_id=offerings[index % len(offerings)].pk, user_id=member.user_id)
        for index, member in enumerate(others)
    ]
    through.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def main() -> None:
    attendance_database()
    from django.contrib.auth import get_user_model

    from aftercare.models import School
    from compensation import selectors, services
    from compensation.calculator import calculate
    from compensation.documents import pay_sheet_pdf
    from compensation.exports import pay_sheet_workbook
    from compensation.gather import gather_inputs, payout_preview
    from compensation.models import FundSource

    school = School.objects.get(code="demo-1")
    freeze_today(school)
    term = school.terms.get()
    cut_off = history_days(school)[-1]
    admin = get_user_model().objects.get(username="schooladmin")
    every_staff_member_teaches(school, term)
    services.term_fund_update(
        actor=admin, term=term, source=FundSource.ENTERED, entered_amount=Decimal("600000.00"), note="bench"
    )
    rng = random.Random(6)
    services.survey_scores_record(
        actor=admin,
        term=term,
        scores=[
            services.ScoreInput(
                teacher=t, score=Decimal(rng.randint(750, 990)) / 10, responses=rng.randint(20, 45)
            )
            for t in selectors.term_teachers(term)
        ],
    )

    floor_ms, _queries, rows = timed_runs(lambda: floor_query(term, cut_off), repeat=10)
    gather_ms, gather_queries, inputs = timed_runs(lambda: gather_inputs(term, cut_off))
    preview = payout_preview(term, cut_off)
    calculate_ms, _none, _result = timed_runs(
        lambda: calculate(
            preview.policy, preview.basis.fund, inputs.sessions, inputs.ethics_breaches, inputs.surveys
        )
    )
    draft_ms, draft_queries, run = timed_runs(
        lambda: services.payout_run_draft(actor=admin, term=term, cut_off=cut_off)
    )
    lines = selectors.run_lines(run)
    excel_ms, _q, workbook = timed_runs(lambda: pay_sheet_workbook(run, lines))
    pdf_ms, _q, pdf = timed_runs(lambda: pay_sheet_pdf(run, lines), repeat=3)

    print(
        f"term to {cut_off}: {run.session_count:,} teacher sessions, {run.teacher_count} teachers paid, "
        f"fund {run.fund} yuan, paid {run.total} yuan"
    )
    print(f"  floor: one aggregate SQL query   {floor_ms:8.1f} ms   ({len(rows)} teachers)")
    print(f"  gather the records                {gather_ms:8.1f} ms   {len(gather_queries)} queries")
    print(f"  calculate (pure)                  {calculate_ms:8.1f} ms")
    print(f"  draft run, stored (all of it)     {draft_ms:8.1f} ms   {len(draft_queries)} queries")
    print(f"  Excel pay sheet                   {excel_ms:8.1f} ms   {len(workbook) / 1024:.0f} KiB")
    print(f"  PDF pay sheet                     {pdf_ms:8.1f} ms   {len(pdf) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
