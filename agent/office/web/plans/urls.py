"""The plan and drill pages' addresses (included under /plans/)."""

from __future__ import annotations

from django.urls import path

from agent.office.web.plans import drill_views, muster_views, views

app_name = "plans"
urlpatterns = [
    path("", views.plan_list, name="list"),
    path("calendar/", drill_views.calendar_page, name="calendar"),
    path("versions/<int:pk>/", views.version, name="version"),
    path("versions/<int:pk>/print/", views.printable, name="print"),
    path("versions/<int:pk>/approve/", views.approve, name="approve"),
    path("versions/<int:pk>/drills/new/", drill_views.schedule, name="schedule"),
    path("drills/<int:pk>/", drill_views.drill, name="drill"),
    path("drills/<int:pk>/start/", drill_views.start, name="start"),
    path("drills/<int:pk>/stop/", drill_views.stop, name="stop"),
    path("drills/<int:pk>/tick/", drill_views.tick, name="tick"),
    path("drills/<int:pk>/notes/", drill_views.notes, name="notes"),
    path("muster/", muster_views.muster_list, name="musters"),
    path("muster/<slug:site>/<slug:gate>/<slug:ident>/", muster_views.muster, name="muster"),
    path(
        "muster/<slug:site>/<slug:gate>/<slug:ident>/print/",
        muster_views.printable,
        name="muster_print",
    ),
    path("<str:scenario>/", views.plan, name="plan"),
    path("<str:scenario>/draft/", views.draft, name="draft"),
]
