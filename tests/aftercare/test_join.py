from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from aftercare.models import Guardian, InvitationCode
from aftercare.services import ALREADY_GUARDIAN, INVALID_INVITATION_CODE
from tests.conftest import client_for
from tests.factories import InvitationCodeFactory, StudentFactory

JOIN = "/join/"


def join_form(code: str, **overrides) -> dict:
    data = {
        "code": code,
        "relation": "mother",
        "full_name": "王芳",
        "phone": "13699998888",
        "username": "wangfang",
        "password1": "Spring-Flowers-7",
        "password2": "Spring-Flowers-7",
    }
    data.update(overrides)
    return data


def test_a_guardian_joins_with_a_code_and_is_linked_to_the_child(world):
    code = InvitationCodeFactory(student=world.child)
    client = Client()
    response = client.post(JOIN, join_form(code.code.lower()))  # codes are case-insensitive
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get(username="wangfang")
    guardian = Guardian.objects.get(user=user)
    assert guardian.student == world.child
    assert guardian.relation == "mother"
    assert guardian.phone == "13699998888"
    code.refresh_from_db()
    assert code.used_by == user
    assert code.used_at is not None
    home = client.get("/").content.decode()
    assert "张小明" in home
    # The new parent sees the child's page, and not another family's child.
    assert client.get(reverse("core:student-detail", args=[world.child.pk])).status_code == 200
    assert client.get(reverse("core:student-detail", args=[world.other_child.pk])).status_code == 404


def test_a_code_is_single_use(world):
    code = InvitationCodeFactory(student=world.child)
    assert Client().post(JOIN, join_form(code.code)).status_code == 302
    response = Client().post(JOIN, join_form(code.code, username="second", phone="13611112222"))
    assert response.status_code == 200
    assert str(INVALID_INVITATION_CODE) in response.content.decode()
    assert not get_user_model().objects.filter(username="second").exists()


def test_a_wrong_code_re_renders_the_form_with_the_input_kept(world):
    response = Client().post(JOIN, join_form("NOPE2345"))
    page = response.content.decode()
    assert response.status_code == 200
    assert str(INVALID_INVITATION_CODE) in page
    assert 'value="wangfang"' in page
    assert not get_user_model().objects.filter(username="wangfang").exists()


def test_mismatched_passwords_are_reported(world):
    code = InvitationCodeFactory(student=world.child)
    response = Client().post(JOIN, join_form(code.code, password2="Different-9"))
    assert "两次输入的密码不一致。" in response.content.decode()
    code.refresh_from_db()
    assert code.used_at is None


def test_reissuing_revokes_the_old_code(world, as_user):
    old = InvitationCodeFactory(student=world.child)
    response = as_user("homeroom").post(reverse("core:student-invitation-reissue", args=[world.child.pk]))
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    new = InvitationCode.objects.get(student=world.child, revoked_at__isnull=True, used_at__isnull=True)
    assert new.code != old.code
    assert str(INVALID_INVITATION_CODE) in Client().post(JOIN, join_form(old.code)).content.decode()
    assert Client().post(JOIN, join_form(new.code)).status_code == 302


def test_a_signed_in_parent_links_a_second_child(world):
    sibling = StudentFactory(classroom=world.other_classroom, name="张小丽")
    code = InvitationCodeFactory(student=sibling)
    client = client_for(world.users["parent"])
    response = client.post(JOIN, {"code": code.code, "relation": "mother"})
    assert response.status_code == 302
    assert set(
        Guardian.objects.filter(user=world.users["parent"]).values_list("student__name", flat=True)
    ) == {
        "张小明",
        "张小丽",
    }


def test_a_parent_cannot_link_the_same_child_twice(world):
    code = InvitationCodeFactory(student=world.child)
    response = client_for(world.users["parent"]).post(JOIN, {"code": code.code, "relation": "mother"})
    assert str(ALREADY_GUARDIAN) in response.content.decode()
    code.refresh_from_db()
    assert code.used_at is None


def test_joining_links_the_roster_row_with_the_same_phone(world):
    # The roster lists 张爸爸 with 13812341234; joining with that number links that row.
    code = InvitationCodeFactory(student=world.child)
    Client().post(
        JOIN,
        join_form(code.code, relation="father", full_name="张伟", phone="13812341234", username="zhangwei"),
    )
    rows = Guardian.objects.filter(student=world.child, phone="13812341234")
    assert rows.count() == 1
    assert rows.get().user.username == "zhangwei"


def test_a_parent_of_another_school_cannot_reissue_codes(world, as_user):
    before = InvitationCode.objects.count()
    response = as_user("far_principal").post(
        reverse("core:student-invitation-reissue", args=[world.child.pk])
    )
    assert response.status_code == 404
    assert InvitationCode.objects.count() == before
