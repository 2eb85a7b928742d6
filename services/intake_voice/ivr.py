"""The phone menu's rules, in plain Python: what a key press or a spoken answer
means at each step, the callback number a caller typed, and the time window
they chose. No Flask, no TwiML, no SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from services.common.contract.complaint import PHONE_RE

LANGUAGES = ("en", "pt")

# Step -> {key: choice}. The keys are what the prompts in texts.py announce.
LANGUAGE_KEYS = {"1": "en", "2": "pt"}
CATEGORY_KEYS = {"1": "billing", "2": "technical", "3": "delivery", "4": "product", "5": "service", "6": "other"}
MODE_KEYS = {"1": "voicemail", "2": "callback"}
CONFIRM_KEYS = {"1": "confirm", "2": "other_number"}
WINDOW_KEYS = {"1": "any", "2": "morning", "3": "afternoon", "4": "evening"}

# Words a caller may say instead of pressing a key (matched inside what the
# speech recogniser heard, case and accents as Twilio returns them).
SPOKEN = {
    "language": {"en": ("english", "inglês", "ingles"), "pt": ("português", "portugues", "portuguese")},
    "category": {
        "billing": ("bill", "invoice", "payment", "charge", "fatura", "pagamento", "cobrança", "cobranca"),
        "technical": ("technical", "internet", "not working", "técnico", "tecnico", "avaria"),
        "delivery": ("delivery", "parcel", "package", "entrega", "encomenda"),
        "product": ("product", "broken", "produto", "defeito"),
        "service": ("service", "staff", "rude", "serviço", "servico", "atendimento"),
        "other": ("other", "something else", "outro", "outra"),
    },
    "mode": {"voicemail": ("message", "voicemail", "mensagem", "recado"),
             "callback": ("call me", "call back", "callback", "ligar", "ligue", "chamada")},
    "confirm": {"confirm": ("yes", "confirm", "correct", "sim", "confirmo"),
                "other_number": ("no", "other", "another", "não", "nao", "outro")},
    "window": {"any": ("any", "whenever", "qualquer"), "morning": ("morning", "manhã", "manha"),
               "afternoon": ("afternoon", "tarde"), "evening": ("evening", "night", "noite")},
}

KEYS = {"language": LANGUAGE_KEYS, "category": CATEGORY_KEYS, "mode": MODE_KEYS, "confirm": CONFIRM_KEYS,
        "window": WINDOW_KEYS}

# Re-asked this many times when nothing usable was heard, then the default is taken.
MAX_ATTEMPTS = 2


def choose(step: str, digits: str | None, speech: str | None) -> str | None:
    """The caller's choice at a step, from a key press or speech; None if neither means anything."""
    key = (digits or "").strip()[:1]
    if key in KEYS[step]:
        return KEYS[step][key]
    heard = (speech or "").lower()
    if heard:
        for choice, words in SPOKEN[step].items():
            if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", heard) for w in words):
                return choice
    return None


def caller_number(value: str | None) -> str | None:
    """Twilio's From as an E.164 number; None for a withheld or unknown caller id."""
    value = (value or "").strip()
    return value if PHONE_RE.fullmatch(value) else None


def typed_number(digits: str | None) -> str | None:
    """Keys a caller typed for a callback number -> E.164, or None if it cannot be one.

    A phone keypad has no '+': the number is typed with its country code,
    either as 00351912345678 or as 351912345678.
    """
    digits = re.sub(r"\D", "", digits or "")
    if digits.startswith("00"):
        digits = digits[2:]
    number = "+" + digits
    return number if PHONE_RE.fullmatch(number) else None


@dataclass(frozen=True)
class Slot:
    start: time
    end: time


def parse_slots(text: str) -> dict[str, Slot]:
    """'09-12,12-18,18-21' -> the morning, afternoon and evening slots (hours, local time)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ValueError("VOICE_CALLBACK_SLOTS needs three hour ranges, morning, afternoon and evening, "
                         "like 09-12,12-18,18-21")
    slots = {}
    for name, part in zip(("morning", "afternoon", "evening"), parts, strict=True):
        match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", part)
        if not match or not 0 <= int(match[1]) < int(match[2]) <= 24:
            raise ValueError(f"VOICE_CALLBACK_SLOTS: {part!r} is not an hour range like 09-12")
        end = time(int(match[2])) if int(match[2]) < 24 else time(23, 59, 59)
        slots[name] = Slot(time(int(match[1])), end)
    return slots


def callback_window(choice: str, now: datetime, zone: tzinfo,
                    slots: dict[str, Slot]) -> tuple[str | None, str | None]:
    """The chosen slot as (window_start, window_end), ISO 8601 with the zone's
    offset: today's if it has not ended yet, else tomorrow's. 'any' is (None, None)."""
    if choice not in slots:
        return None, None
    slot = slots[choice]
    local = now.astimezone(zone)
    day = local.date()
    if local.time() >= slot.end:
        day += timedelta(days=1)
    start = datetime.combine(day, slot.start, zone)
    end = datetime.combine(day, slot.end, zone)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")
