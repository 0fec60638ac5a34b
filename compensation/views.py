"""Pages: teachers' pay. The administrator sets the term's rules, fund and survey scores and drafts
the payout; the principal approves it; finance reads it; each teacher reads their own line."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftercare.jobs import job_start
from aftercare.permissions import access_for, require_school_role
from aftercare.roles import Role
from aftercare.views import add_service_errors

from . import gather, selectors, services
from .forms import DraftForm, PayPolicyForm, SurveyScoresForm, TermFundForm
from .job_kinds import PAY_SHEET_PDF, PAY_SHEET_XLSX
from .models import SurveyScoreEntry
from .permissions import (
    APPROVE_ROLES,
    MANAGE_ROLES,
    MY_PAY_ROLES,
    VIEW_ROLES,
    get_line_for_user,
    get_own_line,
    get_run_for_user,
    get_term_for_user,
)

POLICY_SAVED = gettext_lazy("%(term)s的酬金规则已保存。")
FUND_SAVED = gettext_lazy("%(term)s的经费已保存。")
SCORES_SAVED = gettext_lazy("家长问卷得分已保存：%(count)d 名教师有得分。")
APPROVED = gettext_lazy("已审定%(term)s的课后服务酬金，共 %(teachers)d 名教师，发放合计 %(total)s 元。")


def _roles(user, school_id):
    return access_for(user).roles_at(school_id)


# The school's terms ----------------------------------------------------------------------------


@login_required
@require_GET
def home(request):
    school = require_school_role(request, *VIEW_ROLES)
    return render(
        request,
        "compensation/home.html",
        {"school": school, "terms": selectors.school_terms(school)},
    )


def _render_term(request, term, *, draft_form=None, status=200):
    roles = _roles(request.user, term.school_id)
    run = selectors.term_run(term)
    band_low, band_high = gather.hourly_band(term)
    basis = gather.fund_basis(term)
    return render(
        request,
        "compensation/term.html",
        {
            "term": term,
            "run": run,
            "is_frozen": run is not None and run.is_approved,
            "may_manage": bool(roles & MANAGE_ROLES),
            "policy_rows": selectors.policy_rows(
                gather.settings_snapshot(gather.pay_policy(term), band_low, band_high)
            ),
            "fund_rows": selectors.fund_rows(basis.as_json()),
            "fund_negative": basis.fund < 0,
            "teacher_count": len(selectors.term_teachers(term)),
            "score_count": SurveyScoreEntry.objects.filter(term=term).count(),
            "default_cut_off": gather.default_cut_off(term),
            "draft_form": draft_form or DraftForm(),
        },
        status=status,
    )


@login_required
@require_GET
def term_detail(request, pk):
    term = get_term_for_user(request.user, pk)
    return _render_term(request, term)


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request, pk):
    term = get_term_for_user(request.user, pk, action="manage")
    policy = gather.pay_policy(term)
    initial = {name: getattr(policy, name) for name in gather.POLICY_FIELDS}
    form = PayPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.pay_policy_update(actor=request.user, term=term, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, POLICY_SAVED % {"term": term.name})
            return redirect("compensation:term", pk=term.pk)
    band_low, band_high = gather.hourly_band(term)
    return render(
        request,
        "compensation/policy_form.html",
        {
            "term": term,
            "form": form,
            "band_low": band_low,
            "band_high": band_high,
            "is_frozen": selectors.is_frozen(term),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def fund_edit(request, pk):
    term = get_term_for_user(request.user, pk, action="manage")
    fund = gather.term_fund(term)
    form = TermFundForm(
        request.POST or None,
        initial={
            "source": fund.source,
            "entered_amount": fund.entered_amount,
            "fiscal_subsidy": fund.fiscal_subsidy,
            "reserve": fund.reserve,
            "note": fund.note,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.term_fund_update(actor=request.user, term=term, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, FUND_SAVED % {"term": term.name})
            return redirect("compensation:term", pk=term.pk)
    basis = gather.fund_basis(term, fund)
    return render(
        request,
        "compensation/fund_form.html",
        {"term": term, "form": form, "basis": basis, "is_frozen": selectors.is_frozen(term)},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_scores(request, pk):
    term = get_term_for_user(request.user, pk, action="manage")
    teachers = selectors.term_teachers(term)
    entries = {entry.teacher_id: entry for entry in SurveyScoreEntry.objects.filter(term=term)}
    form = SurveyScoresForm(request.POST or None, teachers=teachers, entries=entries)
    if request.method == "POST" and form.is_valid():
        try:
            count = services.survey_scores_record(actor=request.user, term=term, scores=form.scores())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, SCORES_SAVED % {"count": count})
            return redirect("compensation:term", pk=term.pk)
    return render(
        request,
        "compensation/survey_scores.html",
        {"term": term, "form": form, "is_frozen": selectors.is_frozen(term)},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def run_draft(request, pk):
    term = get_term_for_user(request.user, pk, action="manage")
    form = DraftForm(request.POST)
    if form.is_valid():
        try:
            job = services.payout_draft_start(
                actor=request.user, term=term, cut_off=form.cleaned_data["cut_off"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("core:job-detail", pk=job.pk)
    return _render_term(request, term, draft_form=form, status=400)


# A run -----------------------------------------------------------------------------------------


@login_required
@require_GET
def run_detail(request, pk):
    run = get_run_for_user(request.user, pk)
    roles = _roles(request.user, run.school_id)
    lines = selectors.run_lines(run)
    if run.is_approved:
        corrections = selectors.corrections_since(run.term, run.approved_at)
        settings_changed = []
    else:
        corrections = selectors.corrections_since(run.term, run.drafted_at)
        settings_changed = selectors.settings_changed_since(run.term, run.drafted_at)
    return render(
        request,
        "compensation/run_detail.html",
        {
            "run": run,
            "term": run.term,
            "lines": lines,
            "totals": selectors.line_totals(lines),
            "warning_groups": selectors.warning_groups(run.warnings),
            "policy_rows": selectors.policy_rows(run.policy),
            "fund_rows": selectors.fund_rows(run.fund_basis),
            "notes": selectors.pay_sheet_notes(run),
            "corrections": corrections,
            "settings_changed": settings_changed,
            "may_approve": not run.is_approved and bool(roles & APPROVE_ROLES),
            "may_manage": not run.is_approved and bool(roles & MANAGE_ROLES),
        },
    )


@login_required
@require_GET
def run_line(request, pk, line_pk):
    line = get_line_for_user(request.user, pk, line_pk)
    return render(
        request,
        "compensation/line_detail.html",
        {"line": line, "run": line.run, "sessions": selectors.session_rows(line), "own": False},
    )


@login_required
@require_POST
def run_approve(request, pk):
    run = get_run_for_user(request.user, pk, action="approve")
    try:
        run = services.payout_run_approve(actor=request.user, run=run)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, APPROVED % {"term": run.term.name, "teachers": run.teacher_count, "total": run.total}
        )
    return redirect("compensation:run-detail", pk=run.pk)


def _export(request, pk, kind):
    run = get_run_for_user(request.user, pk)
    job = job_start(actor=request.user, school=run.school, kind=kind, params={"run_id": run.pk})
    return redirect("core:job-detail", pk=job.pk)


@login_required
@require_POST
def run_export_xlsx(request, pk):
    return _export(request, pk, PAY_SHEET_XLSX)


@login_required
@require_POST
def run_export_pdf(request, pk):
    return _export(request, pk, PAY_SHEET_PDF)


# A teacher's own pay ---------------------------------------------------------------------------


@login_required
@require_GET
def my_pay(request):
    school = require_school_role(request, *MY_PAY_ROLES)
    roles = _roles(request.user, school.pk)
    return render(
        request,
        "compensation/my_pay.html",
        {
            "lines": selectors.my_lines(request.user),
            "is_provider_staff": Role.PROVIDER_STAFF in roles,
        },
    )


@login_required
@require_GET
def my_pay_line(request, pk):
    line = get_own_line(request.user, pk)
    return render(
        request,
        "compensation/line_detail.html",
        {"line": line, "run": line.run, "sessions": selectors.session_rows(line), "own": True},
    )


urlpatterns = [
    path("", home, name="home"),
    path("terms/<int:pk>/", term_detail, name="term"),
    path("terms/<int:pk>/policy/", policy_edit, name="policy-edit"),
    path("terms/<int:pk>/fund/", fund_edit, name="fund-edit"),
    path("terms/<int:pk>/surveys/", survey_scores, name="survey-scores"),
    path("terms/<int:pk>/draft/", run_draft, name="run-draft"),
    path("runs/<int:pk>/", run_detail, name="run-detail"),
    path("runs/<int:pk>/lines/<int:line_pk>/", run_line, name="run-line"),
    path("runs/<int:pk>/approve/", run_approve, name="run-approve"),
    path("runs/<int:pk>/export/xlsx/", run_export_xlsx, name="run-export-xlsx"),
    path("runs/<int:pk>/export/pdf/", run_export_pdf, name="run-export-pdf"),
    path("mine/", my_pay, name="my-pay"),
    path("mine/<int:pk>/", my_pay_line, name="my-pay-line"),
]
