"""What the customer reads back on WhatsApp: TwiML acknowledgements, per language.

This answer is the customer's one acknowledgement (the notifier sends none
for WhatsApp complaints), so a new complaint's carries the tracking link too.
English is the fallback for a language without its own texts.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

TEXTS = {
    "en": {
        "new": "Thank you, we have received your complaint. Your reference is {reference}. "
               "We will answer you here. Follow it at {tracking_url}",
        "follow_up": "Thank you, we have added your message to your complaint {reference}.",
    },
    "pt": {
        "new": "Obrigado, recebemos a sua reclamação. A sua referência é {reference}. "
               "Vamos responder-lhe por aqui. Acompanhe-a em {tracking_url}",
        "follow_up": "Obrigado, juntámos a sua mensagem à sua reclamação {reference}.",
    },
}
LANGUAGES = tuple(TEXTS)


def acknowledgement(reference: str, follow_up: bool, language: str, tracking_url: str) -> str:
    """TwiML answering the message with the reference the customer keeps."""
    texts = TEXTS.get(language.split("-")[0].lower(), TEXTS["en"])
    response = MessagingResponse()
    response.message(texts["follow_up" if follow_up else "new"].format(reference=reference,
                                                                        tracking_url=tracking_url))
    return str(response)

