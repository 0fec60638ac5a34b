"""What every enrollment test stands on: a fixed "today" inside the term, and the term of school A
with the seeds' time bands and a published basic care (300 yuan per term, 40 places) per class."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from catalogue import services as catalogue
from catalogue.models import FeeMode

TODAY = date(2026, 10, 12)


@pytest.fixture(autouse=True)
def frozen_today():
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield


@pytest.fixture
def term(world):
    term = world.school.terms.get()
    admin = world.users["admin"]
    catalogue.term_setup_defaults(actor=admin, term=term)
    for offering in catalogue.basic_care_create_for_all_classes(
        actor=admin, term=term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("300.00"), capacity=40
    ):
        catalogue.offering_publish(actor=admin, offering=offering)
    return term
