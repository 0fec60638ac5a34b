SCHOOL_A = {
    "parent",
    "other_parent",
    "homeroom",
    "other_homeroom",
    "service_teacher",
    "provider",
    "inspector",
    "principal",
    "admin",
    "finance",
    "committee",
}

URL_TABLE = {
    # The offer of the user's own school: everyone with a role at a school (far_parent and
    # far_principal see school B's).
    "catalogue:offer": ("get", None, SCHOOL_A | {"far_parent", "far_principal"}),
    "catalogue:term-offer": ("get", lambda w: {"pk": w.school.terms.get().pk}, SCHOOL_A),
    "catalogue:offer-letter": ("post", lambda w: {"pk": w.school.terms.get().pk}, SCHOOL_A),
}
