"""`manage.py payout`: the draft calculation printed for operators, nothing stored."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compensation import services
from compensation.models import PayoutLine, PayoutRun

from . import builders
from .builders import SEP_7, SEP_8, held


@pytest.fixture
def records(world, pay):
    """The hand-computed example of builders.basic_run, without drafting it."""
    held(pay.basic_care, SEP_7, rating="complete")
    held(pay.basic_care, SEP_8, rating="incomplete")
    held(pay.football, SEP_7, rating="complete")
    builders.fund(world, pay.term)
    builders.scores(world, pay.term, ("homeroom", "90", 30), ("service_teacher", "60", 10))
    return pay


def run_command(*args) -> str:
    out = StringIO()
    call_command("payout", *args, stdout=out)
    return out.getvalue()


def test_json_gives_every_teacher_and_the_pools_as_strings(world, records):
    output = run_command("--school", world.school.code, "--term", str(records.term.pk), "--json")

    data = json.loads(output)
    assert {
        key: data[key]
        for key in ("school", "cut_off", "model", "fund", "process_pool", "terminal_pool", "total")
    } == {
        "school": world.school.code,
        "cut_off": "2026-10-12",
        "model": "pools",
        "fund": "100.00",
        "process_pool": "90.00",
        "terminal_pool": "10.00",
        "total": "100.00",
    }
    assert data["term"] == {"id": records.term.pk, "name": "2026秋季学期"}
    teachers = {teacher["name"]: teacher for teacher in data["teachers"]}
    assert teachers[world.users["homeroom"].full_name] | {"id": 0} == {
        "id": 0,
        "name": world.users["homeroom"].full_name,
        "units": "1.5",
        "process_share": "54.00",
        "terminal_share": "6.00",
        "hourly_pay": "0.00",
        "deductions": [],
        "total": "60.00",
    }
    assert teachers[world.users["service_teacher"].full_name]["total"] == "40.00"
    assert not PayoutRun.objects.exists() and not PayoutLine.objects.exists()


def test_text_output_has_a_row_per_teacher_and_the_pools(world, records):
    output = run_command(
        "--school", str(world.school.pk), "--term", str(records.term.pk), "--cut-off", "2026-09-07"
    )

    lines = output.splitlines()
    assert lines[0] == "甲小学 · 2026秋季学期 · 截止 2026-09-07 · pools"
    assert lines[1] == "经费 100.00  过程性奖励池 90.00  终结性奖励池 10.00  未分配 0.00"
    assert lines[2] == "教师\t工作量\t过程性\t终结性\t课时酬金\t扣减\t合计"
    # Up to 7 September: 1 unit each, 45.00 each; terminal 6.00 and 4.00.
    assert sorted(lines[3:5]) == sorted(
        [
            f"{world.users['homeroom'].full_name}\t1\t45.00\t6.00\t0.00\t0\t51.00",
            f"{world.users['service_teacher'].full_name}\t1\t45.00\t4.00\t0.00\t0\t49.00",
        ]
    )
    assert lines[5] == "合计 2 名教师 100.00"
    assert not PayoutRun.objects.exists()


def test_unknown_school_or_a_term_of_another_school_is_an_error(world, records):
    with pytest.raises(CommandError, match="No school with code or id 'nope'"):
        run_command("--school", "nope", "--term", str(records.term.pk))
    with pytest.raises(
        CommandError, match=f"School {world.other_school.code} has no term with id {records.term.pk}"
    ):
        run_command("--school", world.other_school.code, "--term", str(records.term.pk))


def test_a_refused_calculation_prints_the_reason(world, records):
    services.term_fund_update(
        actor=world.users["admin"], term=records.term, source="ledger", reserve=Decimal("1")
    )

    with pytest.raises(CommandError) as error:
        run_command("--school", world.school.code, "--term", str(records.term.pk))

    assert str(error.value) == "可分配经费为 -1.00 元，不能为负数：请检查财政补贴和学校预留。"
