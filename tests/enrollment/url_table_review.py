"""Who may reach the review pages (see tests/aftercare/test_url_permissions.py).

POSTs are sent with no useful data: an allowed persona gets the page again (200) or a redirect
with a message (302); everyone else 403 or 404. Pages without an object act on the user's own school,
so the principal of school B reaches them too (with school B's rows)."""

from decimal import Decimal

from catalogue import services as catalogue
from catalogue.models import FeeMode
from enrollment import services


def _application(world, *, waiver=False):
    term = world.school.terms.get()
    admin = world.users["admin"]
    catalogue.term_setup_defaults(actor=admin, term=term)
    for offering in catalogue.basic_care_create_for_all_classes(
        actor=admin, term=term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("300.00"), capacity=40
    ):
        catalogue.offering_publish(actor=admin, offering=offering)
    return services.application_submit(
        actor=world.users["parent"],
        student=world.child,
        term=term,
        wants_basic_care=True,
        course_ids=[],
        waiver_requested=waiver,
        waiver_reason="家庭经济困难" if waiver else "",
    )


def _submitted(world):
    return {"pk": _application(world).pk}


def _class_approved(world):
    application = _application(world)
    services.application_class_approve(actor=world.users["homeroom"], application=application)
    return {"pk": application.pk}


def _waiver_requested(world):
    return {"pk": _application(world, waiver=True).pk}


def _agreement(world):
    agreement = services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="课后服务协议",
        body="学校与家长的职责。",
        effective_from=world.school.terms.get().starts_on,
    )
    return {"pk": agreement.pk}


URL_TABLE = {
    # Homeroom teachers, each of their own classes (the other class's teacher sees an empty page).
    "enrollment:class-review": ("get", None, {"homeroom", "other_homeroom"}),
    # The 3-1 application: only 3-1's homeroom teacher reviews it.
    "enrollment:application-class-approve": ("post", _submitted, {"homeroom"}),
    "enrollment:application-return": ("post", _submitted, {"homeroom"}),
    # The principal of the acting school (school B's principal sees school B's page).
    "enrollment:principal-review": ("get", None, {"principal", "far_principal"}),
    "enrollment:applications-approve": ("post", None, {"principal", "far_principal"}),
    "enrollment:application-reject": ("post", _class_approved, {"principal"}),
    # Finance and the principal decide waivers.
    "enrollment:waiver-list": ("get", None, {"principal", "finance", "far_principal"}),
    "enrollment:waiver-decide": ("post", _waiver_requested, {"principal", "finance"}),
    # Agreement versions: the administrator publishes, the principal reads.
    "enrollment:agreement-list": ("get", None, {"admin", "principal", "far_principal"}),
    "enrollment:agreement-detail": ("get", _agreement, {"admin", "principal"}),
    "enrollment:agreement-create": ("get", None, {"admin"}),
}
