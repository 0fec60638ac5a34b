"""Attendance pages: hand-over (交接) at the end of a session, one tap per child, and its undo."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from aftercare.models import Guardian, Student
from aftercare.views import add_service_errors

from .. import handover
from ..models import PickupPerson
from ..permissions import get_hand_over_for_user, get_session_for_user, session_allows

HANDED_OVER = gettext_lazy("已记录：%(name)s 由 %(collector)s 接走（%(time)s）。")
WENT_HOME_ALONE = gettext_lazy("已记录：%(name)s 自行回家（%(time)s）。")
HAND_OVER_UNDONE = gettext_lazy("已撤销 %(name)s 的交接记录。")
NOT_ON_THE_SHEET = gettext_lazy("这名学生不在本场次名单中。")


class HandOverForm(forms.Form):
    student = forms.IntegerField(min_value=1, error_messages={"required": NOT_ON_THE_SHEET})
    collector = forms.RegexField(
        regex=r"^(g-\d+|p-\d+|alone)$",
        error_messages={"required": handover.ONE_COLLECTOR, "invalid": handover.ONE_COLLECTOR},
    )


def _collector(value: str) -> dict | None:
    """The service's keyword for a button's value, or None when it names nobody."""
    if value == handover.ALONE:
        return {"went_home_alone": True}
    kind, pk = value.split("-")
    if kind == "g":
        guardian = Guardian.objects.filter(pk=int(pk)).first()
        return {"guardian": guardian} if guardian is not None else None
    person = PickupPerson.objects.filter(pk=int(pk)).first()
    return {"pickup_person": person} if person is not None else None


def _render(request, session, *, form=None, status=200):
    sheet = handover.hand_over_sheet(session, viewer=request.user)
    return render(
        request,
        "attendance/handover_session.html",
        {
            "session": session,
            "sheet": sheet,
            "may_teach": session_allows(request.user, session, "teach"),
            "may_undo": session.date == timezone.localdate(),
            "form": form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def hand_over(request, pk):
    if request.method == "GET":
        return _render(request, get_session_for_user(request.user, pk, action="view"))
    session = get_session_for_user(request.user, pk, action="teach")
    form = HandOverForm(request.POST)
    if form.is_valid():
        student = Student.objects.filter(pk=form.cleaned_data["student"], school_id=session.school_id).first()
        collector = _collector(form.cleaned_data["collector"]) if student is not None else None
        if student is None:
            form.add_error(None, NOT_ON_THE_SHEET)
        elif collector is None:
            form.add_error(None, handover.ONE_COLLECTOR)
        else:
            try:
                record = handover.hand_over_record(
                    actor=request.user, session=session, student=student, **collector
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                moment = f"{timezone.localtime(record.handed_over_at):%H:%M}"
                if record.went_home_alone:
                    messages.success(request, WENT_HOME_ALONE % {"name": student.name, "time": moment})
                else:
                    messages.success(
                        request,
                        HANDED_OVER
                        % {"name": student.name, "collector": record.collected_by_name, "time": moment},
                    )
                return redirect(reverse("attendance:hand-over", args=[session.pk]))
    return _render(request, session, form=form, status=400)


@login_required
@require_POST
def hand_over_undo(request, pk):
    record = get_hand_over_for_user(request.user, pk)
    session = record.session
    try:
        handover.hand_over_undo(actor=request.user, hand_over=record)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, HAND_OVER_UNDONE % {"name": record.student.name})
    return redirect("attendance:hand-over", pk=session.pk)


urlpatterns = [
    path("sessions/<int:pk>/hand-over/", hand_over, name="hand-over"),
    path("hand-overs/<int:pk>/undo/", hand_over_undo, name="hand-over-undo"),
]
