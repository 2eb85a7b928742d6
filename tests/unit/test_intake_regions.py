"""How each intake picks a complaint's region: the web form's chosen country
beats the phone number, which beats the email domain; a mailbox's own region
beats the sender's domain; a caller's number beats the Twilio number's setting.
Pure: no broker, no database, no HTTP."""

import json
import unicodedata

import phonenumbers
import pytest

from services.common.channels.regions import RegionGuess, RegionMap
from services.intake_chat import countries, form
from services.intake_email import settings
from services.intake_email.complaint import build_complaint, region_of
from services.intake_email.parsing import parse_email
from services.intake_voice import complaints

SECRET = "unit-secret"
DEFAULT = RegionMap()
IBERIA = RegionMap.from_env({"REGION_BY_COUNTRY": "PT=iberia,ES=iberia",
                             "REGION_BY_EMAIL_DOMAIN": "bigcorp.com=us-east"})


# --- the web form and the chat ------------------------------------------------------------


def web(regions=DEFAULT, **fields):
    complaint = form.parse({"body": "Charged twice.", **fields}, SECRET, regions=regions)
    return complaint.region, complaint.region_source


def test_the_form_country_beats_the_phone_which_beats_the_email():
    both = {"email": "ana@example.de", "phone": "+34 612 345 678"}
    assert web(**both, country="pt") == ("pt", "form country PT")
    assert web(**both) == ("es", "phone +34 (ES)")
    assert web(email="ana@example.de") == ("de", "email domain .de")
    assert web(email="ana@example.com") == (None, None)


def test_the_region_map_applies_to_every_source_on_the_form():
    assert web(IBERIA, email="a@example.org", country="ES") == ("iberia", "form country ES")
    assert web(IBERIA, email="a@mail.bigcorp.com") == ("us-east", "email domain bigcorp.com")


def test_an_anonymous_customer_is_placed_by_the_country_alone():
    assert web(anonymous="yes", phone="+351912345678", email="a@example.pt") == (None, None)
    assert web(anonymous="yes", country="FR") == ("fr", "form country FR")


@pytest.mark.parametrize("country, error", [("XX", "choose a country"), ("Portugal", "choose a country"),
                                            (7, "expected text")])
def test_a_country_not_in_the_list_is_refused_by_its_field_name(country, error):
    with pytest.raises(form.FormInvalid) as refused:
        form.parse({"body": "x", "email": "a@example.org", "country": country}, SECRET)
    assert set(refused.value.errors) == {"country"} and error in refused.value.errors["country"]


def test_an_empty_country_means_not_given():
    assert web(email="a@example.org", country="  ") == (None, None)


def test_the_country_list_is_every_phone_region_named_once_and_sorted_by_name():
    codes = [code for code, _ in countries.COUNTRIES]
    assert set(codes) == phonenumbers.SUPPORTED_REGIONS and len(codes) == len(set(codes))
    assert all(name.strip() == name and name for _, name in countries.COUNTRIES)

    def plain(name):
        return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    names = [plain(name) for _, name in countries.COUNTRIES]
    assert names == sorted(names)
    assert dict(countries.COUNTRIES)["PT"] == "Portugal"


@pytest.mark.parametrize("tags, country", [
    (["pt-PT", "pt", "en"], "PT"), (["en", "pt-BR"], "BR"), (["zh-Hant-TW"], "TW"), (["en_gb"], "GB"),
    (["es-419", "es"], None), (["en"], None), (["en-XX"], None), ([], None), (["*"], None)])
def test_the_browser_suggests_the_first_country_its_languages_name(tags, country):
    assert countries.from_languages(tags) == country


# --- email -------------------------------------------------------------------------------------


def test_a_mailbox_region_beats_the_senders_domain():
    assert region_of("support-es", "es", "ana@example.pt", DEFAULT) == RegionGuess("es", "mailbox support-es")
    assert region_of("support", None, "ana@example.pt", DEFAULT) == RegionGuess("pt", "email domain .pt")
    assert region_of("support", None, "ana@bigcorp.com", IBERIA) == RegionGuess("us-east",
                                                                                "email domain bigcorp.com")
    assert region_of("support", None, "ana@example.com", DEFAULT) is None


def test_a_mailbox_region_is_read_from_its_settings_and_checked():
    box = {"host": "imap.example.org", "user": "u", "password": "p"}
    [with_region, without] = settings.parse_mailboxes(json.dumps([{**box, "name": "es", "region": " ES "},
                                                                  {**box, "name": "any"}]))
    assert (with_region.region, without.region) == ("es", None)
    assert with_region.describe()["region"] == "es"
    for bad in ("", 5, "x" * 65):
        with pytest.raises(settings.SettingsError, match=r"\[0\]\.region"):
            settings.parse_mailboxes(json.dumps([{**box, "region": bad}]))


def test_the_region_changes_no_email_id():
    raw = b"From: Ana <ana@example.pt>\r\nSubject: Hi\r\nMessage-ID: <r-1@example.pt>\r\n\r\nCharged twice.\r\n"
    facts = parse_email(raw, 1000)
    args = dict(mailbox="support", folder="INBOX", uid=1, external="support|<r-1@example.pt>", received_at=None)
    plain = build_complaint(facts, **args)
    placed = build_complaint(facts, **args, region=region_of("support", "es", facts.sender_email, DEFAULT))
    assert (placed.region, placed.region_source) == ("es", "mailbox support")
    assert (placed.intake_id, placed.external_id, placed.reference) == \
        (plain.intake_id, plain.external_id, plain.reference)


# --- phone -----------------------------------------------------------------------------------


def test_the_callers_number_beats_the_twilio_numbers_region():
    assert complaints.region_of("+351912345678", DEFAULT, "es") == RegionGuess("pt", "caller +351 (PT)")
    assert complaints.region_of(None, DEFAULT, "es") == RegionGuess("es", "VOICE_NUMBER_REGION")
    assert complaints.region_of("+80012345678", DEFAULT, None) is None   # non-geographic, nothing configured
    assert complaints.region_of("+34612345678", IBERIA, None).region == "iberia"


def test_a_calls_complaint_carries_its_region():
    call = complaints.Call(call_sid="CA" + "0" * 32, caller="+351912345678")
    guess = complaints.region_of(call.caller, DEFAULT, None)
    complaint = complaints.primary(call, complaints.MISSED, "6f1c2b1e-2d54-4c8e-9a61-7b0e51c2d9a4",
                                   "2026-01-01T10:00:00+00:00", guess)
    assert (complaint.region, complaint.region_source) == ("pt", "caller +351 (PT)")


def test_a_country_preselected_from_the_browser_and_left_alone_counts_after_the_phone_and_email():
    phone = {"email": "ana@example.de", "phone": "+351912345678"}
    assert web(**phone, country="US", country_suggested="US") == ("pt", "phone +351 (PT)")
    assert web(email="ana@example.com", country="US", country_suggested="US") == ("us", "browser's country US")
    # Changed by the customer: their choice.
    assert web(**phone, country="ES", country_suggested="US") == ("es", "form country ES")
