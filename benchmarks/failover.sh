#!/usr/bin/env bash
# The guide's failover benchmark: `lbbench run failover`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run failover "$@"
