"""The receiver of Defacto's webhook notifications (see `views.receive`)."""
