"""Roster import: an administrator uploads a workbook of classes, students, guardians and staff.

The flow: upload (``roster_import_create``) → job ``roster_validate`` reads the workbook and checks
every row against the school's records → preview page with the counts and every error → confirm
(``roster_import_confirm``) → job ``roster_apply`` reads and checks again against the records as
they are now, and writes everything in one transaction, or nothing.

The workbook (``roster_template_bytes`` builds an empty one with an example row per sheet):

- 学生: 年级, 班号, 学号, 姓名, 性别, 监护人姓名, 关系, 监护人手机, and optionally 监护人2姓名,
  监护人2关系, 监护人2手机 (all three or none).
- 教职工: 用户名, 姓名, and optionally 手机, 职务, 角色 (Chinese labels of ``STAFF_ROLES`` separated
  by 、 or commas), 初始密码.
- 班级: 年级, 班号, 班主任用户名.

Any of the three sheets may be left out; other sheets and extra columns are ignored. The sheet names
and headers are the file format, so they are not translated. The template's example rows are
recognised and skipped, so a template filled in below them imports nothing made up.

What an import does, and why:

- It only adds and updates; it never deletes or deactivates a student, guardian, staff member or role.
  Leaving someone out of the file is not a decision to remove them.
- A student number already at the school updates that student (name, class, gender) and makes them
  active again. A class named in 学生 or 班级 that the school lacks is created.
- An existing student's guardians are matched by phone: a new number adds a guardian; a matched
  guardian who has not joined takes the file's name and relation; one who has joined keeps the
  details the family gave.
- A username of a staff member of this school updates them (name, phone, title, active again) and
  grants the listed roles. Roles not listed are kept: an import cannot withdraw a role, so it cannot
  lock the administrator out; roles are withdrawn on the staff page.
- A username of any other account (another school's staff, a parent) is an error. The message is the
  same whoever holds it, so the import neither attaches a stranger's account nor tells whose it is.
- A blank optional cell leaves the stored value as it is.
- 初始密码 is used for new accounts only; without it the account gets an unusable password until an
  administrator sets one. Passwords are hashed before the transaction starts (hashing is slow).
- Text is data: a cell holding ``=HYPERLINK(...)`` (typed, or a real formula) is read as that text,
  never evaluated, stored as typed and written back to Excel as text by ``aftercare.spreadsheets``.
- The uploaded file may hold children's details and passwords: it is stored under a random name and
  deleted as soon as it cannot be imported any more (refused or imported).

Every write goes through simple-history's bulk helpers, so each row created or changed has a history
row with the administrator and the reason ``roster import #<id>``. The apply runs a constant number
of queries per batch of ``BATCH_SIZE`` rows.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .jobs import Job, JobError, JobResult, Progress, job_handler, job_start
from .models import (
    Classroom,
    Gender,
    Guardian,
    Relation,
    RosterImport,
    RosterImportStatus,
    School,
    Staff,
    StaffRole,
    Student,
    User,
)
from .permissions import access_for
from .roles import STAFF_ROLES, Role
from .spreadsheets import (
    NOT_XLSX_MESSAGE,
    cell_text,
    check_xlsx_upload,
    new_workbook,
    read_rows,
    workbook_bytes,
    write_row,
)

logger = logging.getLogger(__name__)

ROSTER_VALIDATE = "roster_validate"
ROSTER_APPLY = "roster_apply"

# Rows per INSERT/UPDATE. Small enough that no backend lowers it (SQLite's 999 parameters allow 62
# rows of the widest history table), so the number of queries is the same on SQLite and PostgreSQL.
BATCH_SIZE = 50
# The largest primary schools have under 10,000 children: a longer sheet is a mistake or an attack,
# and reading it would only fill the worker's memory.
MAX_ROWS_PER_SHEET = 20_000
# Past this many, the rest are counted, not listed: the file is systematically wrong.
MAX_LISTED_ERRORS = 2_000

STUDENTS_SHEET = "学生"
STAFF_SHEET = "教职工"
CLASSES_SHEET = "班级"
SHEETS = (STUDENTS_SHEET, STAFF_SHEET, CLASSES_SHEET)

GRADE = "年级"
CLASS_NUMBER = "班号"
STUDENT_NUMBER = "学号"
NAME = "姓名"
GENDER = "性别"
GUARDIAN_NAME = "监护人姓名"
RELATION = "关系"
GUARDIAN_PHONE = "监护人手机"
GUARDIAN2_NAME = "监护人2姓名"
GUARDIAN2_RELATION = "监护人2关系"
GUARDIAN2_PHONE = "监护人2手机"
USERNAME = "用户名"
PHONE = "手机"
TITLE = "职务"
ROLES = "角色"
PASSWORD = "初始密码"  # noqa: S105 (a column header)
HOMEROOM = "班主任用户名"

STUDENT_COLUMNS = (
    GRADE,
    CLASS_NUMBER,
    STUDENT_NUMBER,
    NAME,
    GENDER,
    GUARDIAN_NAME,
    RELATION,
    GUARDIAN_PHONE,
    GUARDIAN2_NAME,
    GUARDIAN2_RELATION,
    GUARDIAN2_PHONE,
)
STAFF_COLUMNS = (USERNAME, NAME, PHONE, TITLE, ROLES, PASSWORD)
CLASS_COLUMNS = (GRADE, CLASS_NUMBER, HOMEROOM)
COLUMNS = {STUDENTS_SHEET: STUDENT_COLUMNS, STAFF_SHEET: STAFF_COLUMNS, CLASSES_SHEET: CLASS_COLUMNS}
REQUIRED_COLUMNS = {
    STUDENTS_SHEET: STUDENT_COLUMNS[:8],
    STAFF_SHEET: (USERNAME, NAME),
    CLASSES_SHEET: CLASS_COLUMNS,
}
EXAMPLE_ROWS = {
    STUDENTS_SHEET: (
        3,
        1,
        "2026030101",
        "王小明",
        "男",
        "王建国",
        "父亲",
        "13800000000",
        "李芳",
        "母亲",
        "13900000000",
    ),
    STAFF_SHEET: ("zhanglaoshi", "张老师", "13700000000", "语文教师", "课后服务教师、考勤检查员", ""),
    CLASSES_SHEET: (3, 1, "zhanglaoshi"),
}

REQUIRED = gettext_lazy("必填，不能为空")
TOO_LONG = gettext_lazy("不能超过%(max)d个字")
GRADE_INVALID = gettext_lazy("年级应为1到6（可写“3”或“三年级”）")
CLASS_NUMBER_INVALID = gettext_lazy("班号应为1到99的整数")
GENDER_INVALID = gettext_lazy("性别应为“男”或“女”")
RELATION_INVALID = gettext_lazy("关系应为父亲、母亲、祖父母、外祖父母或其他")
PHONE_INVALID = gettext_lazy("手机号码应为11位数字")
STUDENT_NUMBER_DUPLICATE = gettext_lazy("学号与第%(row)d行重复")
SECOND_GUARDIAN_INCOMPLETE = gettext_lazy("填写第二位监护人时必填")
SECOND_GUARDIAN_SAME_PHONE = gettext_lazy("与第一位监护人的手机号码相同")
USERNAME_INVALID = gettext_lazy("用户名只能包含字母、数字、下划线、点和连字符，3到30个字符")
USERNAME_DUPLICATE = gettext_lazy("用户名与第%(row)d行重复")
USERNAME_TAKEN = gettext_lazy("该用户名已被其他账户使用，请换一个")
STAFF_PHONE_DUPLICATE = gettext_lazy("手机号码与第%(row)d行重复")
STAFF_PHONE_TAKEN = gettext_lazy("该手机号码已被其他账户使用")
ROLE_UNKNOWN = gettext_lazy("未知的角色“%(label)s”（可填：%(choices)s）")
ROLE_HOMEROOM = gettext_lazy("班主任不在角色中填写，请在“班级”表的班主任用户名中指定")
CLASS_DUPLICATE = gettext_lazy("班级与第%(row)d行重复")
HOMEROOM_UNKNOWN = gettext_lazy("“%(username)s”不是本校在职教职工，也不在“教职工”表中")
MISSING_COLUMN = gettext_lazy("缺少这一列")
TOO_MANY_ROWS = gettext_lazy("超过 %(max)d 行，请拆分后分批导入")
NO_SHEETS = gettext_lazy("工作簿中没有“学生”“教职工”或“班级”工作表，请使用导入模板")
NO_ROWS = gettext_lazy("工作簿中没有可导入的数据行")

PHONE_PATTERN = re.compile(r"1[0-9]{10}")
PHONE_SEPARATORS = re.compile(r"[\s-]")
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,30}")
ROLE_SEPARATORS = re.compile(r"[,，、;；\s]+")
CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}
GENDERS = {"男": Gender.MALE.value, "女": Gender.FEMALE.value}
RELATIONS = {
    "父亲": Relation.FATHER.value,
    "母亲": Relation.MOTHER.value,
    "祖父母": Relation.GRANDPARENT.value,
    "外祖父母": Relation.GRANDPARENT.value,
    "祖父母/外祖父母": Relation.GRANDPARENT.value,
    "其他": Relation.OTHER.value,
    "其他监护人": Relation.OTHER.value,
}


def staff_role_labels() -> dict[str, str]:
    """Chinese label → role value: the file is in Chinese whatever language the page is in."""
    with translation.override("zh-hans"):
        return {str(role.label): role.value for role in STAFF_ROLES}


# Reading the workbook (no database) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file. ``row`` is Excel's row number (None for the whole workbook)."""

    sheet: str
    row: int | None
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class GuardianEntry:
    name: str
    relation: str
    phone: str


@dataclass(frozen=True, slots=True)
class StudentEntry:
    row: int
    grade: int
    class_number: int
    student_number: str
    name: str
    gender: str
    guardians: tuple[GuardianEntry, ...]


@dataclass(frozen=True, slots=True)
class StaffEntry:
    row: int
    username: str
    full_name: str
    phone: str
    title: str
    roles: frozenset[str]
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClassEntry:
    row: int
    grade: int
    class_number: int
    homeroom_username: str


@dataclass
class ParsedRoster:
    students: list[StudentEntry] = field(default_factory=list)
    staff: list[StaffEntry] = field(default_factory=list)
    classes: list[ClassEntry] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Every username on 教职工, valid row or not (lowercase): a class naming one is not reported twice.
    file_usernames: set[str] = field(default_factory=set)


class _Row:
    """The cells of one row and the errors found in them."""

    def __init__(self, sheet: str, number: int, cells: dict[str, str], errors: list[RowError]):
        self.sheet = sheet
        self.number = number
        self.cells = cells
        self.errors = errors
        self.ok = True

    def error(self, column: str, reason) -> None:
        self.ok = False
        self.errors.append(RowError(self.sheet, self.number, column, str(reason)))

    def text(self, column: str, *, required: bool = True, max_length: int | None = None) -> str:
        value = self.cells.get(column, "")
        if not value and required:
            self.error(column, REQUIRED)
        elif max_length is not None and len(value) > max_length:
            self.error(column, TOO_LONG % {"max": max_length})
            return ""
        return value

    def parsed(self, column: str, parse: Callable[[str], object], reason, *, required: bool = True):
        value = self.text(column, required=required)
        if not value:
            return None
        result = parse(value)
        if result is None:
            self.error(column, reason)
        return result


def _grade(text: str) -> int | None:
    text = text.removesuffix("年级")
    number = int(text) if text.isdecimal() else CHINESE_NUMERALS.get(text)
    return number if number is not None and 1 <= number <= 6 else None


def _class_number(text: str) -> int | None:
    text = text.removesuffix("班")
    return int(text) if text.isdecimal() and 1 <= int(text) <= 99 else None


def normalize_phone(text: str) -> str | None:
    """Eleven digits, with spaces, dashes and a leading +86 forgiven."""
    digits = PHONE_SEPARATORS.sub("", text).removeprefix("+86")
    return digits if PHONE_PATTERN.fullmatch(digits) else None


def _username(text: str) -> str | None:
    return text if USERNAME_PATTERN.fullmatch(text) else None


def _sheet_rows(
    file: IO[bytes], sheet: str, errors: list[RowError], found: set[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The sheet's rows without the template's example; nothing (and no error) if there is no sheet."""
    rows = read_rows(file, sheet=sheet)
    try:
        try:
            first = next(rows, None)
        except ValidationError as error:
            if error.code == "sheet_not_found":
                return
            found.add(sheet)
            if error.code == "duplicate_header":
                errors.append(RowError(sheet, 1, error.params["header"], error.messages[0]))
                return
            raise
        found.add(sheet)
        if first is None:
            return
        missing = [column for column in REQUIRED_COLUMNS[sheet] if column not in first[1]]
        if missing:
            errors.extend(RowError(sheet, 1, column, str(MISSING_COLUMN)) for column in missing)
            return
        example = {
            column: cell_text(value)
            for column, value in zip(COLUMNS[sheet], EXAMPLE_ROWS[sheet], strict=True)
        }
        for count, (number, cells) in enumerate(_chain(first, rows), start=1):
            if count > MAX_ROWS_PER_SHEET:
                errors.append(RowError(sheet, number, "", str(TOO_MANY_ROWS % {"max": MAX_ROWS_PER_SHEET})))
                return
            if cells != example:
                yield number, cells
    finally:
        rows.close()


def _chain(first: tuple[int, dict[str, str]], rest: Iterator) -> Iterator[tuple[int, dict[str, str]]]:
    yield first
    yield from rest


def _parse_students(rows, errors: list[RowError]) -> list[StudentEntry]:
    entries: list[StudentEntry] = []
    first_row_of: dict[str, int] = {}
    for number, cells in rows:
        row = _Row(STUDENTS_SHEET, number, cells, errors)
        grade = row.parsed(GRADE, _grade, GRADE_INVALID)
        class_number = row.parsed(CLASS_NUMBER, _class_number, CLASS_NUMBER_INVALID)
        student_number = row.text(STUDENT_NUMBER, max_length=30)
        if student_number in first_row_of:
            row.error(STUDENT_NUMBER, STUDENT_NUMBER_DUPLICATE % {"row": first_row_of[student_number]})
        elif student_number:
            first_row_of[student_number] = number
        name = row.text(NAME, max_length=50)
        gender = row.parsed(GENDER, GENDERS.get, GENDER_INVALID)
        guardians = [
            GuardianEntry(
                name=row.text(GUARDIAN_NAME, max_length=50),
                relation=row.parsed(RELATION, RELATIONS.get, RELATION_INVALID),
                phone=row.parsed(GUARDIAN_PHONE, normalize_phone, PHONE_INVALID),
            )
        ]
        second = (GUARDIAN2_NAME, GUARDIAN2_RELATION, GUARDIAN2_PHONE)
        if any(cells.get(column) for column in second):
            for column in second:
                if not cells.get(column):
                    row.error(column, SECOND_GUARDIAN_INCOMPLETE)
            guardian = GuardianEntry(
                name=row.text(GUARDIAN2_NAME, required=False, max_length=50),
                relation=row.parsed(GUARDIAN2_RELATION, RELATIONS.get, RELATION_INVALID, required=False),
                phone=row.parsed(GUARDIAN2_PHONE, normalize_phone, PHONE_INVALID, required=False),
            )
            if guardian.phone and guardian.phone == guardians[0].phone:
                row.error(GUARDIAN2_PHONE, SECOND_GUARDIAN_SAME_PHONE)
            guardians.append(guardian)
        if row.ok:
            entries.append(
                StudentEntry(number, grade, class_number, student_number, name, gender, tuple(guardians))
            )
    return entries


def _parse_staff(rows, errors: list[RowError], file_usernames: set[str]) -> list[StaffEntry]:
    role_labels = staff_role_labels()
    with translation.override("zh-hans"):
        homeroom_label = str(Role.HOMEROOM_TEACHER.label)
    entries: list[StaffEntry] = []
    first_row_of_username: dict[str, int] = {}
    first_row_of_phone: dict[str, int] = {}
    for number, cells in rows:
        row = _Row(STAFF_SHEET, number, cells, errors)
        username = row.parsed(USERNAME, _username, USERNAME_INVALID) or ""
        if username.lower() in first_row_of_username:
            row.error(USERNAME, USERNAME_DUPLICATE % {"row": first_row_of_username[username.lower()]})
        elif username:
            first_row_of_username[username.lower()] = number
        if cells.get(USERNAME):
            file_usernames.add(cells[USERNAME].lower())
        full_name = row.text(NAME, max_length=50)
        phone = row.parsed(PHONE, normalize_phone, PHONE_INVALID, required=False) or ""
        if phone in first_row_of_phone:
            row.error(PHONE, STAFF_PHONE_DUPLICATE % {"row": first_row_of_phone[phone]})
        elif phone:
            first_row_of_phone[phone] = number
        title = row.text(TITLE, required=False, max_length=50)
        roles = set()
        for label in ROLE_SEPARATORS.split(cells.get(ROLES, "")):
            if not label:
                continue
            if label == homeroom_label:
                row.error(ROLES, ROLE_HOMEROOM)
            elif label not in role_labels:
                row.error(ROLES, ROLE_UNKNOWN % {"label": label, "choices": "、".join(role_labels)})
            else:
                roles.add(role_labels[label])
        password = cells.get(PASSWORD, "")
        if row.ok:
            entries.append(StaffEntry(number, username, full_name, phone, title, frozenset(roles), password))
    return entries


def _parse_classes(rows, errors: list[RowError]) -> list[ClassEntry]:
    entries: list[ClassEntry] = []
    first_row_of: dict[tuple[int, int], int] = {}
    for number, cells in rows:
        row = _Row(CLASSES_SHEET, number, cells, errors)
        grade = row.parsed(GRADE, _grade, GRADE_INVALID)
        class_number = row.parsed(CLASS_NUMBER, _class_number, CLASS_NUMBER_INVALID)
        if grade and class_number:
            if (grade, class_number) in first_row_of:
                row.error(CLASS_NUMBER, CLASS_DUPLICATE % {"row": first_row_of[(grade, class_number)]})
            else:
                first_row_of[(grade, class_number)] = number
        homeroom = row.text(HOMEROOM, required=False)
        if row.ok:
            entries.append(ClassEntry(number, grade, class_number, homeroom))
    return entries


def parse_roster(file: IO[bytes]) -> ParsedRoster:
    """Every row of the workbook as entries, and every error found without the database."""
    parsed = ParsedRoster()
    found: set[str] = set()
    try:
        parsed.students = _parse_students(
            _sheet_rows(file, STUDENTS_SHEET, parsed.errors, found), parsed.errors
        )
        parsed.staff = _parse_staff(
            _sheet_rows(file, STAFF_SHEET, parsed.errors, found), parsed.errors, parsed.file_usernames
        )
        parsed.classes = _parse_classes(_sheet_rows(file, CLASSES_SHEET, parsed.errors, found), parsed.errors)
    except ValidationError as error:
        return ParsedRoster(errors=[RowError("", None, "", message) for message in error.messages])
    except (KeyError, ValueError, TypeError, OSError, SyntaxError, zipfile.BadZipFile, InvalidFileException):
        # A zip that passed the upload checks but that openpyxl cannot read (a damaged or forged part).
        logger.info("roster workbook could not be read", exc_info=True)
        return ParsedRoster(errors=[RowError("", None, "", str(NOT_XLSX_MESSAGE))])
    if not found:
        parsed.errors.append(RowError("", None, "", str(NO_SHEETS)))
    elif not (parsed.errors or parsed.students or parsed.staff or parsed.classes):
        parsed.errors.append(RowError("", None, "", str(NO_ROWS)))
    return parsed


# Checking against the school's records and planning the writes ----------------------------------


@dataclass
class RosterPlan:
    """Everything the import will write: unsaved rows to create and changed rows to update."""

    errors: list[RowError]
    new_users: list[User] = field(default_factory=list)
    changed_users: list[User] = field(default_factory=list)
    new_staff: list[Staff] = field(default_factory=list)
    changed_staff: list[Staff] = field(default_factory=list)
    new_roles: list[StaffRole] = field(default_factory=list)
    updated_staff_count: int = 0
    new_classrooms: list[Classroom] = field(default_factory=list)
    changed_classrooms: list[Classroom] = field(default_factory=list)
    new_students: list[Student] = field(default_factory=list)
    changed_students: list[Student] = field(default_factory=list)
    new_guardians: list[Guardian] = field(default_factory=list)
    changed_guardians: list[Guardian] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "classrooms_new": len(self.new_classrooms),
            "classrooms_updated": len(self.changed_classrooms),
            "students_new": len(self.new_students),
            "students_updated": len(self.changed_students),
            "guardians_new": len(self.new_guardians),
            "guardians_updated": len(self.changed_guardians),
            "staff_new": len(self.new_staff),
            "staff_updated": self.updated_staff_count,
        }


def plan_roster(
    parsed: ParsedRoster, school: School, *, password_hashes: dict[str, str] | None = None
) -> RosterPlan:
    """Check the entries against the school's records and work out the writes, in at most 7 queries.

    ``password_hashes`` (lowercase username → hash) are made by ``hash_initial_passwords`` outside any
    transaction; without them new accounts get unusable passwords (enough for a preview).
    """
    plan = RosterPlan(errors=list(parsed.errors))
    teachers = _plan_staff(parsed, school, plan, password_hashes or {})
    classrooms = _plan_classrooms(parsed, school, plan, teachers)
    _plan_students(parsed, school, plan, classrooms)
    plan.errors.sort(key=_error_order)
    return plan


def _error_order(error: RowError) -> tuple[int, int, int]:
    sheet = SHEETS.index(error.sheet) + 1 if error.sheet in SHEETS else 0
    columns = COLUMNS.get(error.sheet, ())
    return sheet, error.row or 0, columns.index(error.column) if error.column in columns else len(columns)


def _plan_staff(parsed: ParsedRoster, school: School, plan: RosterPlan, hashes: dict[str, str]) -> dict:
    """Plan the staff rows; return the user each usable homeroom username stands for (lowercase)."""
    wanted = {entry.username.lower() for entry in parsed.staff}
    wanted |= {entry.homeroom_username.lower() for entry in parsed.classes if entry.homeroom_username}
    if not wanted:
        return {}
    users = {
        user.username_lower: user
        for user in User.objects.annotate(username_lower=Lower("username")).filter(username_lower__in=wanted)
    }
    staff_here = {
        staff.user_id: staff
        for staff in Staff.objects.filter(school=school, user__in=[user.pk for user in users.values()])
        .select_related("user")
        .prefetch_related("roles")
    }
    phones = {entry.phone for entry in parsed.staff if entry.phone}
    phone_owners = dict(User.objects.filter(phone__in=phones).values_list("phone", "pk")) if phones else {}

    teachers: dict[str, User] = {}
    for entry in parsed.staff:
        lower = entry.username.lower()
        user = users.get(lower)
        staff = staff_here.get(user.pk) if user is not None else None
        if user is not None and staff is None:
            plan.errors.append(RowError(STAFF_SHEET, entry.row, USERNAME, str(USERNAME_TAKEN)))
            continue
        owner = phone_owners.get(entry.phone)
        if owner is not None and (user is None or owner != user.pk):
            plan.errors.append(RowError(STAFF_SHEET, entry.row, PHONE, str(STAFF_PHONE_TAKEN)))
            continue
        if staff is None:
            user = User(
                username=entry.username,
                full_name=entry.full_name,
                phone=entry.phone or None,
                password=hashes.get(lower) or make_password(None),
            )
            if entry.password and not _password_acceptable(entry, user, plan):
                continue
            staff = Staff(school=school, user=user, title=entry.title)
            plan.new_users.append(user)
            plan.new_staff.append(staff)
            plan.new_roles.extend(StaffRole(staff=staff, role=role) for role in sorted(entry.roles))
        else:
            user = staff.user
            _plan_staff_update(entry, staff, plan)
        teachers[lower] = user

    for entry in parsed.classes:
        lower = entry.homeroom_username.lower()
        if not lower or lower in teachers or lower in parsed.file_usernames:
            continue
        user = users.get(lower)
        staff = staff_here.get(user.pk) if user is not None else None
        if staff is not None and staff.is_active:
            teachers[lower] = staff.user
        else:
            reason = HOMEROOM_UNKNOWN % {"username": entry.homeroom_username}
            plan.errors.append(RowError(CLASSES_SHEET, entry.row, HOMEROOM, str(reason)))
    return teachers


def _password_acceptable(entry: StaffEntry, user: User, plan: RosterPlan) -> bool:
    try:
        validate_password(entry.password, user)
    except ValidationError as error:
        plan.errors.append(RowError(STAFF_SHEET, entry.row, PASSWORD, "".join(error.messages)))
        return False
    return True


def _plan_staff_update(entry: StaffEntry, staff: Staff, plan: RosterPlan) -> None:
    user = staff.user
    user_changed = staff_changed = False
    if user.full_name != entry.full_name:
        user.full_name, user_changed = entry.full_name, True
    if entry.phone and user.phone != entry.phone:
        user.phone, user_changed = entry.phone, True
    if entry.title and staff.title != entry.title:
        staff.title, staff_changed = entry.title, True
    if not staff.is_active:
        staff.is_active, staff_changed = True, True
    held = {staff_role.role for staff_role in staff.roles.all()}
    granted = [StaffRole(staff=staff, role=role) for role in sorted(entry.roles - held)]
    if user_changed:
        plan.changed_users.append(user)
    if staff_changed:
        plan.changed_staff.append(staff)
    plan.new_roles.extend(granted)
    if user_changed or staff_changed or granted:
        plan.updated_staff_count += 1


def _plan_classrooms(
    parsed: ParsedRoster, school: School, plan: RosterPlan, teachers: dict[str, User]
) -> dict[tuple[int, int], Classroom]:
    classrooms = {(c.grade, c.number): c for c in Classroom.objects.filter(school=school)}
    wanted = {(entry.grade, entry.class_number) for entry in parsed.students}
    wanted |= {(entry.grade, entry.class_number) for entry in parsed.classes}
    for grade, number in sorted(wanted - classrooms.keys()):
        classroom = Classroom(school=school, grade=grade, number=number)
        classrooms[(grade, number)] = classroom
        plan.new_classrooms.append(classroom)
    for entry in parsed.classes:
        teacher = teachers.get(entry.homeroom_username.lower())
        if teacher is None:
            continue  # no teacher named (left as it is), or an error already reported
        classroom = classrooms[(entry.grade, entry.class_number)]
        if classroom.pk is None:
            classroom.homeroom_teacher = teacher
        elif teacher.pk is None or classroom.homeroom_teacher_id != teacher.pk:
            classroom.homeroom_teacher = teacher
            plan.changed_classrooms.append(classroom)
    return classrooms


def _plan_students(
    parsed: ParsedRoster, school: School, plan: RosterPlan, classrooms: dict[tuple[int, int], Classroom]
) -> None:
    if not parsed.students:
        return
    students = {student.student_number: student for student in Student.objects.filter(school=school)}
    guardians_of: dict[int, dict[str, Guardian]] = defaultdict(dict)
    for guardian in Guardian.objects.filter(student__school=school).order_by("pk"):
        guardians_of[guardian.student_id].setdefault(guardian.phone, guardian)

    for entry in parsed.students:
        classroom = classrooms[(entry.grade, entry.class_number)]
        student = students.get(entry.student_number)
        if student is None:
            student = Student(
                school=school,
                classroom=classroom,
                name=entry.name,
                student_number=entry.student_number,
                gender=entry.gender,
            )
            plan.new_students.append(student)
            plan.new_guardians.extend(
                Guardian(student=student, name=g.name, relation=g.relation, phone=g.phone)
                for g in entry.guardians
            )
            continue
        changed = False
        if classroom.pk is None or student.classroom_id != classroom.pk:
            student.classroom, changed = classroom, True
        for attribute, value in (("name", entry.name), ("gender", entry.gender), ("is_active", True)):
            if getattr(student, attribute) != value:
                setattr(student, attribute, value)
                changed = True
        if changed:
            plan.changed_students.append(student)
        on_record = guardians_of[student.pk]
        for wanted in entry.guardians:
            guardian = on_record.get(wanted.phone)
            if guardian is None:
                plan.new_guardians.append(
                    Guardian(student=student, name=wanted.name, relation=wanted.relation, phone=wanted.phone)
                )
            elif guardian.user_id is None and (guardian.name, guardian.relation) != (
                wanted.name,
                wanted.relation,
            ):
                guardian.name, guardian.relation = wanted.name, wanted.relation
                plan.changed_guardians.append(guardian)


def hash_initial_passwords(parsed: ParsedRoster) -> dict[str, str]:
    """Hashes of the initial passwords of accounts still to be created, by lowercase username.

    Hashing is slow on purpose (a second each on a small server), so it is done before the
    transaction, and not for usernames that already have an account (which keeps its password).
    """
    passwords = {entry.username.lower(): entry.password for entry in parsed.staff if entry.password}
    if not passwords:
        return {}
    taken = set(
        User.objects.annotate(username_lower=Lower("username"))
        .filter(username_lower__in=passwords)
        .values_list("username_lower", flat=True)
    )
    return {
        username: make_password(password) for username, password in passwords.items() if username not in taken
    }


def _write(plan: RosterPlan, *, actor, reason: str) -> None:
    """Create and update in dependency order; each step is a constant number of queries per batch."""
    history = {"batch_size": BATCH_SIZE, "default_user": actor, "default_change_reason": reason}

    def create(rows, model) -> None:
        if rows:
            bulk_create_with_history(rows, model, **history)

    def update(rows, model, fields) -> None:
        if rows:
            bulk_update_with_history(rows, model, fields, **history)

    create(plan.new_users, User)
    update(plan.changed_users, User, ["full_name", "phone"])
    create(plan.new_staff, Staff)
    update(plan.changed_staff, Staff, ["title", "is_active"])
    create(plan.new_roles, StaffRole)
    create(plan.new_classrooms, Classroom)
    update(plan.changed_classrooms, Classroom, ["homeroom_teacher"])
    create(plan.new_students, Student)
    update(plan.changed_students, Student, ["name", "classroom", "gender", "is_active"])
    create(plan.new_guardians, Guardian)
    update(plan.changed_guardians, Guardian, ["name", "relation"])


# Access -----------------------------------------------------------------------------------------


def get_roster_import_for_user(user, pk: int) -> RosterImport:
    """Only the school's administrators see or act on its imports; outsiders get 404."""
    roster_import = RosterImport.objects.select_related("school", "uploaded_by", "job").filter(pk=pk).first()
    if roster_import is None:
        raise Http404
    roles = access_for(user).roles_at(roster_import.school_id)
    if Role.ADMINISTRATOR in roles:
        return roster_import
    if roles <= {Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER}:
        raise Http404
    raise PermissionDenied


# Services ---------------------------------------------------------------------------------------


def roster_import_create(*, actor, school: School, uploaded_file) -> RosterImport:
    """Store the upload and start checking it. The file is written before the transaction."""
    check_xlsx_upload(uploaded_file)
    roster_import = RosterImport(
        school=school, uploaded_by=actor, original_name=(uploaded_file.name or "")[-200:]
    )
    roster_import.file.save("roster.xlsx", uploaded_file, save=False)
    with transaction.atomic():
        roster_import.save()
        roster_import.job = job_start(
            actor=actor, school=school, kind=ROSTER_VALIDATE, params={"roster_import_id": roster_import.pk}
        )
        roster_import.save(update_fields=["job"])
    return roster_import


def _listed(errors: list[RowError]) -> list[dict]:
    return [error.as_dict() for error in errors[:MAX_LISTED_ERRORS]]


def _read_stored_file(roster_import: RosterImport) -> ParsedRoster:
    if not roster_import.file:
        raise FileNotFoundError(roster_import.pk)
    with roster_import.file.open("rb") as stored:
        content = stored.read()
    return parse_roster(io.BytesIO(content))


def _forget_file(roster_import: RosterImport) -> None:
    """Delete the upload once it can no longer be imported (it may hold personal data, passwords)."""
    if roster_import.file:
        roster_import.file.delete(save=False)
        RosterImport.objects.filter(pk=roster_import.pk).update(file="")


UNCONFIRMED_UPLOAD_DAYS = 7


def roster_uploads_sweep(*, now=None) -> int:
    """Uploads that were checked but never imported within a week expire and lose their file: it
    holds children's and guardians' personal data (and staff passwords) nobody is going to use.
    Returns how many expired. Run daily by beat."""
    cutoff = (now or timezone.now()) - timedelta(days=UNCONFIRMED_UPLOAD_DAYS)
    stale = list(
        RosterImport.objects.filter(
            created_at__lt=cutoff, status__in=[RosterImportStatus.CHECKING, RosterImportStatus.VALID]
        )
    )
    for roster_import in stale:
        _forget_file(roster_import)
    RosterImport.objects.filter(pk__in=[r.pk for r in stale]).update(status=RosterImportStatus.EXPIRED)
    return len(stale)


def roster_import_validate(*, roster_import: RosterImport) -> RosterImport:
    """Check a new upload into a preview: counts if it can be imported, else every error. Writes no rows."""
    if roster_import.status != RosterImportStatus.CHECKING:
        return roster_import
    plan = plan_roster(_read_stored_file(roster_import), roster_import.school)
    status = RosterImportStatus.INVALID if plan.errors else RosterImportStatus.VALID
    RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.CHECKING).update(
        status=status,
        summary={} if plan.errors else plan.counts,
        errors=_listed(plan.errors),
        error_count=len(plan.errors),
        checked_at=timezone.now(),
    )
    roster_import.refresh_from_db()
    if roster_import.status == RosterImportStatus.INVALID:
        _forget_file(roster_import)
    return roster_import


def roster_import_confirm(*, actor, roster_import: RosterImport) -> Job | None:
    """Start the import of a checked upload; None if it is not waiting for confirmation (any more)."""
    with transaction.atomic():
        locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if locked.status != RosterImportStatus.VALID:
            return None
        locked.job = job_start(
            actor=actor,
            school=roster_import.school,
            kind=ROSTER_APPLY,
            params={"roster_import_id": locked.pk},
        )
        locked.status = RosterImportStatus.IMPORTING
        locked.save(update_fields=["job", "status"])
    return locked.job


class _Refused(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def roster_import_apply(
    *, actor, roster_import: RosterImport, progress: Progress | None = None
) -> RosterImport:
    """Import a confirmed upload: check it again against the records as they are now, then write all
    of it in one transaction. A second run, or a run on an import not confirmed, does nothing."""
    report = progress or (lambda percent, message="": None)
    if roster_import.status != RosterImportStatus.IMPORTING:
        return roster_import
    try:
        parsed = _read_stored_file(roster_import)
    except FileNotFoundError:
        # Another run imported it, and deleted the upload, since this one loaded the row.
        roster_import.refresh_from_db()
        if roster_import.status != RosterImportStatus.IMPORTING:
            return roster_import
        raise
    report(20, _("正在准备导入"))
    hashes = hash_initial_passwords(parsed)
    report(40, _("正在写入"))
    try:
        with transaction.atomic():
            # One import at a time per school: a second one plans against the rows the first wrote.
            School.objects.select_for_update().filter(pk=roster_import.school_id).first()
            locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
            if locked.status != RosterImportStatus.IMPORTING:
                return locked
            plan = plan_roster(parsed, roster_import.school, password_hashes=hashes)
            if plan.errors:
                raise _Refused(plan.errors)
            _write(plan, actor=actor, reason=f"roster import #{locked.pk}")
            locked.status = RosterImportStatus.IMPORTED
            locked.summary = plan.counts
            locked.errors, locked.error_count = [], 0
            locked.imported_at, locked.imported_by = timezone.now(), actor
            locked.save(
                update_fields=["status", "summary", "errors", "error_count", "imported_at", "imported_by"]
            )
    except _Refused as refused:
        RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.IMPORTING).update(
            status=RosterImportStatus.INVALID,
            summary={},
            errors=_listed(refused.errors),
            error_count=len(refused.errors),
            checked_at=timezone.now(),
        )
    except Exception:
        # Nothing was written; the administrator may confirm again.
        RosterImport.objects.filter(pk=roster_import.pk, status=RosterImportStatus.IMPORTING).update(
            status=RosterImportStatus.VALID
        )
        raise
    roster_import.refresh_from_db()
    if roster_import.status in (RosterImportStatus.INVALID, RosterImportStatus.IMPORTED):
        _forget_file(roster_import)
    return roster_import


# Template ---------------------------------------------------------------------------------------


def roster_template_bytes() -> bytes:
    """An empty roster: the three sheets with headers and an example row, and a sheet of notes."""
    workbook = new_workbook()
    bold = Font(bold=True)
    for sheet in SHEETS:
        worksheet = workbook.create_sheet(sheet)
        headers = []
        for column in COLUMNS[sheet]:
            cell = WriteOnlyCell(worksheet, value=column)
            cell.font = bold
            headers.append(cell)
        write_row(worksheet, headers)
        write_row(worksheet, EXAMPLE_ROWS[sheet])
        worksheet.freeze_panes = "A2"
        for letter in "ABCDEFGHIJK"[: len(COLUMNS[sheet])]:
            worksheet.column_dimensions[letter].width = 14
    notes = workbook.create_sheet(_("填写说明"))
    for line in _template_notes():
        write_row(notes, [line])
    notes.column_dimensions["A"].width = 110
    return workbook_bytes(workbook)


def _template_notes() -> list[str]:
    roles = "、".join(staff_role_labels())
    return [
        _(
            "“学生”表：每行一名学生。年级填1到6，班号填数字。学号在本校唯一：已有的学号会更新该学生的姓名、班级和性别，并恢复为在读。"
        ),
        _(
            "性别填“男”或“女”；关系填父亲、母亲、祖父母、外祖父母或其他；手机号码为11位数字。第二位监护人可不填，填写时三列都要填。"
        ),
        _("已有学生的监护人按手机号码对应：新的号码添加为新的监护人，原有的监护人不会被删除。"),
        _(
            "“教职工”表：用户名为3到30位字母、数字、下划线、点或连字符。角色可填多个，用顿号或逗号分隔：%(roles)s。"
        )
        % {"roles": roles},
        _("初始密码只用于新账户，可不填：不填时账户暂不能登录，请管理员之后为其设置密码。"),
        _("“班级”表：填写班主任的用户名（本校教职工或“教职工”表中的人）。学生表中出现的新班级会自动创建。"),
        _("导入只新增或更新，不会删除学生、监护人、教职工或角色；空白的选填单元格不会覆盖已有内容。"),
        _("第2行的示例会被忽略，可保留或删除。以 =、+、-、@ 开头的内容按文字保存，不会被当作公式。"),
        _("上传后会先检查并列出每一处错误；确认导入时全部导入，或者全部不导入。"),
    ]


# Jobs -------------------------------------------------------------------------------------------


def _roster_import_for_job(job: Job) -> RosterImport:
    # The job acts for the person who started it, so the policy is asked again here.
    try:
        return get_roster_import_for_user(job.created_by, job.params["roster_import_id"])
    except (Http404, PermissionDenied) as error:
        RosterImport.objects.filter(
            pk=job.params["roster_import_id"], status=RosterImportStatus.IMPORTING
        ).update(status=RosterImportStatus.VALID)
        raise JobError(_("您没有导入本校名单的权限。")) from error


@job_handler(ROSTER_VALIDATE)
def roster_validate_job(job: Job, progress: Progress) -> JobResult:
    roster_import = _roster_import_for_job(job)
    progress(10, _("正在检查名单"))
    roster_import = roster_import_validate(roster_import=roster_import)
    if roster_import.status == RosterImportStatus.INVALID:
        message = _("发现 %(count)d 处错误，没有导入任何数据。") % {"count": roster_import.error_count}
    else:
        message = _("检查通过，请核对后确认导入。")
    return JobResult(url=reverse("roster:import-detail", args=[roster_import.pk]), message=message)


@job_handler(ROSTER_APPLY)
def roster_apply_job(job: Job, progress: Progress) -> JobResult:
    roster_import = _roster_import_for_job(job)
    progress(10, _("正在读取名单"))
    try:
        roster_import = roster_import_apply(
            actor=job.created_by, roster_import=roster_import, progress=progress
        )
    except IntegrityError as error:
        # Someone else wrote a clashing row (a username, a student number) while this one was writing.
        raise JobError(_("导入时有人同时修改了相关数据，没有导入任何数据。请再次确认导入。")) from error
    if roster_import.status == RosterImportStatus.IMPORTED:
        message = _("导入完成。")
    elif roster_import.status == RosterImportStatus.INVALID:
        message = _("导入前复查发现 %(count)d 处错误，没有导入任何数据。") % {
            "count": roster_import.error_count
        }
    else:
        message = _("这份名单不在待导入状态，没有导入。")
    return JobResult(url=reverse("roster:import-detail", args=[roster_import.pk]), message=message)
