"""Role-aware navigation: which links a person sees at the school they are acting for."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import School
from .permissions import access_for, active_school_id
from .roles import Role

# Groups by stage of the year, so a principal's dozens of links stay findable on a phone.
# (url name, label, roles that see it). The policy still checks every view; this only hides links.
SCHOOL_ROLES = set(Role) - {Role.DISTRICT_OFFICER}
LEADERS = {Role.PRINCIPAL, Role.ADMINISTRATOR}

NAV_TOP = [
    ("home", _("首页"), None),
    ("core:notification-list", _("通知"), None),
]

TEACHERS = {Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER, Role.PROVIDER_STAFF}
SUPERVISORS = LEADERS | {Role.INSPECTOR}

NAV_GROUPS = [
    (
        _("每日"),
        [
            ("attendance:today", _("今日点名"), TEACHERS | {Role.ADMINISTRATOR}),
            ("attendance:family-home", _("考勤与请假"), {Role.PARENT}),
            ("attendance:day-overview", _("每日考勤"), SUPERVISORS),
            ("attendance:case-list", _("缺勤跟踪"), SUPERVISORS | {Role.HOMEROOM_TEACHER}),
            ("attendance:leave-list", _("学生请假"), SUPERVISORS | TEACHERS),
            ("attendance:inspection-day", _("教师考勤"), SUPERVISORS),
            ("attendance:record-list", _("活动记录评定"), SUPERVISORS),
            ("attendance:inspection-list", _("巡查记录"), SUPERVISORS),
            ("attendance:ethics-list", _("师德失范"), LEADERS),
            ("attendance:export-children", _("导出考勤"), SUPERVISORS | TEACHERS),
            ("attendance:my-record", _("我的记录"), TEACHERS),
        ],
    ),
    (
        _("报名"),
        [
            ("catalogue:offer", _("课后服务公示"), SCHOOL_ROLES),
            ("enrollment:family-home", _("报名"), {Role.PARENT}),
            ("enrollment:class-review", _("班级审核"), {Role.HOMEROOM_TEACHER}),
            ("enrollment:principal-review", _("报名审定"), {Role.PRINCIPAL}),
            ("enrollment:application-list", _("报名名单"), LEADERS | {Role.FINANCE}),
            ("enrollment:participation", _("参与率"), LEADERS),
            ("enrollment:agreement-list", _("服务协议"), LEADERS),
        ],
    ),
    (
        _("经费"),
        [
            ("enrollment:waiver-list", _("减免审核"), {Role.PRINCIPAL, Role.FINANCE}),
            ("enrollment:bills", _("收费"), {Role.PRINCIPAL, Role.FINANCE}),
            ("compensation:home", _("教师酬金"), LEADERS | {Role.FINANCE}),
            ("compensation:my-pay", _("我的酬金"), TEACHERS),
        ],
    ),
    (
        _("学校设置"),
        [
            ("core:classroom-list", _("班级与学生"), LEADERS | {Role.HOMEROOM_TEACHER}),
            ("catalogue:term-list", _("学期与课程"), LEADERS),
            ("catalogue:provider-list", _("服务机构"), LEADERS),
            ("core:staff-list", _("教职工"), LEADERS),
            ("roster:import-upload", _("名册导入"), {Role.ADMINISTRATOR}),
            ("core:audit-log", _("操作记录"), LEADERS),
        ],
    ),
    (
        _("教育局"),
        [
            ("core:district-school-list", _("辖区学校"), {Role.DISTRICT_OFFICER}),
            ("catalogue:district-provider-list", _("机构审核"), {Role.DISTRICT_OFFICER}),
            ("catalogue:district-policy-edit", _("收费与酬金标准"), {Role.DISTRICT_OFFICER}),
        ],
    ),
]


def _links(request, entries, roles) -> list[dict]:
    current = request.resolver_match.view_name if request.resolver_match is not None else None
    return [
        {"url": reverse(name), "label": label, "active": current == name}
        for name, label, allowed in entries
        if allowed is None or roles & allowed
    ]


def navigation_for(request) -> dict:
    access = access_for(request.user)
    school_id = active_school_id(request)
    roles = set(access.roles_at(school_id))
    if access.district_ids:
        roles.add(Role.DISTRICT_OFFICER)
    items = _links(request, NAV_TOP, roles)
    groups = []
    for label, entries in NAV_GROUPS:
        links = _links(request, entries, roles)
        if links:
            groups.append({"label": label, "items": links, "active": any(link["active"] for link in links)})
    # A person with a handful of links sees them flat; groups only help when there are many.
    if sum(len(group["items"]) for group in groups) <= 6:
        items += [link for group in groups for link in group["items"]]
        groups = []
    own_school_ids = [sid for sid, sa in access.schools.items() if sa.roles - {Role.DISTRICT_OFFICER}]
    schools = []
    if len(own_school_ids) > 1:
        schools = list(School.objects.filter(pk__in=own_school_ids).values("pk", "name"))
    active_school = None
    if school_id is not None:
        active_school = next((s for s in schools if s["pk"] == school_id), None)
    return {
        "nav_items": items,
        "nav_groups": groups,
        "active_school_id": school_id,
        "switchable_schools": schools,
        "active_school_name": active_school["name"] if active_school else None,
        "active_roles": sorted((Role(r) for r in roles), key=lambda r: list(Role).index(r)),
        "needs_two_factor_banner": access.needs_two_factor,
    }
