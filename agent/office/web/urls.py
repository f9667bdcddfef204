"""The office's pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from agent.office.web.audit import views as audit
from agent.office.web.fleet import views as fleet
from agent.office.web.guards import views as guards
from agent.office.web.register import change_views as register_changes
from agent.office.web.register import lookup_views as register_lookup
from agent.office.web.register import vehicles as register_vehicles
from agent.office.web.register import views as register
from agent.office.web.staff import manage_views as staff_manage
from agent.office.web.staff import signin_views as signin
from agent.office.web.staff import views as staff
from agent.office.web.visitors import views as visitors

urlpatterns = [
    path("", staff.home, name="home"),
    path("signin/", signin.SignInView.as_view(), name="login"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", staff.language, name="language"),
    path("units/", register.units, name="units"),
    path("households/new/", register.household_new, name="household_new"),
    path("households/<int:pk>/", register.household, name="household"),
    path("households/<int:pk>/residents/new/", register.resident_new, name="resident_new"),
    path("households/<int:pk>/changes/new/", register.change_new, name="change_new"),
    path("changes/<int:pk>/decide/", register.change_decide, name="change_decide"),
    path("residents/<int:pk>/", register.resident, name="resident"),
    path("residents/<int:pk>/reveal/", register.reveal, name="reveal"),
    path("residents/<int:pk>/checks/", register.document_check, name="document_check"),
    path("audit/", audit.audit_log, name="audit"),
    path("search/", register_lookup.search, name="search"),
    path("households/<int:pk>/vehicles/", register_vehicles.vehicle_new, name="vehicle_new"),
    path("changes/<int:pk>/", register_changes.change, name="change"),
    path("changes/<int:pk>/member/", register_changes.change_member, name="change_member"),
    path("residents/<int:pk>/correct/", register_changes.correct, name="resident_correct"),
    path("residents/<int:pk>/export/", register_lookup.resident_export, name="resident_export"),
    path("signin/code/", signin.signin_code, name="signin_code"),
    path("account/", signin.account, name="account"),
    path("account/password/", signin.ChangePasswordView.as_view(), name="password_change"),
    path("account/totp/", signin.totp_enrol, name="totp_enrol"),
    path("staff/", staff_manage.staff_list, name="staff_list"),
    path("staff/new/", staff_manage.staff_new, name="staff_new"),
    path("staff/<int:pk>/", staff_manage.staff_account, name="staff_account"),
    path("staff/<int:pk>/role/", staff_manage.staff_role, name="staff_role"),
    path("staff/<int:pk>/active/", staff_manage.staff_active, name="staff_active"),
    path("staff/<int:pk>/unlock/", staff_manage.staff_unlock, name="staff_unlock"),
    path("staff/<int:pk>/password/", staff_manage.staff_password, name="staff_password"),
    path("staff/<int:pk>/totp/reset/", staff_manage.staff_totp_reset, name="staff_totp_reset"),
    path("guards/", guards.guard_list, name="guard_list"),
    path("guards/<int:pk>/", guards.guard_account, name="guard_account"),
    path("guards/<int:pk>/password/", guards.guard_password, name="guard_password"),
    path("guards/<int:pk>/active/", guards.guard_active, name="guard_active"),
    path("guards/push/", guards.guard_push, name="guard_push"),
    path("visitors/", visitors.passes, name="visitors"),
    path("visitors/new/", visitors.issue, name="visitor_issue"),
    path("visitors/<int:pk>/", visitors.visitor_pass, name="visitor_pass"),
    path("visitors/<int:pk>/print/", visitors.printable, name="visitor_print"),
    path("visitors/<int:pk>/qr.png", visitors.qr_png, name="visitor_qr"),
    path("visitors/<int:pk>/revoke/", visitors.revoke, name="visitor_revoke"),
    path("visitors/<int:pk>/send/", visitors.send_again, name="visitor_send_again"),
    path("gates/", fleet.fleet, name="fleet"),
    path("events/", fleet.events, name="events"),
    path("events/feed/", fleet.events_feed, name="events_feed"),
    path("cards/", include("agent.office.web.cards.urls")),
    path("cases/", include("agent.office.web.cases.urls")),
    path("plans/", include("agent.office.web.plans.urls")),
]
