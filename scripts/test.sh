#!/usr/bin/env bash
# The one test command (npm test): installs the Debian packages the tests need
# when missing, builds, type-checks, lints, then runs every test. Never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
if [ "${1:-}" = "--only" ]; then only="${2:-}"; fi

bash scripts/ensure-system-deps.sh

echo "== build"
npm run --silent build
echo "== type-check"
npx tsc --noEmit -p .
echo "== lint"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
echo "== imports"
npm run --silent check:imports

files=()
for tier in unit integration e2e; do
  if [ -n "$only" ] && [ "$only" != "$tier" ]; then continue; fi
  while IFS= read -r f; do files+=("$f"); done < <(find "test/$tier" -name '*.test.ts' 2>/dev/null | sort)
done
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
echo "== tests (${#files[@]} files)"
exec node --import tsx --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
