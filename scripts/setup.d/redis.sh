# Test peer for the web intake's shared rate limits (tests/integration/intake_chat/
# test_abuse_protection.py): Debian's redis-server. The tests start their own
# instance on a free port (testkit/redis_server.py), which they stop and start
# again mid-test; a system Redis, if one runs, is neither configured nor used.
# Sourced by scripts/setup.sh with its helpers (say, have, apt_install).

PATH="$PATH:/usr/sbin:/sbin"
if ! have redis-server; then
    apt_install redis-server
fi
say "redis: $(redis-server --version 2>/dev/null | head -1)"
