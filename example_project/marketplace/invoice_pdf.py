"""A one-page PDF of an invoice, written by hand (no PDF library needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Invoice


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _escape(value: str) -> str:
    ascii_text = value.encode("latin-1", "replace").decode("latin-1")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_pdf(invoice: Invoice) -> bytes:
    lines = [
        f"Invoice {invoice.number}",
        f"Seller: {invoice.seller.name} (SIREN {invoice.seller.legal_identifier})",
        f"Buyer: {invoice.buyer.name} (SIREN {invoice.buyer.legal_identifier})",
        f"Issued {invoice.issued_on:%Y-%m-%d}, due {invoice.due_on:%Y-%m-%d}",
        f"Net {_euros(invoice.net_amount)} {invoice.currency}",
        f"Tax {_euros(invoice.tax_amount)} {invoice.currency}",
        f"Total {_euros(invoice.total_amount)} {invoice.currency}",
        f"Pay to IBAN {invoice.seller.iban}",
    ]
    text = (
        "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(f"({_escape(line)}) '" for line in lines) + " ET"
    )
    stream = text.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(output)
