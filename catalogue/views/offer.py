"""Pages: the public offer (公示) parents read before applying, and its printable letter."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from aftercare.jobs import job_start
from aftercare.models import School, Student
from aftercare.permissions import access_for, active_school_id
from aftercare.selectors import current_term

from ..job_kinds import OFFER_LETTER
from ..permissions import get_term_for_user
from ..selectors import public_offer


@login_required
@require_GET
def current_offer(request):
    school_id = active_school_id(request)
    if school_id is None:
        raise PermissionDenied  # the offer is a school's; this user acts for none
    term = current_term(School(pk=school_id))
    if term is None:
        return render(request, "catalogue/offer.html", {"offer": None})
    return redirect("catalogue:term-offer", pk=term.pk)


@login_required
@require_GET
def term_offer(request, pk):
    term = get_term_for_user(request.user, pk)
    school_access = access_for(request.user).schools[term.school_id]
    child_grades = frozenset(
        Student.objects.filter(pk__in=school_access.child_ids).values_list("classroom__grade", flat=True)
    )
    return render(
        request,
        "catalogue/offer.html",
        {"offer": public_offer(term, first_grades=child_grades), "term": term, "child_grades": child_grades},
    )


@login_required
@require_POST
def offer_letter(request, pk):
    term = get_term_for_user(request.user, pk)
    job = job_start(
        actor=request.user,
        school=term.school,
        kind=OFFER_LETTER,
        params={
            "term_id": term.pk,
            "offer_url": request.build_absolute_uri(reverse("catalogue:term-offer", args=[pk])),
        },
    )
    return redirect("core:job-detail", pk=job.pk)


urlpatterns = [
    path("offer/", current_offer, name="offer"),
    path("terms/<int:pk>/offer/", term_offer, name="term-offer"),
    path("terms/<int:pk>/offer/letter/", offer_letter, name="offer-letter"),
]
