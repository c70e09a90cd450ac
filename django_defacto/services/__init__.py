"""The rules of django-defacto, by noun: every change to a mirrored model and every call to
Defacto goes through these modules; admin actions, the seller API, webhooks and Celery
tasks are thin entry points over them."""
