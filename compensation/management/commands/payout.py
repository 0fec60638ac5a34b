"""Print a term's draft payout without storing anything, for operators and checks:

    python manage.py payout --school S --term T [--cut-off YYYY-MM-DD] [--json]

S is the school's code or id, T the term's id (of that school). The JSON gives amounts and units as
strings, exactly as computed (no float rounding).
"""

import datetime
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from aftercare.models import School, Term
from compensation import gather, services
from compensation.models import plain_units


class Command(BaseCommand):
    help = "Print the draft payout of a term (per teacher and the pools) without storing it."

    def add_arguments(self, parser):
        parser.add_argument("--school", required=True, help="school code or id")
        parser.add_argument("--term", required=True, type=int, help="term id")
        parser.add_argument(
            "--cut-off", type=datetime.date.fromisoformat, help="last day counted (YYYY-MM-DD)"
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, school, term, cut_off, **options):
        by_code = Q(code=school)
        if school.isdigit():
            by_code |= Q(pk=int(school))
        found_school = School.objects.filter(by_code).first()
        if found_school is None:
            raise CommandError(f"No school with code or id {school!r}.")
        found_term = (
            Term.objects.select_related("school__district").filter(pk=term, school=found_school).first()
        )
        if found_term is None:
            raise CommandError(f"School {found_school.code} has no term with id {term}.")
        cut_off = cut_off or gather.default_cut_off(found_term)
        try:
            services.check_cut_off(found_term, cut_off)
            preview = services.compute_preview(found_term, cut_off)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(preview), ensure_ascii=False, indent=2))
        else:
            self._write_text(preview)

    def _write_text(self, preview: gather.Preview) -> None:
        result = preview.result
        term = preview.term
        self.stdout.write(
            f"{term.school.name} · {term.name} · 截止 {preview.cut_off.isoformat()} · {result.model}"
        )
        self.stdout.write(
            f"经费 {result.fund}  过程性奖励池 {result.process_pool}  终结性奖励池 {result.terminal_pool}  "
            f"未分配 {result.undistributed}"
        )
        self.stdout.write("教师\t工作量\t过程性\t终结性\t课时酬金\t扣减\t合计")
        for teacher in result.teachers:
            deducted = -sum((d.units for d in teacher.deductions), Decimal(0))
            self.stdout.write(
                "\t".join(
                    [
                        preview.teacher_name(teacher.teacher_id),
                        plain_units(teacher.units),
                        str(teacher.process_share),
                        str(teacher.terminal_share),
                        str(teacher.hourly_pay),
                        plain_units(deducted),
                        str(teacher.total),
                    ]
                )
            )
        self.stdout.write(f"合计 {len(result.teachers)} 名教师 {_total(preview)}")


def _total(preview: gather.Preview) -> Decimal:
    return sum((teacher.total for teacher in preview.result.teachers), Decimal("0.00"))


def _as_json(preview: gather.Preview) -> dict:
    result = preview.result
    return {
        "school": preview.term.school.code,
        "term": {"id": preview.term.pk, "name": preview.term.name},
        "cut_off": preview.cut_off.isoformat(),
        "model": result.model,
        "fund": str(result.fund),
        "fund_basis": preview.basis.as_json(),
        "process_pool": str(result.process_pool),
        "terminal_pool": str(result.terminal_pool),
        "process_undistributed": str(result.process_undistributed),
        "terminal_undistributed": str(result.terminal_undistributed),
        "total": str(_total(preview)),
        "teachers": [
            {
                "id": teacher.teacher_id,
                "name": preview.teacher_name(teacher.teacher_id),
                "units": plain_units(teacher.units),
                "process_share": str(teacher.process_share),
                "terminal_share": str(teacher.terminal_share),
                "hourly_pay": str(teacher.hourly_pay),
                "deductions": [
                    {"date": d.date.isoformat(), "units": plain_units(d.units), "reason": d.reason}
                    for d in teacher.deductions
                ],
                "total": str(teacher.total),
            }
            for teacher in result.teachers
        ],
        "warnings": preview.warnings,
    }
