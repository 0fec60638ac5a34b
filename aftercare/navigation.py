"""Role-aware navigation: which links a person sees at the school they are acting for."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import School
from .permissions import access_for, active_school_id
from .roles import Role

# (url name, label, roles that see it). The policy still checks every view; this only hides links.
SCHOOL_ROLES = set(Role) - {Role.DISTRICT_OFFICER}

NAV_ITEMS = [
    ("home", _("首页"), None),
    ("core:notification-list", _("通知"), None),
    ("catalogue:offer", _("课后服务公示"), SCHOOL_ROLES),
    ("enrollment:family-home", _("报名"), {Role.PARENT}),
    ("enrollment:class-review", _("班级审核"), {Role.HOMEROOM_TEACHER}),
    ("enrollment:principal-review", _("报名审定"), {Role.PRINCIPAL}),
    ("enrollment:application-list", _("报名名单"), {Role.PRINCIPAL, Role.ADMINISTRATOR, Role.FINANCE}),
    ("enrollment:participation", _("参与率"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("enrollment:waiver-list", _("减免审核"), {Role.PRINCIPAL, Role.FINANCE}),
    ("enrollment:bills", _("收费"), {Role.PRINCIPAL, Role.FINANCE}),
    ("enrollment:agreement-list", _("服务协议"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("core:classroom-list", _("班级与学生"), {Role.PRINCIPAL, Role.ADMINISTRATOR, Role.HOMEROOM_TEACHER}),
    ("catalogue:term-list", _("学期与课程"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("catalogue:provider-list", _("服务机构"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("core:staff-list", _("教职工"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("roster:import-upload", _("名册导入"), {Role.ADMINISTRATOR}),
    ("core:audit-log", _("操作记录"), {Role.PRINCIPAL, Role.ADMINISTRATOR}),
    ("core:district-school-list", _("辖区学校"), {Role.DISTRICT_OFFICER}),
    ("catalogue:district-provider-list", _("机构审核"), {Role.DISTRICT_OFFICER}),
    ("catalogue:district-policy-edit", _("收费与酬金标准"), {Role.DISTRICT_OFFICER}),
]


def navigation_for(request) -> dict:
    access = access_for(request.user)
    school_id = active_school_id(request)
    roles = set(access.roles_at(school_id))
    if access.district_ids:
        roles.add(Role.DISTRICT_OFFICER)
    items = [
        {
            "url": reverse(name),
            "label": label,
            "active": request.resolver_match is not None and request.resolver_match.view_name == name,
        }
        for name, label, allowed in NAV_ITEMS
        if allowed is None or roles & allowed
    ]
    own_school_ids = [sid for sid, sa in access.schools.items() if sa.roles - {Role.DISTRICT_OFFICER}]
    schools = []
    if len(own_school_ids) > 1:
        schools = list(School.objects.filter(pk__in=own_school_ids).values("pk", "name"))
    active_school = None
    if school_id is not None:
        active_school = next((s for s in schools if s["pk"] == school_id), None)
    return {
        "nav_items": items,
        "active_school_id": school_id,
        "switchable_schools": schools,
        "active_school_name": active_school["name"] if active_school else None,
        "active_roles": sorted((Role(r) for r in roles), key=lambda r: list(Role).index(r)),
        "needs_two_factor_banner": access.needs_two_factor,
    }
