"""Roster import pages: upload, preview with every error, confirm. Administrators of the school only."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .models import RosterImport, RosterImportStatus
from .permissions import require_school_role
from .roles import Role
from .roster_import import (
    get_roster_import_for_user,
    roster_import_confirm,
    roster_import_create,
    roster_template_bytes,
)
from .spreadsheets import check_xlsx_upload

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_ROWS = [
    ("classrooms", gettext_lazy("班级")),
    ("students", gettext_lazy("学生")),
    ("guardians", gettext_lazy("监护人")),
    ("staff", gettext_lazy("教职工")),
]


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("名单工作簿（.xlsx）"),
        help_text=gettext_lazy("不超过 10 MB。上传后会先检查，确认后才导入。"),
    )

    def clean_file(self):
        uploaded_file = self.cleaned_data["file"]
        # Refused here, before anything is stored or a job started, so the message shows at once.
        check_xlsx_upload(uploaded_file)
        return uploaded_file


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    school = require_school_role(request, Role.ADMINISTRATOR)
    form = RosterUploadForm(request.POST, request.FILES) if request.method == "POST" else RosterUploadForm()
    if request.method == "POST" and form.is_valid():
        roster_import = roster_import_create(
            actor=request.user, school=school, uploaded_file=form.cleaned_data["file"]
        )
        return redirect("core:job-detail", pk=roster_import.job_id)
    recent = RosterImport.objects.filter(school=school).select_related("uploaded_by")[:10]
    return render(
        request, "aftercare/roster_import_upload.html", {"form": form, "school": school, "recent": recent}
    )


@login_required
@require_GET
def import_template(request):
    require_school_role(request, Role.ADMINISTRATOR)
    response = HttpResponse(roster_template_bytes(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_("名单导入模板.xlsx")
    )
    return response


@login_required
@require_GET
def import_detail(request, pk):
    roster_import = get_roster_import_for_user(request.user, pk)
    summary = [
        {
            "label": label,
            "new": roster_import.summary.get(f"{key}_new", 0),
            "updated": roster_import.summary.get(f"{key}_updated", 0),
        }
        for key, label in SUMMARY_ROWS
    ]
    job = roster_import.job
    return render(
        request,
        "aftercare/roster_import_detail.html",
        {
            "roster_import": roster_import,
            "summary": summary,
            "unlisted_error_count": roster_import.error_count - len(roster_import.errors),
            "own_job": job if job is not None and job.created_by_id == request.user.pk else None,
            "Status": RosterImportStatus,
        },
    )


@login_required
@require_POST
def import_confirm(request, pk):
    roster_import = get_roster_import_for_user(request.user, pk)
    job = roster_import_confirm(actor=request.user, roster_import=roster_import)
    if job is None:
        if roster_import.status == RosterImportStatus.EXPIRED:
            messages.warning(request, _("这份名单超过 7 天没有确认，文件已删除；请重新上传。"))
        else:
            messages.warning(request, _("这份名单当前不能确认导入，可能已经导入过。"))
        return redirect("roster:import-detail", pk=roster_import.pk)
    return redirect("core:job-detail", pk=job.pk)
