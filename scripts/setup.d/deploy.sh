# Test peer for tests/integration/deploy/test_deploy.py: something that renders the docker compose
# file offline, without a Docker engine. Docker's own `docker compose` plugin
# is used when present; otherwise Debian's docker-compose (1.29, a Python
# program whose `config` only parses and interpolates). kubectl (for
# `kubectl kustomize`) and the Kubernetes schemas come from requirements-dev.txt.
# Sourced by scripts/setup.sh with its helpers (say, have, apt_install).

if have docker && docker compose version >/dev/null 2>&1; then
    say "deploy: $(docker compose version | head -1)"
else
    if ! have docker-compose; then
        apt_install docker-compose
    fi
    say "deploy: $(docker-compose version --short 2>/dev/null || echo docker-compose) (docker-compose config, offline)"
fi
