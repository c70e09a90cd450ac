"""Borrowers' stored payloads lose Defacto's link to their contract: it is pre-signed,
expires, and Defacto says never to store it (it is asked for again when shown)."""

from django.db import migrations


def forget_contract_links(apps, schema_editor):
    Borrower = apps.get_model("django_defacto", "Borrower")
    for borrower in Borrower.objects.filter(raw__has_key="contract_s3_url").iterator():
        borrower.raw = {
            name: value for name, value in borrower.raw.items() if name != "contract_s3_url"
        }
        borrower.save(update_fields=["raw"])


class Migration(migrations.Migration):
    dependencies = [
        ("django_defacto", "0008_borrower_information"),
    ]

    operations = [
        migrations.RunPython(forget_contract_links, migrations.RunPython.noop, elidable=True),
    ]
