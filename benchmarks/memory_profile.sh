#!/usr/bin/env bash
# The guide's memory_profile benchmark: `lbbench run memory_profile`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run memory_profile "$@"
