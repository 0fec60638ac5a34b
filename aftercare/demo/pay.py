"""Demo pay settings: the term's fund and the parents' survey scores of each teacher, entered as the
administrator would until the surveys issue computes them. The policy keeps the seeds' defaults."""

from decimal import Decimal

from django.contrib.auth import get_user_model

from compensation.models import FundSource, SurveyScoreEntry, TermFund

DEMO_FUND = Decimal("420000.00")


def build_pay_settings(*, rng, school) -> int:
    term = school.terms.get()
    admin = get_user_model().objects.get(username="schooladmin")
    TermFund.objects.update_or_create(
        term=term,
        defaults={
            "source": FundSource.ENTERED,
            "entered_amount": DEMO_FUND,
            "note": "本学期课后服务收费与财政补贴，扣除学校预留后",
            "updated_by": admin,
        },
    )
    teachers = get_user_model().objects.filter(taught_offerings__term=term).distinct().order_by("username")
    entries = [
        SurveyScoreEntry(
            term=term,
            teacher=teacher,
            score=Decimal(rng.randint(780, 990)) / 10,
            responses=rng.randint(18, 45),
            entered_by=admin,
        )
        for teacher in teachers
    ]
    SurveyScoreEntry.objects.bulk_create(entries)
    return len(entries)
