#!/usr/bin/env bash
# The guide's lat_conn benchmark: `lbbench run lat_conn`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run lat_conn "$@"
