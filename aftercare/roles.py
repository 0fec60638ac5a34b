from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Every role a person can hold. Roles are per school, except the district officer's."""

    PARENT = "parent", _("家长")
    HOMEROOM_TEACHER = "homeroom_teacher", _("班主任")
    SERVICE_TEACHER = "service_teacher", _("课后服务教师")
    PROVIDER_STAFF = "provider_staff", _("机构人员")
    INSPECTOR = "inspector", _("考勤检查员")
    PRINCIPAL = "principal", _("校长")
    ADMINISTRATOR = "administrator", _("管理员")
    FINANCE = "finance", _("财务")
    PARENT_COMMITTEE = "parent_committee", _("家委会")
    DISTRICT_OFFICER = "district_officer", _("教育局")


# Roles a school grants by a staff record (the others follow from a class, a child or a district).
STAFF_ROLES = (
    Role.SERVICE_TEACHER,
    Role.PROVIDER_STAFF,
    Role.INSPECTOR,
    Role.PRINCIPAL,
    Role.ADMINISTRATOR,
    Role.FINANCE,
)

# Roles that must sign in with a second factor before they reach any page of their role.
TWO_FACTOR_ROLES = frozenset({Role.PRINCIPAL, Role.ADMINISTRATOR, Role.FINANCE, Role.DISTRICT_OFFICER})

# Roles whose sessions follow the staff lifetime (30 minutes idle, 12 hours in all).
NON_STAFF_ROLES = frozenset({Role.PARENT, Role.PARENT_COMMITTEE})

SCHOOL_LEADERS = frozenset({Role.PRINCIPAL, Role.ADMINISTRATOR})
TEACHING_ROLES = frozenset({Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER, Role.PROVIDER_STAFF})
