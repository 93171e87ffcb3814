#!/usr/bin/env bash
# The guide's latency_percentiles benchmark: `lbbench run latency_percentiles`. Extra arguments go to
# `lbbench run`, e.g. --quick.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node bin/lbbench.js run latency_percentiles "$@"
