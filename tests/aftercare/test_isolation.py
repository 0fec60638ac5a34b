"""Object-level access: families, classes and schools are closed to each other."""

import pytest
from django.urls import reverse

from aftercare.permissions import mask_phone


def test_mask_phone():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("1234") == "****"


@pytest.mark.parametrize("persona", ["other_parent", "far_parent", "committee", "far_principal", "district"])
def test_outsiders_get_404_for_a_child(world, as_user, persona):
    response = as_user(persona).get(reverse("core:student-detail", args=[world.child.pk]))
    assert response.status_code == 404


def test_missing_and_foreign_children_look_the_same(world, as_user):
    client = as_user("other_parent")
    missing = client.get(reverse("core:student-detail", args=[999999]))
    foreign = client.get(reverse("core:student-detail", args=[world.child.pk]))
    assert missing.status_code == foreign.status_code == 404


@pytest.mark.parametrize("persona", ["service_teacher", "inspector", "finance", "provider"])
def test_staff_without_a_reason_get_403_for_a_child(world, as_user, persona):
    response = as_user(persona).get(reverse("core:student-detail", args=[world.child.pk]))
    assert response.status_code == 403


def test_homeroom_teacher_cannot_open_another_class(world, as_user):
    assert (
        as_user("other_homeroom").get(reverse("core:classroom-detail", args=[world.classroom.pk])).status_code
        == 403
    )
    assert (
        as_user("other_homeroom").get(reverse("core:student-detail", args=[world.child.pk])).status_code
        == 403
    )


def test_teacher_of_another_school_gets_404(world, as_user):
    client = as_user("far_principal")
    assert client.get(reverse("core:classroom-detail", args=[world.classroom.pk])).status_code == 404
    page = client.get(reverse("core:classroom-list")).content.decode()
    assert "三年级（1）班" not in page


def test_lists_show_only_the_own_school(world, as_user):
    page = as_user("far_principal").get(reverse("core:staff-list")).content.decode()
    assert "far_principal" in page
    assert ">principal<" not in page


def test_homeroom_teacher_sees_full_phone_numbers_of_their_class(world, as_user):
    page = (
        as_user("homeroom").get(reverse("core:classroom-detail", args=[world.classroom.pk])).content.decode()
    )
    assert "13812341234" in page


def test_administrator_sees_full_phone_numbers(world, as_user):
    page = as_user("admin").get(reverse("core:student-detail", args=[world.child.pk])).content.decode()
    assert "13812341234" in page


def test_principal_sees_masked_phone_numbers(world, as_user):
    page = (
        as_user("principal").get(reverse("core:classroom-detail", args=[world.classroom.pk])).content.decode()
    )
    assert "138****1234" in page
    assert "13812341234" not in page


def test_parent_sees_their_own_family_but_not_the_others(world, as_user):
    client = as_user("parent")
    page = client.get(reverse("core:student-detail", args=[world.child.pk])).content.decode()
    assert "张小明" in page
    home = client.get("/").content.decode()
    assert "李小红" not in home
    assert "13900001111" not in home


def test_parent_with_children_in_two_schools_switches_between_them(world, as_user):
    from tests.factories import make_parent

    make_parent(world.far_child, user=world.users["parent"])
    client = as_user("parent")
    home = client.get("/").content.decode()
    assert "张小明" in home and "赵小刚" in home
    assert client.post(reverse("switch-school"), {"school": world.other_school.pk}).status_code == 302
    assert "乙小学" in client.get("/").content.decode()
    # Switching to a school where one has no role is refused.
    assert (
        as_user("other_parent").post(reverse("switch-school"), {"school": world.other_school.pk}).status_code
        == 404
    )
