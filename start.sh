#!/usr/bin/env bash
# Starts the backends and the balancer in the foreground (`lbbench serve`);
# Ctrl-C stops all. Extra arguments go to `lbbench serve`.
# Runs the package's own bin with node, as `npx lbbench` would, but without
# npx's first-run copy into its cache (~40 s) or any registry look-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec node bin/lbbench.js serve "$@"
