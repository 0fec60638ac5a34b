"""What the pay tests stand on: school A's autumn term with its basic care and football, and today
frozen at Monday 12 October 2026 (tests/attendance/setup.py). Sessions, activity records and
teachers' attendance are made directly with the attendance models (see builders.py)."""

from unittest import mock

import pytest

from tests.attendance.setup import TODAY

from . import builders


@pytest.fixture(autouse=True)
def frozen_today():
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield


@pytest.fixture
def pay(world):
    """The term and its offerings: 3-1's basic care (homeroom), 3-2's (other_homeroom), football
    (service_teacher, Mondays)."""
    return builders.pay_term(world)
