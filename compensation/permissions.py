"""Who may see and do what with teachers' pay. Same rules as aftercare.permissions: 404 for outsiders
(another school, parents, committee members, district officers, and anyone asking for a line that
is not theirs), 403 for the school's staff without the role.

- view a term's pay and its runs (pay sheet, drill-down, exports): administrators, the principal, finance;
- manage (policy, fund, survey scores, draft): administrators;
- approve: the principal;
- a teacher sees their own line of an approved run, and nobody else's.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from aftercare.models import Term
from aftercare.permissions import access_for
from aftercare.roles import Role

from .models import PayoutLine, PayoutRun, RunStatus

OUTSIDER_ROLES = frozenset({Role.PARENT, Role.PARENT_COMMITTEE, Role.DISTRICT_OFFICER})
VIEW_ROLES = frozenset({Role.ADMINISTRATOR, Role.PRINCIPAL, Role.FINANCE})
MANAGE_ROLES = frozenset({Role.ADMINISTRATOR})
APPROVE_ROLES = frozenset({Role.PRINCIPAL})
ACTION_ROLES = {"view": VIEW_ROLES, "manage": MANAGE_ROLES, "approve": APPROVE_ROLES}
# Anyone working at a school may open "my pay": a teacher finds their lines there, provider staff
# read that their institution pays them.
MY_PAY_ROLES = tuple(set(Role) - OUTSIDER_ROLES)


def _allowed_roles(action: str) -> frozenset[Role]:
    if action not in ACTION_ROLES:
        raise ValueError(action)
    return ACTION_ROLES[action]


def _check(user, school_id: int, action: str) -> None:
    roles = access_for(user).roles_at(school_id)
    if not roles or roles <= OUTSIDER_ROLES:
        raise Http404
    if not roles & _allowed_roles(action):
        raise PermissionDenied


def get_term_for_user(user, pk: int, *, action: str = "view") -> Term:
    term = Term.objects.select_related("school__district").filter(pk=pk).first()
    if term is None:
        raise Http404
    _check(user, term.school_id, action)
    return term


def get_run_for_user(user, pk: int, *, action: str = "view") -> PayoutRun:
    run = (
        PayoutRun.objects.select_related("term", "school", "drafted_by", "approved_by").filter(pk=pk).first()
    )
    if run is None:
        raise Http404
    _check(user, run.school_id, action)
    return run


def get_line_for_user(user, run_pk: int, line_pk: int) -> PayoutLine:
    """A line of a run, for those who may see the whole pay sheet."""
    run = get_run_for_user(user, run_pk)
    line = PayoutLine.objects.filter(pk=line_pk, run=run).first()
    if line is None:
        raise Http404
    line.run = run
    return line


def get_own_line(user, pk: int) -> PayoutLine:
    """The user's own line of an approved run. Anyone else's line, or a draft's, is 404 exactly as
    for a missing one: a teacher cannot even learn that it exists."""
    line = (
        PayoutLine.objects.select_related("run__term", "run__school")
        .filter(pk=pk, teacher=user, run__status=RunStatus.APPROVED)
        .first()
    )
    if line is None:
        raise Http404
    return line
