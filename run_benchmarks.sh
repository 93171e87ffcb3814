#!/usr/bin/env bash
# Runs every benchmark scenario (`lbbench run all`) and writes the reports.
# Extra arguments go to `lbbench run`, e.g. ./run_benchmarks.sh --quick
# Runs the package's own bin with node, as `npx lbbench` would, but without
# npx's first-run copy into its cache (~40 s) or any registry look-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec node bin/lbbench.js run all "$@"
