#!/usr/bin/env bash
# Builds the single hodometer executable with `deno compile`: dist/hodometer-<target>.
#
#   bash scripts/compile.sh [--target TRIPLE | --all] [--out-dir DIR] [--no-run]
#   bash scripts/compile.sh --print-permissions   markdown list of the baked-in permissions
#   bash scripts/compile.sh --print-flags         the compile flags, one a line
#   deno task compile [...]                       the same
#
# Targets: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, x86_64-apple-darwin,
# aarch64-apple-darwin; the host's by default, all four with --all.
#
# Environment:
#   VERSION      stamped version; default `git describe --tags --always --dirty`,
#                else deno.json's "version", else "dev"
#   GIT_COMMIT   stamped commit; default `git rev-parse HEAD`, else "unknown"
#   DENORT_BIN   a local Deno runtime (denort) for the target, used instead of a
#                download from dl.deno.land (Deno's own variable; one target per run)
#   DENO         the deno command; default `deno`, else `npx --yes deno@2.9.6`
#   HODOMETER_ALLOW_READ, HODOMETER_ALLOW_WRITE   replace the default path lists
#                (see scripts/permissions.ts, where the permissions are decided)
#   DENORT_DOWNLOAD_TIMEOUT   seconds allowed for fetching a runtime (default 300)
#
# The work tree is never modified: the sources are copied into a temporary build
# directory and src/build_info.ts is stamped there; it is removed on any exit.
# A binary for the host's target is run once (`version`, in an empty directory
# with an empty environment) before it is kept, unless --no-run.
#
# Exit status: 0 built; 1 compile failed or the built binary did not run;
# 2 usage error or bad VERSION/GIT_COMMIT/path list; 3 no Deno runtime (denort)
# available for a target (no DENORT_BIN and the download failed, or DENORT_BIN
# is not a readable file).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-apple-darwin aarch64-apple-darwin)
EXIT_FAILED=1
EXIT_USAGE=2
EXIT_NO_RUNTIME=3

say() { echo "hodometer compile: $*" >&2; }
usage() {
  say "$1"
  echo "usage: bash scripts/compile.sh [--target TRIPLE | --all] [--out-dir DIR] [--no-run] | --print-permissions | --print-flags" >&2
  exit "$EXIT_USAGE"
}

if [[ -n "${DENO:-}" ]]; then
  read -r -a DENO_CMD <<<"$DENO"
elif command -v deno >/dev/null 2>&1; then
  DENO_CMD=(deno)
else
  DENO_CMD=(npx --yes deno@2.9.6)
fi

permissions() {
  (cd "$ROOT" && "${DENO_CMD[@]}" run --no-lock \
    --allow-env=HODOMETER_ALLOW_READ,HODOMETER_ALLOW_WRITE \
    scripts/permissions.ts "$1")
}

host_target() {
  local arch os
  case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) return 1 ;;
  esac
  case "$(uname -s)" in
    Linux) os=unknown-linux-gnu ;;
    Darwin) os=apple-darwin ;;
    *) return 1 ;;
  esac
  echo "$arch-$os"
}

selected=()
out_dir="$ROOT/dist"
run_built=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --print-permissions)
      permissions --markdown
      exit
      ;;
    --print-flags)
      permissions --flags
      exit
      ;;
    --all) selected=("${TARGETS[@]}") ;;
    --target)
      [[ $# -ge 2 ]] || usage "--target needs a value"
      selected+=("$2")
      shift
      ;;
    --target=*) selected+=("${1#--target=}") ;;
    --out-dir)
      [[ $# -ge 2 ]] || usage "--out-dir needs a value"
      out_dir="$2"
      shift
      ;;
    --out-dir=*) out_dir="${1#--out-dir=}" ;;
    --no-run) run_built=0 ;;
    -h | --help)
      sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit
      ;;
    *) usage "unknown argument: $1" ;;
  esac
  shift
done

host="$(host_target || true)"
if [[ ${#selected[@]} -eq 0 ]]; then
  [[ -n "$host" ]] || usage "cannot tell the host's target from $(uname -sm): give --target"
  selected=("$host")
fi
for t in "${selected[@]}"; do
  [[ " ${TARGETS[*]} " == *" $t "* ]] || usage "unknown target $t (known: ${TARGETS[*]})"
done
if [[ -n "${DENORT_BIN:-}" && ${#selected[@]} -gt 1 ]]; then
  usage "DENORT_BIN names the runtime of one target: build one --target at a time"
fi

# --- what to stamp ---------------------------------------------------------
stamp_ok='^[0-9A-Za-z][0-9A-Za-z._+-]{0,79}$'
version="${VERSION:-}"
if [[ -z "$version" ]]; then
  version="$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || true)"
fi
if [[ -z "$version" ]]; then
  version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ROOT/deno.json" | head -n 1)"
fi
version="${version:-dev}"
commit="${GIT_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)}"
commit="${commit:-unknown}"
[[ "$version" =~ $stamp_ok ]] || usage "VERSION \"$version\" is not a version (letters, digits, . _ + -)"
[[ "$commit" =~ $stamp_ok ]] || usage "GIT_COMMIT \"$commit\" is not a commit (letters, digits, . _ + -)"

flags_text="$(permissions --flags)" || exit "$EXIT_USAGE"
mapfile -t FLAGS <<<"$flags_text"

# --- a stamped copy of the sources -----------------------------------------
build="$(mktemp -d "${TMPDIR:-/tmp}/hodometer-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$ROOT/main.ts" "$ROOT/deno.json" "$build/"
[[ -f "$ROOT/deno.lock" ]] && cp "$ROOT/deno.lock" "$build/"
cp -R "$ROOT/src" "$build/src"
cat >"$build/src/build_info.ts" <<EOF
// Stamped by scripts/compile.sh.
export const BUILD_INFO: { version: string; gitCommit: string } = {
  version: "$version",
  gitCommit: "$commit",
};
EOF
mkdir -p "$build/probe"
[[ "$out_dir" == /* ]] || out_dir="$PWD/$out_dir"
echo 'console.log("ok");' >"$build/probe/probe.ts"

no_runtime() {
  say "no Deno runtime (denort) available for $1: $2"
  exit "$EXIT_NO_RUNTIME"
}

# Is there a runtime for $1? DENORT_BIN if set, else what deno finds in its
# cache or downloads, found out on a tiny program before the real compile.
check_runtime() {
  local target="$1" hint="set DENORT_BIN=/path/to/denort-$1 or allow downloads from dl.deno.land"
  if [[ -n "${DENORT_BIN:-}" ]]; then
    [[ -f "$DENORT_BIN" && -r "$DENORT_BIN" ]] ||
      no_runtime "$target" "DENORT_BIN=$DENORT_BIN is not a readable file; $hint"
    return 0
  fi
  local limit=()
  command -v timeout >/dev/null 2>&1 &&
    limit=(timeout "${DENORT_DOWNLOAD_TIMEOUT:-300}")
  if ! "${limit[@]}" "${DENO_CMD[@]}" compile --quiet --no-config \
    --target "$target" --output "$build/probe/probe-$target" \
    "$build/probe/probe.ts" >"$build/probe/log" 2>&1; then
    no_runtime "$target" "$hint"
  fi
  rm -f "$build/probe/probe-$target"
}

# Runs a host binary alone in an empty directory with an empty environment.
smoke_test() {
  local binary="$1" empty got
  empty="$(mktemp -d "$build/empty.XXXXXX")"
  cp "$binary" "$empty/hodometer"
  got="$( (cd "$empty" && env -i ./hodometer version 2>&1) | head -n 2 |
    sed 's/\x1b\[[0-9;]*m//g')" || true
  rm -rf "$empty"
  [[ "$got" == "hodometer $version"$'\n'"git commit: $commit" ]] && return 0
  rm -f "$binary"
  local hint=""
  [[ -n "${DENORT_BIN:-}" ]] && hint="; is DENORT_BIN=$DENORT_BIN a denort for $host?"
  say "the built binary does not run (\`version\` said: $(echo "$got" | head -n 1))$hint"
  exit "$EXIT_FAILED"
}

for target in "${selected[@]}"; do
  check_runtime "$target"
  mkdir -p "$out_dir"
  output="$out_dir/hodometer-$target"
  say "building $output (version $version, commit $commit)"
  # Type checking is the test suite's job; skipping it here also keeps the
  # compiler within the small heap that the baked V8 flags give it too.
  if ! (cd "$build" && "${DENO_CMD[@]}" compile --quiet --no-check "${FLAGS[@]}" \
    --target "$target" --output "$output" main.ts); then
    say "deno compile failed for $target"
    exit "$EXIT_FAILED"
  fi
  [[ "$target" == "$host" && "$run_built" == 1 ]] && smoke_test "$output"
  say "built $output"
done
