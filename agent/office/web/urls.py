"""The office's pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from agent.office.web.audit import views as audit
from agent.office.web.register import views as register
from agent.office.web.staff import views as staff
from agent.office.web.staff.forms import SignInForm

urlpatterns = [
    path("", staff.home, name="home"),
    path(
        "signin/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
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
    path("cards/", include("agent.office.web.cards.urls")),
]
