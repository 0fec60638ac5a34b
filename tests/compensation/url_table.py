"""Who may reach the pay pages (see tests/aftercare/test_url_permissions.py).

The school-wide pages act on the user's own school, so the principal of school B reaches them too
(with school B's terms). A term's or a run's pages are 404 for outsiders (another school, parents,
the committee, the district) and 403 for staff without the role. "My pay" is open to everyone who
works at a school; a line there is its teacher's alone."""

from . import builders

VIEWERS = {"admin", "principal", "finance"}
STAFF = {
    "homeroom",
    "other_homeroom",
    "service_teacher",
    "provider",
    "inspector",
    "principal",
    "admin",
    "finance",
    "far_principal",
}


def _term(world):
    return {"pk": builders.pay_term(world).term.pk}


def _run(world):
    with builders.on_today():
        return builders.basic_run(world, builders.pay_term(world))


def _run_kwargs(world):
    return {"pk": _run(world).pk}


def _line(world):
    run = _run(world)
    return {"pk": run.pk, "line_pk": run.lines.get(teacher=world.users["homeroom"]).pk}


def _own_line(world):
    with builders.on_today():
        run = builders.approved_run(world, builders.pay_term(world))
    return {"pk": run.lines.get(teacher=world.users["service_teacher"]).pk}


URL_TABLE = {
    "compensation:home": ("get", None, VIEWERS | {"far_principal"}),
    "compensation:term": ("get", _term, VIEWERS),
    # Setting up the term's pay and drafting: the administrators.
    "compensation:policy-edit": ("get", _term, {"admin"}),
    "compensation:fund-edit": ("get", _term, {"admin"}),
    "compensation:survey-scores": ("get", _term, {"admin"}),
    "compensation:run-draft": ("post", _term, {"admin"}),
    # The pay sheet, its lines and its exports: the administrators, the principal and finance.
    "compensation:run-detail": ("get", _run_kwargs, VIEWERS),
    "compensation:run-line": ("get", _line, VIEWERS),
    "compensation:run-export-xlsx": ("post", _run_kwargs, VIEWERS),
    "compensation:run-export-pdf": ("post", _run_kwargs, VIEWERS),
    # Approval: the principal.
    "compensation:run-approve": ("post", _run_kwargs, {"principal"}),
    "compensation:my-pay": ("get", None, STAFF),
    "compensation:my-pay-line": ("get", _own_line, {"service_teacher"}),
}
