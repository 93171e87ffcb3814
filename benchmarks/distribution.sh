#!/usr/bin/env bash
# The guide's distribution benchmark: `lbbench run distribution`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run distribution "$@"
