"""Jobs through a real Redis broker and a real Celery worker (run when REDIS_URL is set)."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from aftercare.celery import app as celery_app
from aftercare.models import InvitationCode, Job, JobStatus
from tests.conftest import client_for

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (the CI run on Redis sets it)"
    ),
]


@pytest.fixture
def real_worker(transactional_db):
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    celery_app.conf.task_always_eager = saved


def wait_for(job, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} still {job.status} after {seconds}s")


def test_a_job_started_from_a_page_runs_on_the_worker(world, real_worker):
    client = client_for(world.users["homeroom"])
    response = client.post(reverse("core:classroom-invitations", args=[world.classroom.pk]))
    job = Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    job = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED
    assert job.dispatched_at is not None
    assert job.result_name == "invitations-3-1.pdf"
    assert (
        InvitationCode.objects.filter(student__classroom=world.classroom, used_at__isnull=True).count() == 2
    )
    download = client.get(reverse("core:job-download", args=[job.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")
