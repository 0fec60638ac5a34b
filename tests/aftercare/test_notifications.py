from django.core import mail
from django.urls import reverse

from aftercare.models import Notification
from aftercare.notifications import notify


def test_a_notification_is_shown_to_its_person_only_and_emailed(
    world, as_user, django_capture_on_commit_callbacks
):
    parent = world.users["parent"]
    parent.email = "mum@example.com"
    parent.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[parent],
            title="报名已通过",
            body="张小明的课后服务报名已通过。",
            url="/",
            school=world.school,
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "报名已通过"
    assert mail.outbox[0].to == ["mum@example.com"]
    assert "张小明的课后服务报名已通过。" in mail.outbox[0].body
    assert Notification.objects.get(user=parent).emailed_at is not None

    home = as_user("parent").get("/").content.decode()
    assert "您有 1 条未读通知。" in home
    page = as_user("parent").get(reverse("core:notification-list")).content.decode()
    assert "报名已通过" in page
    assert "报名已通过" not in as_user("other_parent").get(reverse("core:notification-list")).content.decode()


def test_marking_read_touches_only_ones_own(world, as_user):
    notify(users=[world.users["parent"], world.users["other_parent"]], title="通知")
    response = as_user("parent").post(reverse("core:notifications-read"))
    assert response.status_code == 302
    assert Notification.objects.get(user=world.users["parent"]).read_at is not None
    assert Notification.objects.get(user=world.users["other_parent"]).read_at is None
    assert "未读通知" not in as_user("parent").get("/").content.decode()


def test_users_without_an_email_address_get_the_in_app_notice_only(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[world.users["other_parent"]], title="提醒")
    assert mail.outbox == []
    assert Notification.objects.get(user=world.users["other_parent"]).emailed_at is not None
