"""Back office for school administrators: every list and choice is limited to their own schools."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Classroom, CommitteeMember, Guardian, School, Staff, StaffRole, Student, Term
from .permissions import admin_school_ids, may_use_admin


def _admin_has_permission(request) -> bool:
    return may_use_admin(request.user)


admin.site.has_permission = _admin_has_permission


class SchoolScopedAdmin(SimpleHistoryAdmin):
    """A model admin whose rows (and foreign-key choices) are those of the user's schools only."""

    school_path = "school"

    def _school_ids(self, request):
        return None if request.user.is_superuser else admin_school_ids(request.user)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        school_ids = self._school_ids(request)
        if school_ids is None:
            return queryset
        return queryset.filter(**{f"{self.school_path}__in": school_ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        school_ids = self._school_ids(request)
        if school_ids is not None:
            related = db_field.related_model
            if related is School:
                kwargs["queryset"] = School.objects.filter(pk__in=school_ids)
            elif related in (Classroom, Student, Staff):
                kwargs["queryset"] = related.objects.filter(school__in=school_ids)
            elif related._meta.label == "aftercare.User":
                from django.contrib.auth import get_user_model
                from django.db.models import Q

                kwargs["queryset"] = (
                    get_user_model()
                    .objects.filter(
                        Q(staff_records__school__in=school_ids)
                        | Q(guardianships__student__school__in=school_ids)
                    )
                    .distinct()
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _allowed(self, request) -> bool:
        return request.user.is_superuser or bool(admin_school_ids(request.user))

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        # Records of children and staff are deactivated, never deleted, by school administrators.
        return request.user.is_superuser


@admin.register(Term)
class TermAdmin(SchoolScopedAdmin):
    list_display = ["name", "school", "starts_on", "ends_on", "winter_starts_on"]
    list_filter = ["school"]


@admin.register(Classroom)
class ClassroomAdmin(SchoolScopedAdmin):
    list_display = ["short_name", "school", "homeroom_teacher"]
    list_filter = ["school", "grade"]
    list_select_related = ["school", "homeroom_teacher"]
    autocomplete_fields = []


@admin.register(Student)
class StudentAdmin(SchoolScopedAdmin):
    list_display = ["name", "student_number", "classroom", "gender", "is_active"]
    list_filter = ["school", "classroom__grade", "is_active"]
    search_fields = ["name", "student_number"]
    list_select_related = ["classroom"]


@admin.register(Guardian)
class GuardianAdmin(SchoolScopedAdmin):
    school_path = "student__school"
    list_display = ["name", "relation", "student", "user"]
    search_fields = ["name", "student__name"]
    list_select_related = ["student", "user"]
    raw_id_fields = ["student", "user"]


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    extra = 1


@admin.register(Staff)
class StaffAdmin(SchoolScopedAdmin):
    list_display = ["user", "school", "title", "is_active"]
    list_filter = ["school", "is_active"]
    search_fields = ["user__full_name", "user__username"]
    list_select_related = ["user", "school"]
    inlines = [StaffRoleInline]
    raw_id_fields = ["user"]


@admin.register(CommitteeMember)
class CommitteeMemberAdmin(SchoolScopedAdmin):
    school_path = "classroom__school"
    list_display = ["user", "classroom", "position"]
    list_select_related = ["user", "classroom"]
    raw_id_fields = ["user"]


@admin.register(School)
class SchoolAdmin(SchoolScopedAdmin):
    school_path = "pk"
    list_display = ["name", "district", "code"]

    def has_add_permission(self, request):
        return request.user.is_superuser
