import os
import subprocess
import time

import pytest
from django.urls import reverse

from aftercare import jobs
from aftercare.celery import app as celery_app
from aftercare.models import InvitationCode, Job, JobStatus


def start_letters(client, classroom, capture):
    with capture(execute=True):
        response = client.post(reverse("core:classroom-invitations", args=[classroom.pk]))
    assert response.status_code == 302
    return Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_invitation_letters_job_produces_a_pdf_with_every_child(
    world, as_user, django_capture_on_commit_callbacks, tmp_path
):
    client = as_user("homeroom")
    job = start_letters(client, world.classroom, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 100
    assert job.message == "共 2 名学生的邀请函已生成。"

    page = client.get(reverse("core:job-detail", args=[job.pk])).content.decode()
    assert "已完成" in page
    assert reverse("core:job-download", args=[job.pk]) in page
    download = client.get(reverse("core:job-download", args=[job.pk]))
    assert download.status_code == 200
    text = pdf_text(b"".join(download.streaming_content), tmp_path)
    codes = InvitationCode.objects.filter(
        student__classroom=world.classroom, used_at__isnull=True, revoked_at__isnull=True
    )
    assert codes.count() == 2
    for code in codes:
        assert code.code in text
    assert "张小明" in text
    assert "家长邀请函" in text
    # The file is the starter's alone.
    assert as_user("admin").get(reverse("core:job-download", args=[job.pk])).status_code == 404


def test_job_status_fragment_polls_until_finished(world, as_user):
    job = Job.objects.create(
        created_by=world.users["admin"], school=world.school, kind="invitation_letters", progress=40
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, message="正在排版")
    fragment = as_user("admin").get(reverse("core:job-status", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert 'value="40"' in fragment
    assert "正在排版" in fragment
    assert "<html" not in fragment


def test_a_failed_job_shows_a_clear_error_and_changes_nothing(
    world, as_user, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("font missing")

    monkeypatch.setattr("aftercare.documents.render_pdf", broken)
    before = InvitationCode.objects.count()
    client = as_user("admin")
    job = start_letters(client, world.classroom, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "任务失败，请稍后重试；如果一再失败，请联系管理员。"
    assert InvitationCode.objects.count() == before
    assert job.error in client.get(reverse("core:job-detail", args=[job.pk])).content.decode()


def test_running_a_job_twice_does_nothing_the_second_time(world):
    job = Job.objects.create(
        created_by=world.users["admin"],
        school=world.school,
        kind="invitation_letters",
        params={"classroom_id": world.classroom.pk},
    )
    jobs.job_run(job.pk)
    job.refresh_from_db()
    finished_at = job.finished_at
    jobs.job_run(job.pk)
    job.refresh_from_db()
    assert job.finished_at == finished_at
    assert job.attempts == 1


@pytest.fixture
def broker_down():
    """Celery with eager off and a broker address where nothing listens."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield
    celery_app.conf.update(saved)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_with_the_broker_down_the_page_answers_at_once_and_the_sweep_sends_the_job_later(
    world, as_user, django_capture_on_commit_callbacks, broker_down
):
    client = as_user("admin")
    started = time.monotonic()
    job = start_letters(client, world.classroom, django_capture_on_commit_callbacks)
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.dispatched_at is None
    page = client.get(reverse("core:job-detail", args=[job.pk])).content.decode()
    assert "排队中" in page

    # The broker is back: the periodic sweep dispatches the stranded job.
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        celery_app.conf.broker_url = redis_url
    else:
        celery_app.conf.task_always_eager = True
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    assert jobs.dispatch_stranded_jobs() == 1
    job.refresh_from_db()
    assert job.dispatched_at is not None
    if not redis_url:
        assert job.status == JobStatus.SUCCEEDED
