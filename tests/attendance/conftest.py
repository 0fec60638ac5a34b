"""What every attendance test stands on.

Today is Monday 12 October 2026, a service day of school A's autumn term (time bands of the seeds:
16:10–17:45 for grade 3 in summer time). Basic care of 3-1 is led by ``homeroom``; 张小明 (the
parent's child) and 陈小华 (the committee member's child) are enrolled in it, 李小红 in 3-2's basic
care. A football course for grade 3 on Mondays is taught by ``service_teacher``, with 张小明 in it.
"""

from unittest import mock

import pytest

from attendance.models import Session
from attendance.sessions import sessions_prepare

from . import setup
from .setup import SHANGHAI, TODAY, at  # noqa: F401  (the tests import them from here)


@pytest.fixture(autouse=True)
def frozen_today():
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield


@pytest.fixture
def term(world):
    return setup.published_term(world)


@pytest.fixture
def basic_care(world, term):
    return term.offerings.get(classroom=world.classroom)


@pytest.fixture
def football(world, term):
    return setup.football(world, term)


@pytest.fixture
def enrolled(world, term, basic_care, football):
    """张小明 in basic care and football; 陈小华 in basic care; 李小红 in 3-2's basic care."""
    setup.enroll_world(world, term, basic_care, football)
    return world


@pytest.fixture
def session(world, enrolled, basic_care) -> Session:
    """Today's basic care of 3-1 (16:10–17:45), prepared as the nightly task would."""
    sessions_prepare(school=world.school, day=TODAY)
    return Session.objects.get(offering=basic_care, date=TODAY)


@pytest.fixture
def football_session(world, enrolled, football) -> Session:
    sessions_prepare(school=world.school, day=TODAY)
    return Session.objects.get(offering=football, date=TODAY)
