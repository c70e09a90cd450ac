"""A small marketplace: sellers who issue invoices to buyers. Amounts in integer cents."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Seller(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller"
    )
    name = models.CharField(max_length=200)
    legal_identifier = models.CharField("SIREN", max_length=20, unique=True)
    identifier_type = models.CharField(max_length=32, default="siren")
    iban = models.CharField("IBAN", max_length=34)
    email = models.EmailField()
    country = models.CharField(max_length=2, default="FR")
    # The language the seller last chose in the switcher: what the marketplace and
    # Defacto write to them in, blank for their country's.
    language = models.CharField(max_length=8, blank=True)

    def __str__(self) -> str:
        return self.name


class Director(models.Model):
    """A director of a seller's company, as the marketplace knows them (Defacto asks for
    them outside France, where it often cannot find them itself)."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="directors")
    first_name = models.CharField(max_length=128)
    last_name = models.CharField(max_length=128)
    email = models.EmailField()
    birth_date = models.DateField()
    nationality = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")
    country_of_residence = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Buyer(models.Model):
    name = models.CharField(max_length=200)
    legal_identifier = models.CharField("SIREN", max_length=20)
    identifier_type = models.CharField(max_length=32, default="siren")

    def __str__(self) -> str:
        return self.name


class Invoice(models.Model):
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="invoices")
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=40, unique=True)
    currency = models.CharField(max_length=3, default="EUR")
    net_amount = models.BigIntegerField(help_text="cents")
    tax_amount = models.BigIntegerField(default=0, help_text="cents")
    issued_on = models.DateField()
    due_on = models.DateField()
    # When the buyer paid it in full; empty while unpaid.
    paid_on = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_on", "number"]

    def __str__(self) -> str:
        return self.number

    @property
    def total_amount(self) -> int:
        return self.net_amount + self.tax_amount


class Notification(models.Model):
    """A message for a seller, shown in the marketplace (and also sent by email)."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=255)
    message = models.TextField()
    # The django_defacto loan's primary key, as text: no foreign key into the app's tables.
    loan_id = models.CharField(max_length=64, blank=True)
    # The package's notification key: a notification sent again (after a failed email or
    # a worker's death) is stored once.
    key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # When the email was handed to the mail server: set just before, cleared if sending
    # failed, so the email goes out at most once.
    emailed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    read = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["seller", "read"])]

    def __str__(self) -> str:
        return self.subject
