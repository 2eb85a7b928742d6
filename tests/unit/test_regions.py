"""Region from what the channel says: numbers, chosen countries, email domains, settings."""

import pytest

from services.common.channels.regions import RegionGuess, RegionMap, RegionMapError, first, phone_country

DEFAULT = RegionMap()


def test_a_portuguese_number_is_region_pt_by_default():
    assert DEFAULT.for_phone("+351912345678") == RegionGuess("pt", "phone +351 (PT)")


def test_a_whatsapp_address_is_read_as_its_number():
    assert DEFAULT.for_phone("whatsapp:+351912345678", "WhatsApp number").region == "pt"


def test_a_number_outside_known_ranges_falls_back_to_its_calling_codes_country():
    assert phone_country("+447700900123") == ("GB", 44)


def test_nanp_numbers_keep_their_own_country():
    assert phone_country("+16845551234")[0] == "AS"  # American Samoa shares +1


def test_unreadable_or_non_geographic_numbers_say_nothing():
    assert DEFAULT.for_phone("not a number") is None
    assert DEFAULT.for_phone("+80012345678") is None
    assert DEFAULT.for_phone(None) is None


def test_the_country_map_groups_countries_into_regions():
    grouped = RegionMap.from_env({"REGION_BY_COUNTRY": "PT=iberia, es=Iberia"})
    assert grouped.for_phone("+34612345678").region == "iberia"
    assert grouped.for_country("pt", "form country") == RegionGuess("iberia", "form country PT")
    assert grouped.for_country("FR", "form country").region == "fr"


def test_a_broken_map_is_refused_with_the_bad_entry_named():
    with pytest.raises(RegionMapError, match="PT"):
        RegionMap.from_env({"REGION_BY_COUNTRY": "PT"})
    with pytest.raises(RegionMapError, match="Portugal"):
        RegionMap.from_env({"REGION_BY_COUNTRY": "Portugal=pt"})


def test_email_domains_use_the_configured_map_first_then_country_domains():
    mapped = RegionMap.from_env({"REGION_BY_EMAIL_DOMAIN": "bigcorp.com=us-east"})
    assert mapped.for_email("ana@mail.bigcorp.com") == RegionGuess("us-east", "email domain bigcorp.com")
    assert mapped.for_email("ana@example.pt") == RegionGuess("pt", "email domain .pt")
    assert mapped.for_email("ana@example.co.uk").region == "gb"
    assert mapped.for_email("ana@startup.io") is None  # used worldwide: says nothing
    assert mapped.for_email("ana@example.com") is None


def test_a_country_selector_value_that_is_not_a_country_is_ignored():
    assert DEFAULT.for_country("Portugal", "form country") is None
    assert DEFAULT.for_country("", "form country") is None


def test_the_first_channel_fact_that_speaks_wins():
    assert first(None, DEFAULT.configured("es", "mailbox support-es"),
                 DEFAULT.for_country("PT", "x")) == RegionGuess("es", "mailbox support-es")
    assert DEFAULT.configured("  ", "mailbox") is None
