#!/usr/bin/env bash
# Prepare this machine for `make run` / `make test`; idempotent and quick when
# everything is already there.
#
#   scripts/setup.sh python     Python >= 3.11 with venv, .venv, requirements-dev.txt
#   scripts/setup.sh rabbitmq   RabbitMQ on 127.0.0.1:5672 with the management plugin (:15672)
#   scripts/setup.sh postgres   PostgreSQL on 127.0.0.1:5432, database `test`, user postgres, trust auth
#   scripts/setup.sh run        python + rabbitmq (what `make run` needs)
#   scripts/setup.sh all        python + rabbitmq + postgres + peers (what `make test` needs)
#   scripts/setup.sh peers      every scripts/setup.d/*.sh (test peers: IMAP server, browser, ...)
#
# Servers that already answer on their ports are reused, never restarted.
# Missing software is installed with apt-get (Debian), as root or through sudo.
# The PostgreSQL repair (a trust line for postgres@127.0.0.1 in pg_hba.conf)
# is a test-machine set-up and only happens when the connection check fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
STAMP="$VENV/.requirements-stamp"
RABBIT_PORT=5672
RABBIT_MGMT_PORT=15672
PG_PORT=5432
PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/test"
HBA_LINE="host all postgres 127.0.0.1/32 trust"
APT_UPDATED=0

say() { printf '%s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Run a command as root (directly, or through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo -n -- "$@"
    else
        die "'$*' needs root and sudo is not available"
    fi
}

# Run a command as the postgres OS user, from / (its home may not be readable here).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    elif have sudo; then
        (cd / && sudo -n -u postgres -- "$@")
    else
        die "'$*' must run as the postgres user and sudo is not available"
    fi
}

apt_install() {
    have apt-get || die "apt-get not found; install these packages by hand: $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt: apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt: installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive LANG="${LANG:-C.UTF-8}" LC_ALL="${LC_ALL:-}" \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_port PORT SECONDS
wait_port() {
    local deadline=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$deadline" ]; do
        port_open "$1" && return 0
        sleep 1
    done
    port_open "$1"
}

# --- python -------------------------------------------------------------------

# A python3 >= 3.11 that can create virtual environments (ensurepip present).
python_ok() {
    "$1" -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
        if have "$candidate" && python_ok "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

requirements_hash() {
    sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1
}

setup_python() {
    if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        say "python: $VENV is broken or older than Python 3.11; recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -e "$VENV" ]; then
        local py
        if ! py=$(find_python); then
            apt_install python3 python3-venv python3-dev gcc
            py=$(find_python) || die "no python3 >= 3.11 with venv support found, even after apt-get install"
        fi
        say "python: creating $VENV with $py ($("$py" -c 'import platform; print(platform.python_version())'))"
        "$py" -m venv "$VENV"
    fi
    local want have_hash=""
    want=$(requirements_hash)
    [ -f "$STAMP" ] && have_hash=$(cat "$STAMP")
    if [ "$want" = "$have_hash" ]; then
        say "python: $VENV is up to date with requirements-dev.txt"
        return
    fi
    say "python: installing requirements-dev.txt into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q -r requirements-dev.txt
    printf '%s\n' "$want" >"$STAMP"
    say "python: $VENV ready"
}

# --- rabbitmq -----------------------------------------------------------------

setup_rabbitmq() {
    if port_open "$RABBIT_PORT" && port_open "$RABBIT_MGMT_PORT"; then
        say "rabbitmq: already running on 127.0.0.1:$RABBIT_PORT, management on :$RABBIT_MGMT_PORT"
        return
    fi
    if ! have rabbitmq-server || ! have rabbitmqctl || ! have rabbitmq-plugins; then
        # Debian installs these under /usr/sbin, which a non-root PATH may lack.
        PATH="$PATH:/usr/sbin:/sbin"
        if ! have rabbitmq-server || ! have rabbitmqctl || ! have rabbitmq-plugins; then
            apt_install rabbitmq-server
        fi
    fi

    if port_open "$RABBIT_PORT"; then
        say "rabbitmq: already running on 127.0.0.1:$RABBIT_PORT"
    else
        if as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
            say "rabbitmq: node is up but not listening yet; waiting for it"
        else
            say "rabbitmq: starting (rabbitmq-server -detached)"
            as_root rabbitmq-server -detached || die "rabbitmq-server -detached failed; see /var/log/rabbitmq/"
        fi
        local deadline=$((SECONDS + 120))
        until as_root rabbitmqctl -q await_startup --timeout 30 >/dev/null 2>&1; do
            [ "$SECONDS" -lt "$deadline" ] ||
                die "rabbitmq did not start within 120s; see /var/log/rabbitmq/ (startup_log, startup_err, rabbit@*.log)"
            sleep 2
        done
        wait_port "$RABBIT_PORT" 30 ||
            die "rabbitmq started but nothing answers on 127.0.0.1:$RABBIT_PORT; see /var/log/rabbitmq/"
        say "rabbitmq: started on 127.0.0.1:$RABBIT_PORT"
    fi

    if port_open "$RABBIT_MGMT_PORT"; then
        say "rabbitmq: management plugin answering on 127.0.0.1:$RABBIT_MGMT_PORT"
        return
    fi
    if as_root rabbitmq-plugins -q list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
        say "rabbitmq: management plugin enabled but not answering; re-applying"
    else
        say "rabbitmq: enabling the management plugin"
    fi
    # Idempotent; on a running node it also starts enabled plugins that are not running.
    as_root rabbitmq-plugins -q enable rabbitmq_management >/dev/null
    wait_port "$RABBIT_MGMT_PORT" 60 ||
        die "rabbitmq management plugin enabled, but nothing answers on 127.0.0.1:$RABBIT_MGMT_PORT after 60s; see /var/log/rabbitmq/"
    say "rabbitmq: management plugin answering on 127.0.0.1:$RABBIT_MGMT_PORT"
}

# --- postgres -----------------------------------------------------------------

pg_check() {
    have psql && PGCONNECT_TIMEOUT=5 psql -w -X -q -tA "$PG_URL" -c 'select 1' >/dev/null 2>&1
}

# Newest PostgreSQL version with a `main` cluster configured, if any.
pg_cluster_version() {
    local d versions=()
    for d in /etc/postgresql/*/main; do
        [ -d "$d" ] && versions+=("$(basename "$(dirname "$d")")")
    done
    [ "${#versions[@]}" -gt 0 ] || return 1
    printf '%s\n' "${versions[@]}" | sort -V | tail -n1
}

setup_postgres() {
    if pg_check; then
        say "postgres: already running on 127.0.0.1:$PG_PORT, database test reachable"
        return
    fi
    PATH="$PATH:/usr/sbin:/sbin"
    if port_open "$PG_PORT"; then
        have psql || apt_install postgresql-client
        say "postgres: already running on 127.0.0.1:$PG_PORT"
    else
        if ! have pg_ctlcluster || ! have psql || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
            # The cluster created by the package takes its encoding from the locale:
            # make it UTF-8 (SQL_ASCII would break non-ASCII complaints).
            LANG=C.UTF-8 LC_ALL=C.UTF-8 apt_install postgresql
        fi
        local version
        if ! version=$(pg_cluster_version); then
            version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1 || true)
            [ -n "$version" ] || die "postgresql is installed but no server version found under /usr/lib/postgresql"
            say "postgres: creating cluster $version/main"
            as_root pg_createcluster --locale C.UTF-8 "$version" main >/dev/null
        fi
        say "postgres: starting cluster $version/main"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            say "postgres: pg_ctlcluster start returned non-zero (already running?); checking the port"
        wait_port "$PG_PORT" 30 ||
            die "postgresql $version/main did not listen on 127.0.0.1:$PG_PORT within 30s; see /var/log/postgresql/"
    fi

    if pg_check; then
        say "postgres: database test reachable as postgres@127.0.0.1:$PG_PORT"
        return
    fi

    # Test-machine set-up: trust postgres over 127.0.0.1 and create the database `test`.
    id postgres >/dev/null 2>&1 ||
        die "cannot connect to $PG_URL and there is no local postgres user to fix it; configure that server by hand"
    local hba
    hba=$(as_postgres psql -p "$PG_PORT" -X -tAc 'show hba_file') || die "cannot ask the local server for its pg_hba.conf (as user postgres)"
    if ! as_root grep -qxF "$HBA_LINE" "$hba"; then
        as_root sed -i "1i $HBA_LINE" "$hba"
        as_postgres psql -p "$PG_PORT" -X -q -tAc 'select pg_reload_conf()' >/dev/null
        say "postgres: added '$HBA_LINE' at the top of $hba and reloaded (test-machine set-up)"
    fi
    if [ "$(as_postgres psql -p "$PG_PORT" -X -tAc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
        as_postgres createdb -p "$PG_PORT" test
        say "postgres: created database test"
    fi
    # pg_reload_conf() is asynchronous: give the postmaster a moment.
    local tries=0
    until pg_check; do
        tries=$((tries + 1))
        [ "$tries" -lt 10 ] || die "still cannot connect to $PG_URL; check $hba and the server log in /var/log/postgresql/"
        sleep 1
    done
    say "postgres: database test reachable as postgres@127.0.0.1:$PG_PORT"
}

# --- peers ----------------------------------------------------------------------

# Each scripts/setup.d/*.sh is sourced in a subshell with the helpers above
# (say, die, have, as_root, apt_install, port_open, wait_port) and installs
# what one kind of test peer needs; keep each idempotent and quick when done.
setup_peers() {
    local f
    for f in scripts/setup.d/*.sh; do
        [ -e "$f" ] || continue
        ( source "$f" ) || die "$f failed"
    done
}

# --- main ---------------------------------------------------------------------

usage() {
    sed -n '2,10p' scripts/setup.sh | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 1 ] || usage
for step in "$@"; do
    case "$step" in
        python) setup_python ;;
        rabbitmq) setup_rabbitmq ;;
        postgres) setup_postgres ;;
        peers) setup_peers ;;
        run) setup_python; setup_rabbitmq ;;
        all) setup_python; setup_rabbitmq; setup_postgres; setup_peers ;;
        -h | --help | help) usage ;;
        *) printf 'setup: unknown step %s\n' "$step" >&2; usage ;;
    esac
done
