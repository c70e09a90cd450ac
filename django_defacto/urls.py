"""The app's URLs; a host includes them, e.g. `path("defacto/", include("django_defacto.urls"))`,
which puts the webhook receiver at `/defacto/webhooks/` and the seller API at
`/defacto/api/`."""

from django.urls import include, path

from .api.returns import early_repayment_return
from .webhooks.views import receive

app_name = "django_defacto"

urlpatterns = [
    path("webhooks/", receive, name="webhooks"),
    path("api/", include("django_defacto.api.urls")),
    path(
        "loans/<uuid:loan_id>/repaid/",
        early_repayment_return,
        name="early-repayment-return",
    ),
]
