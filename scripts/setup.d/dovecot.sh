# Test peer for the email intake's tests (tests/integration/intake_email/) and its
# benchmark: Debian's Dovecot IMAP server, and a dedicated system user that
# owns the test mailboxes (Dovecot refuses to deliver or read mail as root).
# The tests start their own Dovecot instance on a free port with their own
# configuration; the system's Dovecot service is neither configured nor used.
# Sourced by scripts/setup.sh with its helpers (say, have, as_root, apt_install).

IMAP_TEST_USER=complaints-imap

PATH="$PATH:/usr/sbin:/sbin"
if ! have dovecot || ! [ -x /usr/lib/dovecot/imap ]; then
    apt_install dovecot-imapd
    # The package starts the system instance (port 143); the tests never use it.
    if have systemctl && [ -d /run/systemd/system ]; then
        as_root systemctl disable --now dovecot >/dev/null 2>&1 || true
    elif [ -f /run/dovecot/master.pid ]; then
        as_root doveadm stop >/dev/null 2>&1 || true
    fi
fi

# The TLS tests make a throwaway certificate with openssl (dovecot-core depends on it).
have openssl || apt_install openssl

if ! id "$IMAP_TEST_USER" >/dev/null 2>&1; then
    as_root useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$IMAP_TEST_USER"
    say "dovecot: created system user $IMAP_TEST_USER (owns the test mailboxes)"
fi
say "dovecot: $(dovecot --version 2>/dev/null | head -1), mail user $IMAP_TEST_USER"
