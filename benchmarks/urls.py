"""The example project's URLs plus two of the benchmarks' own views: `bench/ok/`, which
answers 200 and does nothing else (what the same server and middleware cost without the
webhook receiver's work), and `bench/cash-in-floor/`, the floor of the "Cash in now"
figure (`benchmarks/floor.py`)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from example_project.urls import urlpatterns as example_urlpatterns

from .floor import cash_in_floor


@csrf_exempt
def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"received": true}', content_type="application/json")


urlpatterns = [
    path("bench/ok/", ok),
    path("bench/cash-in-floor/", cash_in_floor),
    *example_urlpatterns,
]
