#!/usr/bin/env bash
# The guide's connection_pooling benchmark: `lbbench run connection_pooling`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run connection_pooling "$@"
