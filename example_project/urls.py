from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("defacto/", include("django_defacto.urls")),
    # The language switcher posts here (django.views.i18n.set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("example_project.marketplace.urls")),
]
