"""The app's URLs; a host includes them, e.g. `path("defacto/", include("django_defacto.urls"))`,
which puts the webhook receiver at `/defacto/webhooks/`."""

from django.urls import path

from .webhooks.views import receive

app_name = "django_defacto"

urlpatterns = [path("webhooks/", receive, name="webhooks")]
