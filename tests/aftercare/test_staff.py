from django.contrib.auth import get_user_model
from django.urls import reverse

from aftercare.models import Staff, StaffRole
from aftercare.permissions import load_access
from aftercare.roles import Role
from aftercare.services import USERNAME_TAKEN


def staff_form(**overrides):
    data = {
        "username": "newteacher",
        "full_name": "吴老师",
        "phone": "13577776666",
        "title": "美术教师",
        "roles": ["service_teacher", "inspector"],
        "password": "Painting-Class-8",
    }
    data.update(overrides)
    return data


def test_administrator_creates_a_staff_account_that_can_sign_in(world, as_user):
    response = as_user("admin").post(reverse("core:staff-create"), staff_form())
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newteacher")
    assert load_access(user).roles_at(world.school.pk) == {Role.SERVICE_TEACHER, Role.INSPECTOR}
    assert user.check_password("Painting-Class-8")
    history = Staff.history.get(user=user)
    assert history.history_user == world.users["admin"]
    assert set(
        StaffRole.history.filter(staff__user=user).values_list("history_user__username", flat=True)
    ) == {"admin"}


def test_a_taken_username_re_renders_the_form(world, as_user):
    before = Staff.objects.count()
    response = as_user("admin").post(reverse("core:staff-create"), staff_form(username="principal"))
    assert response.status_code == 200
    assert str(USERNAME_TAKEN) in response.content.decode()
    assert Staff.objects.count() == before
    assert 'value="吴老师"' in response.content.decode()


def test_a_weak_password_is_refused_in_chinese(world, as_user):
    response = as_user("admin").post(reverse("core:staff-create"), staff_form(password="12345678"))
    assert "这个密码太常见了。" in response.content.decode()
    assert not get_user_model().objects.filter(username="newteacher").exists()


def test_principal_may_not_create_staff_and_nothing_changes(world, as_user):
    before = Staff.objects.count()
    response = as_user("principal").post(reverse("core:staff-create"), staff_form())
    assert response.status_code == 403
    assert Staff.objects.count() == before


def test_administrator_changes_roles_and_deactivates(world, as_user):
    staff = Staff.objects.get(user=world.users["inspector"])
    response = as_user("admin").post(
        reverse("core:staff-edit", args=[staff.pk]),
        {"full_name": "检查员", "phone": "", "title": "值日", "roles": ["principal"], "is_active": ""},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.is_active is False
    assert list(staff.roles.values_list("role", flat=True)) == ["principal"]
    # A deactivated staff member holds no role any more.
    assert load_access(world.users["inspector"]).roles_at(world.school.pk) == frozenset()


def test_administrator_of_another_school_cannot_edit(world, as_user):
    from tests.factories import make_staff

    make_staff(world.other_school, Role.ADMINISTRATOR, username="far_admin")
    staff = Staff.objects.get(user=world.users["inspector"])
    from tests.conftest import client_for

    response = client_for(get_user_model().objects.get(username="far_admin")).post(
        reverse("core:staff-edit", args=[staff.pk]),
        {"full_name": "x", "roles": ["principal"], "is_active": "on"},
    )
    assert response.status_code == 404
    assert list(staff.roles.values_list("role", flat=True)) == ["inspector"]


def test_audit_log_shows_who_changed_what_before_and_after(world, as_user):
    staff = Staff.objects.get(user=world.users["inspector"])
    as_user("admin").post(
        reverse("core:staff-edit", args=[staff.pk]),
        {"full_name": "检查员", "phone": "", "title": "值日领导", "roles": ["inspector"], "is_active": "on"},
    )
    page = as_user("principal").get(reverse("core:audit-log")).content.decode()
    assert "值日领导" in page
    row = page[page.index("值日领导") - 600 : page.index("值日领导")]
    assert world.users["admin"].display_name in row


def test_administrator_resets_a_forgotten_staff_password(world, as_user):
    staff = Staff.objects.get(user=world.users["inspector"])
    response = as_user("admin").post(
        reverse("core:staff-edit", args=[staff.pk]),
        {
            "full_name": "检查员",
            "roles": ["inspector"],
            "is_active": "on",
            "new_password": "Brand-New-Pass-5",
        },
    )
    assert response.status_code == 302
    staff.user.refresh_from_db()
    assert staff.user.check_password("Brand-New-Pass-5")
