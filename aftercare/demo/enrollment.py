"""Demo enrollment: the agreement in force, and applications of class 3-1 at every stage, so the
teacher, the principal and finance each find work waiting."""

from django.contrib.auth import get_user_model

from catalogue.models import Offering, OfferingKind, OfferingStatus
from enrollment import services

AGREEMENT_BODY = """一、服务内容与时间
学校在服务日放学后开展课后服务，包括基础托管（作业辅导与看护）和学生自主选择的特色课程；不上新课，不搞集体补课，不增加学生课业负担。

二、学校的责任
1. 安排教师看护和辅导，每天点名考勤，学生无故缺席及时联系家长。
2. 学生进出登记，放学时与家长或家长指定的接送人当面交接。
3. 发生意外或突发疾病时立即处置并通知家长。

三、家长的责任
1. 按时接送孩子；不能按时接送或需要提前接走的，通过平台请假。
2. 教育孩子遵守纪律，注意安全，爱护公物。
3. 如实提供联系电话和接送人信息，变更时及时更新。

四、收费与退费
按学期收费，不跨学期收费；中途退出的，按未开展的服务日折算退费；家庭经济困难学生可申请减免。

五、其他
本协议自家长在线签署之日起生效，本学期内有效。"""


def build_enrollment(*, school) -> None:
    user_model = get_user_model()
    admin = user_model.objects.get(username="schooladmin")
    teacher = user_model.objects.get(username="teacher")
    principal = user_model.objects.get(username="principal")
    term = school.terms.get()
    agreement = services.agreement_publish(
        actor=admin,
        school=school,
        title="课后服务协议书（含安全协议）",
        body=AGREEMENT_BODY,
        effective_from=term.starts_on,
    )
    classroom = school.classrooms.get(grade=3, number=1)
    football = Offering.objects.get(term=term, name="足球", status=OfferingStatus.PUBLISHED)
    calligraphy = Offering.objects.get(term=term, name="书法", status=OfferingStatus.PUBLISHED)
    assert classroom.offerings.filter(kind=OfferingKind.BASIC_CARE).exists()
    # The committee chair's child and others of 3-1 apply; the demo `parent` applies in person.
    students = list(
        classroom.students.filter(guardians__user__isnull=True).distinct().order_by("student_number")[:8]
    )
    for index, student in enumerate(students):
        guardian = student.guardians.order_by("pk").first()
        applicant = user_model.objects.create(
            username=f"p3-1-{index + 1:02d}", full_name=guardian.name, password=teacher.password
        )
        guardian.user = applicant
        guardian.save(update_fields=["user"])
        courses = [football] if index % 2 == 0 else [calligraphy]
        application = services.application_submit(
            actor=applicant,
            student=student,
            term=term,
            wants_basic_care=index % 3 != 2,
            course_ids=[c.pk for c in courses],
            waiver_requested=index == 5,
            waiver_reason="家庭经济困难，父亲失业。" if index == 5 else "",
        )
        services.agreement_sign(
            actor=applicant,
            application=application,
            agreement=agreement,
            typed_name=guardian.name,
            consent=True,
            shown_text_sha256=services.agreement_text_hash(agreement),
            ip_address="127.0.0.1",
            user_agent="seed_demo",
        )
        if index < 5:
            services.application_class_approve(actor=teacher, application=application)
    ready = list(
        services.Application.objects.filter(term=term, status="class_approved").order_by("submitted_at")[:2]
    )
    services.applications_approve(actor=principal, applications=ready)
