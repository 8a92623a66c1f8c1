#!/usr/bin/env bash
# Builds the single hodometer executable with `deno compile`:
# dist/hodometer-<target>. A thin wrapper around scripts/compile.ts, which
# `--help` describes (options, environment, exit statuses):
#
#   bash scripts/compile.sh [--target TRIPLE | --all] [--out-dir DIR] [--no-run]
#   bash scripts/compile.sh --print-permissions   markdown list of the baked-in permissions
#   bash scripts/compile.sh --print-flags         the compile flags, one a line
#   deno task compile [...]                       the same
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -n "${DENO:-}" ]]; then
  read -r -a DENO_CMD <<<"$DENO"
elif command -v deno >/dev/null 2>&1; then
  DENO_CMD=(deno)
else
  # The Deno version is pinned in one place: deno.json's "denoVersion".
  DENO_CMD=(npx --yes "deno@$(node -p 'require(process.argv[1]).denoVersion' "$ROOT/deno.json")")
fi

# The script runs from Deno's usual cache, which holds its own package
# (commander) once the project has been checked; a DENO_DIR given here is
# deno compile's (where it finds or downloads runtimes), handed on to it.
if [[ -n "${DENO_DIR:-}" ]]; then
  export HODOMETER_DENO_DIR="$DENO_DIR"
fi
unset DENO_DIR

exec "${DENO_CMD[@]}" run --no-prompt --allow-run --allow-read --allow-write --allow-env \
  "$ROOT/scripts/compile.ts" "$@"
