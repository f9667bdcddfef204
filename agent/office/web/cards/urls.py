"""The card pages' addresses (included under /cards/)."""

from __future__ import annotations

from django.urls import path

from agent.office.web.cards import views

app_name = "cards"
urlpatterns = [
    path("", views.inventory, name="inventory"),
    path("residents/<int:pk>/", views.resident_cards, name="resident"),
    path("residents/<int:pk>/pin/", views.pin, name="pin"),
    path("<int:pk>/reissue/", views.reissue, name="reissue"),
    path("<int:pk>/end/", views.end, name="end"),
    path("changes/<int:pk>/", views.change, name="change"),
]
