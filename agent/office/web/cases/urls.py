"""The case pages' addresses (included under /cases/)."""

from __future__ import annotations

from django.urls import path

from agent.office.web.cases import (
    attachments,
    behaviour,
    gate_picture,
    incident_views,
    manage,
    new_case,
    police_pdf,
    views,
)

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("<int:pk>/", views.case, name="case"),
    path("<int:pk>/step/", views.case_step, name="step"),
    path("<int:pk>/timeline/", views.timeline, name="timeline"),
    path("<int:pk>/attachments/", attachments.attach, name="attach"),
    path("<int:pk>/attachments/<int:file_pk>/", attachments.attachment, name="attachment"),
    path("<int:pk>/gate-picture/", gate_picture.fetch, name="gate_picture"),
    path("behaviour/new/", behaviour.behaviour_new, name="behaviour_new"),
    path("<int:pk>/measures/", behaviour.measure_new, name="measure"),
    path("<int:pk>/police/", behaviour.police_new, name="police"),
    path("<int:pk>/police/report.pdf", police_pdf.police_report, name="police_pdf"),
    path("behaviour/residents/<int:pk>/", behaviour.resident_measures, name="resident_measures"),
    path("<int:pk>/acknowledge/", incident_views.acknowledge, name="acknowledge"),
    path("new/", new_case.case_new, name="case_new"),
    path("<int:pk>/owner/", manage.reassign, name="reassign"),
    path("<int:pk>/due/", manage.set_due, name="set_due"),
]
