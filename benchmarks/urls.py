"""The example project's URLs plus `bench/ok/`, a view that answers 200 and does nothing
else: what the same server and middleware cost without the webhook receiver's work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from example_project.urls import urlpatterns as example_urlpatterns


@csrf_exempt
def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"received": true}', content_type="application/json")


urlpatterns = [path("bench/ok/", ok), *example_urlpatterns]
