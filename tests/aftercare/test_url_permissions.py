"""Every URL of the project, checked for anonymous users and every persona against a declared table.

A URL pattern missing from ``TABLE`` fails ``test_every_url_is_in_the_table``: add the new page here
with who may reach it.
"""

import uuid

import pytest
from django.urls import URLResolver, get_resolver, reverse

from aftercare.models import Job
from tests.conftest import client_for

PERSONAS = [
    "parent",
    "other_parent",
    "far_parent",
    "homeroom",
    "other_homeroom",
    "service_teacher",
    "provider",
    "inspector",
    "principal",
    "admin",
    "finance",
    "far_principal",
    "district",
    "committee",
    "nobody",
]
EVERYONE = frozenset(PERSONAS)
PUBLIC = "public"  # reachable signed out as well
SIGNED_IN = "signed-in"  # any signed-in user (their own account pages)
NOT_CHECKED = "not-checked"  # pages that only exist inside a flow (reached with a key, or mid-login)


def _job(world):
    job = Job.objects.create(created_by=world.users["admin"], school=world.school, kind="invitation_letters")
    return {"pk": job.pk}


# url name -> (method, kwargs builder, who may reach it). Pages without an object act on the user's
# own school, so the principal of school B reaches them too (with school B's rows: see test_isolation).
TABLE = {
    "home": ("get", None, SIGNED_IN),
    # Each person's own notifications: the pages take no object id.
    "core:notification-list": ("get", None, SIGNED_IN),
    "core:notifications-read": ("post", None, SIGNED_IN),
    "switch-school": ("post", None, SIGNED_IN),
    "join": ("get", None, PUBLIC),
    "core:classroom-list": (
        "get",
        None,
        {"homeroom", "other_homeroom", "principal", "admin", "far_principal"},
    ),
    "core:classroom-detail": ("get", lambda w: {"pk": w.classroom.pk}, {"homeroom", "principal", "admin"}),
    "core:classroom-invitations": ("post", lambda w: {"pk": w.classroom.pk}, {"homeroom", "admin"}),
    "core:student-detail": (
        "get",
        lambda w: {"pk": w.child.pk},
        {"parent", "homeroom", "principal", "admin"},
    ),
    "core:student-invitation-reissue": ("post", lambda w: {"pk": w.child.pk}, {"homeroom", "admin"}),
    "core:staff-list": ("get", None, {"principal", "admin", "far_principal"}),
    "core:staff-create": ("get", None, {"admin"}),
    "core:staff-edit": ("get", lambda w: {"pk": w.school.staff.get(user=w.users["inspector"]).pk}, {"admin"}),
    "core:audit-log": ("get", None, {"principal", "admin", "far_principal"}),
    "core:district-school-list": ("get", None, {"district"}),
    # A job is visible to the person who started it (here: the administrator), nobody else.
    "core:job-detail": ("get", _job, {"admin"}),
    "core:job-status": ("get", _job, {"admin"}),
    "core:job-download": ("get", _job, set()),  # no result file yet: 404 for everyone
    "admin:*": ("get", None, {"admin"}),
    "set_language": ("post", None, PUBLIC),
    "account_login": ("get", None, PUBLIC),
    "account_logout": ("get", None, PUBLIC),
    "account_signup": ("get", None, PUBLIC),
    "account_inactive": ("get", None, PUBLIC),
    "account_reset_password": ("get", None, PUBLIC),
    "account_reset_password_done": ("get", None, PUBLIC),
    "account_reset_password_from_key_done": ("get", None, PUBLIC),
    "account_change_password": ("get", None, SIGNED_IN),
    "account_set_password": ("get", None, SIGNED_IN),
    "account_email": ("get", None, SIGNED_IN),
    "mfa_index": ("get", None, SIGNED_IN),
    "mfa_activate_totp": ("get", None, SIGNED_IN),
    "account_reauthenticate": ("get", None, SIGNED_IN),
    "account_request_reauthentication_code": NOT_CHECKED,
    "account_confirm_reauthentication_code": NOT_CHECKED,
    "account_email_verification_sent": NOT_CHECKED,
    "account_confirm_login_code": NOT_CHECKED,
    "account_confirm_email": NOT_CHECKED,
    "account_reset_password_from_key": NOT_CHECKED,
    "mfa_authenticate": NOT_CHECKED,
    "mfa_reauthenticate": NOT_CHECKED,
    "mfa_deactivate_totp": NOT_CHECKED,
    "mfa_view_recovery_codes": NOT_CHECKED,
    "mfa_generate_recovery_codes": NOT_CHECKED,
    "mfa_download_recovery_codes": NOT_CHECKED,
}


def _app_tables() -> dict:
    """Apps declare their rows in ``tests/<app>/url_table*.py`` as ``URL_TABLE`` (same shape)."""
    import importlib
    from pathlib import Path

    tables = {}
    for path in sorted(Path(__file__).resolve().parent.parent.glob("*/url_table*.py")):
        module = importlib.import_module(f"tests.{path.parent.name}.{path.stem}")
        overlap = set(tables) & set(module.URL_TABLE)
        assert not overlap, f"declared twice: {overlap}"
        tables.update(module.URL_TABLE)
    return tables


TABLE.update(_app_tables())


def _url_names(resolver=None, namespace=None):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            if inner == "admin":
                yield "admin:*"
                continue
            yield from _url_names(pattern, inner)
        elif pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name
        elif str(pattern.pattern).startswith("^media/"):
            continue  # DEBUG-only file serving of uploads
        else:
            yield f"<unnamed {pattern.pattern}>"


def test_every_url_is_in_the_table():
    missing = sorted(set(_url_names()) - set(TABLE))
    assert missing == [], f"URLs without a declared permission row: {missing}"


CHECKED = sorted(name for name, row in TABLE.items() if row != NOT_CHECKED)


@pytest.mark.parametrize("url_name", CHECKED)
def test_url_against_table(world, url_name):
    method, kwargs_for, allowed = TABLE[url_name]
    path = (
        reverse("admin:index")
        if url_name == "admin:*"
        else reverse(url_name, kwargs=kwargs_for(world) if kwargs_for else None)
    )
    data = {"school": world.school.pk, "language": "zh-hans"} if method == "post" else None

    anonymous = getattr(client_for(None), method)(path, data)
    if allowed == PUBLIC:
        assert anonymous.status_code in (200, 302), path
    else:
        assert anonymous.status_code == 302, path
        assert anonymous["Location"].startswith(("/accounts/login/", "/admin/login/")), path

    if allowed in (PUBLIC, SIGNED_IN):
        allowed = EVERYONE
        if url_name == "switch-school":
            # Switching to school A is open to those with a role there; others get 404.
            allowed = EVERYONE - {"far_parent", "far_principal", "nobody"}
    for persona in PERSONAS:
        response = getattr(client_for(world.users[persona]), method)(path, data)
        if persona in allowed:
            assert response.status_code in (200, 302), (path, persona, response.status_code)
            if response.status_code == 302:
                assert "/accounts/login/" not in response["Location"], (path, persona)
                assert "/admin/login/" not in response["Location"], (path, persona)
        elif url_name == "admin:*":
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), persona
        else:
            assert response.status_code in (403, 404), (path, persona, response.status_code)


def test_job_of_nonexistent_id_is_404(as_user):
    response = as_user("admin").get(reverse("core:job-detail", kwargs={"pk": uuid.uuid4()}))
    assert response.status_code == 404


def _roster_import(world):
    from aftercare.models import RosterImport

    roster_import = RosterImport.objects.create(
        school=world.school, uploaded_by=world.users["admin"], original_name="名单.xlsx", status="invalid"
    )
    return {"pk": roster_import.pk}


TABLE.update(
    {
        # The roster import acts on the user's own school: only its administrator.
        "roster:import-upload": ("get", None, {"admin"}),
        "roster:import-template": ("get", None, {"admin"}),
        "roster:import-detail": ("get", _roster_import, {"admin"}),
        "roster:import-confirm": ("post", _roster_import, {"admin"}),
    }
)
