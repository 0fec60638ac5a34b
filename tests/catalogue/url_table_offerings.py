"""Who may reach the offering pages (merged into tests/aftercare/test_url_permissions.py)."""

from catalogue.models import Domain, Offering, OfferingKind


def _term(world):
    return {"pk": world.school.terms.get().pk}


def _draft_course(world):
    """A draft course of school A taught by the service teacher."""
    term = world.school.terms.get()
    course = Offering.objects.create(
        school=world.school,
        term=term,
        kind=OfferingKind.COURSE,
        name="足球",
        domain=Domain.PHYSICAL,
        grades=[3],
        capacity=20,
        weekdays=[0],
    )
    course.teachers.add(world.users["service_teacher"])
    return {"pk": course.pk}


URL_TABLE = {
    # The term's list is the leaders' working page; families and teachers read published offerings.
    "catalogue:offering-list": ("get", _term, {"principal", "admin"}),
    # Writing: school A's administrators only.
    "catalogue:offering-create": ("get", _term, {"admin"}),
    # The posted data is no valid form, so the list comes back with errors and nothing is created.
    "catalogue:basic-care-create-all": ("post", _term, {"admin"}),
    "catalogue:offering-edit": ("get", _draft_course, {"admin"}),
    # A draft: the school's leaders and the course's own teacher. Parents of the school get 404,
    # other staff 403 (tests/catalogue/test_views_offerings.py has the published case).
    "catalogue:offering-detail": ("get", _draft_course, {"principal", "admin", "service_teacher"}),
    # Publishing and closing redirect the administrator to the detail page (published or refused,
    # the messages say which); everyone else is stopped by the policy.
    "catalogue:offering-publish": ("post", _draft_course, {"admin"}),
    "catalogue:offering-close": ("post", _draft_course, {"admin"}),
}
