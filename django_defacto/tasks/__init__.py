"""django-defacto's Celery tasks, all named `django_defacto.<verb>`, one module per noun:
`bulk_actions` (the admin's large selections), `webhooks`, `periodic` (the beat's sweeps),
`notifications` and `eligibility`.

The package owns no Celery app: `shared_task` binds them to the host's app. Django's
`ready()` imports the modules, which registers the tasks; this package imports none of
them itself, so that nothing here needs the app registry. The beat schedule is
`django_defacto.schedule`.
"""
