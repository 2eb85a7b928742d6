# Test peer for the phone intake's tests (tests/integration/intake_voice/): the
# time-zone database, for callback windows in a named zone (Europe/Lisbon).
# Sourced by scripts/setup.sh with its helpers (say, apt_install).

if [ ! -f /usr/share/zoneinfo/Europe/Lisbon ]; then
    apt_install tzdata
fi
say "twilio intakes: time-zone data present"
