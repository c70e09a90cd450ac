"""Human texts of Defacto's denial codes (a sample of the evolving list), in four languages."""

from __future__ import annotations

from typing import Any

from .context import SandboxWorld
from .messages import SandboxRequest, SandboxResponse

# code -> (en, fr, es, de)
DENIAL_TEXTS: dict[str, tuple[str, str, str, str]] = {
    "CREDIT_RISK_NOT_ELIGIBLE": (
        "The business does not meet our credit risk criteria.",
        "L'entreprise ne répond pas à nos critères de risque de crédit.",
        "La empresa no cumple nuestros criterios de riesgo crediticio.",
        "Das Unternehmen erfüllt unsere Kreditrisikokriterien nicht.",
    ),
    "CREDIT_RISK_NOT_ELIGIBLE_COUNTERPARTY": (
        "The buyer on the invoice does not meet our credit risk criteria.",
        "L'acheteur de la facture ne répond pas à nos critères de risque de crédit.",
        "El comprador de la factura no cumple nuestros criterios de riesgo crediticio.",
        "Der Käufer auf der Rechnung erfüllt unsere Kreditrisikokriterien nicht.",
    ),
    "AMOUNT_SUPERIOR_TO_AVAILABLE_BALANCE": (
        "The amount requested exceeds the available balance of the credit line.",
        "Le montant demandé dépasse le solde disponible de la ligne de crédit.",
        "El importe solicitado supera el saldo disponible de la línea de crédito.",
        "Der beantragte Betrag übersteigt das verfügbare Guthaben der Kreditlinie.",
    ),
    "BORROWER_TO_SIGN": (
        "The borrower has not signed the terms and conditions yet.",
        "L'emprunteur n'a pas encore signé les conditions générales.",
        "El prestatario aún no ha firmado los términos y condiciones.",
        "Der Kreditnehmer hat die AGB noch nicht unterzeichnet.",
    ),
    "BORROWER_STATUS": (
        "The borrower's account does not allow new loans.",
        "Le compte de l'emprunteur ne permet pas de nouveaux financements.",
        "La cuenta del prestatario no permite nuevos préstamos.",
        "Das Konto des Kreditnehmers erlaubt keine neuen Kredite.",
    ),
    "USER_DOES_NOT_MEET_MINIMUM_REQUIREMENT_FOR_CREDIT_LINE": (
        "The business does not have a credit line yet.",
        "L'entreprise n'a pas encore de ligne de crédit.",
        "La empresa aún no tiene una línea de crédito.",
        "Das Unternehmen hat noch keine Kreditlinie.",
    ),
    "FINANCIAL_PRODUCT_DEACTIVATED": (
        "The credit line has expired or been deactivated.",
        "La ligne de crédit a expiré ou a été désactivée.",
        "La línea de crédito ha caducado o ha sido desactivada.",
        "Die Kreditlinie ist abgelaufen oder wurde deaktiviert.",
    ),
    "INVOICE_ALREADY_FINANCED": (
        "This invoice has already been financed.",
        "Cette facture a déjà été financée.",
        "Esta factura ya ha sido financiada.",
        "Diese Rechnung wurde bereits finanziert.",
    ),
    "INVOICE_DOES_NOT_MATCH_ELIGIBILITY_CRITERIA": (
        "The invoice does not match our eligibility criteria.",
        "La facture ne correspond pas à nos critères d'éligibilité.",
        "La factura no cumple nuestros criterios de elegibilidad.",
        "Die Rechnung erfüllt unsere Zulassungskriterien nicht.",
    ),
    "EXCESSIVE_DURATION_LOAN_REQUEST": (
        "The requested financing duration is too long.",
        "La durée de financement demandée est trop longue.",
        "La duración de financiación solicitada es demasiado larga.",
        "Die beantragte Finanzierungsdauer ist zu lang.",
    ),
    "MAX_AMOUNT_EXCEEDED": (
        "The requested amount exceeds the maximum allowed.",
        "Le montant demandé dépasse le maximum autorisé.",
        "El importe solicitado supera el máximo permitido.",
        "Der beantragte Betrag übersteigt das zulässige Maximum.",
    ),
}
GENERIC_TEXT = (
    "Defacto could not finance this request.",
    "Defacto n'a pas pu financer cette demande.",
    "Defacto no ha podido financiar esta solicitud.",
    "Defacto konnte diese Anfrage nicht finanzieren.",
)


def translation(code: str) -> dict[str, str]:
    """Return the texts of a denial code; a generic text for codes the sandbox does not know."""
    english, french, spanish, german = DENIAL_TEXTS.get(code, GENERIC_TEXT)
    return {"en": english, "fr": french, "es": spanish, "de": german}


def translate_denial_code(
    world: SandboxWorld, request: SandboxRequest, body: Any, code: str
) -> SandboxResponse:
    return SandboxResponse(200, translation(code))


def list_denial_reasons(world: SandboxWorld, request: SandboxRequest, body: Any) -> SandboxResponse:
    reasons = [
        {"denial_code_name": code, "translations": translation(code)} for code in DENIAL_TEXTS
    ]
    return SandboxResponse(200, reasons)
