"""What the phone menu says, per language, and how Twilio should say it.

The keys announced here are the ones ivr.py maps to choices. English is the
fallback for a language without its own texts.
"""

from __future__ import annotations

# Twilio's <Say>/<Gather> language for each of ours.
SPEECH_LANGUAGE = {"en": "en-US", "pt": "pt-BR"}

TEXTS = {
    "en": {
        "welcome": "Thank you for calling. For English, press 1.",
        "category": "Please tell us what your complaint is about. For billing, press 1. "
                    "For a technical problem, press 2. For a delivery, press 3. For a product, press 4. "
                    "For our service, press 5. For anything else, press 6.",
        "mode": "To leave us a message, press 1. To be called back, press 2.",
        "record": "Please leave your message after the tone. Press the hash key when you have finished.",
        "no_recording": "We did not hear a message.",
        "recorded": "Thank you. Your message has been recorded. Your reference is {reference}. Goodbye.",
        "confirm_number": "We will call you back on {number}. To confirm, press 1. To give another number, press 2.",
        "enter_number": "Please type the number to call, starting with its country code, then press the hash key.",
        "bad_number": "Sorry, that is not a number we can call.",
        "window": "When should we call you? At any time, press 1. In the morning, press 2. "
                  "In the afternoon, press 3. In the evening, press 4.",
        "callback_taken": "Thank you. We will call you back on {number}. Your reference is {reference}. Goodbye.",
        "unavailable": "Sorry, we could not confirm your request just now. We will try again after this call; "
                       "if we have not called you back by tomorrow, please call again. Goodbye.",
        "not_understood": "Sorry, we did not get that.",
    },
    "pt": {
        "welcome": "Para português, prima 2.",
        "category": "Diga-nos qual é o motivo da sua reclamação. Faturação, prima 1. "
                    "Problema técnico, prima 2. Entrega, prima 3. Produto, prima 4. "
                    "O nosso atendimento, prima 5. Outro assunto, prima 6.",
        "mode": "Para nos deixar uma mensagem, prima 1. Para que lhe liguemos, prima 2.",
        "record": "Deixe a sua mensagem depois do sinal. Prima a tecla cardinal quando terminar.",
        "no_recording": "Não ouvimos nenhuma mensagem.",
        "recorded": "Obrigado. A sua mensagem foi gravada. A sua referência é {reference}. Até breve.",
        "confirm_number": "Vamos ligar-lhe para o número {number}. Para confirmar, prima 1. "
                          "Para indicar outro número, prima 2.",
        "enter_number": "Marque o número para onde devemos ligar, começando pelo indicativo do país, "
                        "e prima a tecla cardinal.",
        "bad_number": "Lamentamos, esse número não é válido.",
        "window": "Quando prefere que liguemos? A qualquer hora, prima 1. De manhã, prima 2. "
                  "À tarde, prima 3. À noite, prima 4.",
        "callback_taken": "Obrigado. Vamos ligar-lhe para o número {number}. A sua referência é {reference}. "
                          "Até breve.",
        "unavailable": "Lamentamos, não conseguimos confirmar o seu pedido agora. Voltaremos a tentar depois "
                       "desta chamada; se não lhe ligarmos até amanhã, ligue-nos de novo. Até breve.",
        "not_understood": "Desculpe, não percebemos.",
    },
}


def text(language: str, key: str, **values) -> str:
    return TEXTS.get(language, TEXTS["en"])[key].format(**values)


def spoken_language(language: str) -> str:
    return SPEECH_LANGUAGE.get(language, SPEECH_LANGUAGE["en"])


def spelled(value: str) -> str:
    """'C-7K3M' -> 'C, 7, K, 3, M': read out one symbol at a time (references, numbers)."""
    return ", ".join(ch for ch in value if ch.isalnum())
