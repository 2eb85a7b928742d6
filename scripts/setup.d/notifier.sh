# Test peer for tests/integration/notifier/test_notifier_email.py: the openssl command, which makes the
# throwaway certificate for the STARTTLS and implicit-TLS SMTP tests (the SMTP
# server itself is aiosmtpd, from requirements-dev.txt).
# Sourced by scripts/setup.sh with its helpers (say, have, apt_install).

if ! have openssl; then
    apt_install openssl
fi
say "notifier: $(openssl version)"
