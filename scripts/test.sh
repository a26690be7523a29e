#!/usr/bin/env bash
# The test command of the README and CI: installs what is missing, then runs jest and pytest and
# prints one plain summary line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; echo "setup failed" >&2; exit 1; }

# The dashboard's browser tests (tests/dashboard) drive Debian's chromium: installed when absent.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; } || echo "could not install chromium: the dashboard's browser tests will fail" >&2
fi

mkdir -p .cache
rm -f .cache/jest-results.json .cache/pytest-results.xml

echo "== jest (TypeScript) =="
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile=.cache/jest-results.json "$@"
jest_status=$?

echo "== pytest (Python) =="
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest -q -p no:cacheprovider --junitxml=.cache/pytest-results.xml tests/python
pytest_status=$?

summary=$(node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
try {
  const jest = JSON.parse(fs.readFileSync(".cache/jest-results.json", "utf8"));
  passed += jest.numPassedTests; failed += jest.numFailedTests + (jest.numRuntimeErrorTestSuites || 0); skipped += jest.numPendingTests;
} catch { failed += 1; }
try {
  const xml = fs.readFileSync(".cache/pytest-results.xml", "utf8");
  const suite = /<testsuite\b[^>]*>/.exec(xml)[0];
  const attribute = (name) => Number((new RegExp(`\\b${name}="(\\d+)"`).exec(suite) || [0, 0])[1]);
  const total = attribute("tests"), bad = attribute("failures") + attribute("errors"), skip = attribute("skipped");
  passed += total - bad - skip; failed += bad; skipped += skip;
} catch { failed += 1; }
console.log(`${passed} passed, ${failed} failed` + (skipped ? ` (${skipped} skipped)` : ""));
')
echo "$summary"
if [ $jest_status -ne 0 ] || [ $pytest_status -ne 0 ]; then exit 1; fi
case "$summary" in *" 0 failed"*) exit 0 ;; *) exit 1 ;; esac
