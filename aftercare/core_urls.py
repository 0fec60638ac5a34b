from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("classes/", views.classroom_list, name="classroom-list"),
    path("classes/<int:pk>/", views.classroom_detail, name="classroom-detail"),
    path(
        "classes/<int:pk>/invitation-letters/",
        views.classroom_invitation_letters,
        name="classroom-invitations",
    ),
    path("students/<int:pk>/", views.student_detail, name="student-detail"),
    path(
        "students/<int:pk>/invitation/", views.student_invitation_reissue, name="student-invitation-reissue"
    ),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/new/", views.staff_create, name="staff-create"),
    path("staff/<int:pk>/edit/", views.staff_edit, name="staff-edit"),
    path("audit/", views.audit_log, name="audit-log"),
    path("district/schools/", views.district_school_list, name="district-school-list"),
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:pk>/status/", views.job_status, name="job-status"),
    path("jobs/<uuid:pk>/download/", views.job_download, name="job-download"),
]
