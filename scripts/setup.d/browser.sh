# Test peer for the browser tests (tests/e2e/test_browser*.py): Debian's headless
# Chromium and ChromeDriver, and axe-core (the accessibility checker the tests
# run inside the pages) installed with npm into var/npm, which git ignores.
# Sourced by scripts/setup.sh with its helpers (say, have, apt_install).

AXE_CORE_VERSION=4.14.1

if ! have chromium || ! have chromedriver; then
    apt_install chromium chromium-driver
fi

if ! have npm; then
    apt_install nodejs npm
fi

if [ ! -f "var/npm/node_modules/axe-core/package.json" ] \
    || ! grep -q "\"version\": \"$AXE_CORE_VERSION\"" var/npm/node_modules/axe-core/package.json; then
    say "browser: installing axe-core $AXE_CORE_VERSION into var/npm"
    mkdir -p var/npm
    npm install --silent --no-audit --no-fund --prefix var/npm "axe-core@$AXE_CORE_VERSION" >/dev/null
fi
say "browser: $(chromium --version 2>/dev/null | head -1), axe-core $AXE_CORE_VERSION"
