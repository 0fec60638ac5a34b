"""Who may reach the family's enrollment pages (see tests/aftercare/test_url_permissions.py)."""

from datetime import date
from decimal import Decimal

from catalogue import services as catalogue
from catalogue.models import FeeMode
from enrollment import services

# Everyone with a child at their active school (far_parent's is at school B).
PARENTS = {"parent", "other_parent", "far_parent", "committee"}
# The child's guardians, the class's homeroom teacher, and the school's principal, administrator
# and finance: who may view an application of 3-1.
APPLICATION_VIEWERS = {"parent", "homeroom", "principal", "admin", "finance"}


def submitted_application(world):
    """The parent's application for 张小明 (basic care of 3-1), through the services."""
    term = world.school.terms.get()
    admin = world.users["admin"]
    catalogue.term_setup_defaults(actor=admin, term=term)
    for offering in catalogue.basic_care_create_for_all_classes(
        actor=admin, term=term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("300.00"), capacity=40
    ):
        catalogue.offering_publish(actor=admin, offering=offering)
    return services.application_submit(
        actor=world.users["parent"], student=world.child, term=term, wants_basic_care=True, course_ids=[]
    )


def _application(world):
    return {"pk": submitted_application(world).pk}


def _signature(world):
    application = submitted_application(world)
    agreement = services.agreement_publish(
        actor=world.users["admin"],
        school=world.school,
        title="课后服务协议",
        body="正文",
        effective_from=date(2026, 9, 1),
    )
    signature = services.agreement_sign(
        actor=world.users["parent"],
        application=application,
        agreement=agreement,
        typed_name="张妈妈",
        consent=True,
        shown_text_sha256=services.agreement_text_hash(agreement),
        ip_address="10.0.0.8",
        user_agent="WeChat",
    )
    return {"pk": signature.pk}


URL_TABLE = {
    # Parents only; each sees their own children at their active school.
    "enrollment:family-home": ("get", None, PARENTS),
    # Only the child's guardians may apply for the child; another family's parent gets 404.
    "enrollment:apply": ("get", lambda w: {"student_pk": w.child.pk}, {"parent"}),
    "enrollment:application-detail": ("get", _application, APPLICATION_VIEWERS),
    # Signing and withdrawing are the family's alone.
    "enrollment:application-sign": ("get", _application, {"parent"}),
    "enrollment:application-withdraw": ("get", _application, {"parent"}),
    # The signed agreement as a PDF: the family and the school (whoever may view the application).
    "enrollment:signature-pdf": ("post", _signature, APPLICATION_VIEWERS),
}
