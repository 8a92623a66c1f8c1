#!/usr/bin/env bash
# Regenerates src/proto/generated/ from proto/*.proto with ts-proto (typed
# messages and @grpc/grpc-js service definitions). Needs `protoc` (Debian:
# apt-get install protobuf-compiler) and npm; the output is committed, so
# neither is needed to build or test hodometer.
set -euo pipefail
cd "$(dirname "$0")/.."

TS_PROTO_VERSION=2.18.0
out=src/proto/generated

if ! command -v protoc >/dev/null; then
  echo "gen_proto: protoc not found: install it (apt-get install protobuf-compiler)" >&2
  exit 3
fi

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
npm install --silent --no-save --prefix "$tools" "ts-proto@$TS_PROTO_VERSION" >&2

rm -rf "$out" && mkdir -p "$out"
protoc \
  --plugin="protoc-gen-ts_proto=$tools/node_modules/.bin/protoc-gen-ts_proto" \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js \
  --ts_proto_opt=env=node \
  --ts_proto_opt=esModuleInterop=true \
  --ts_proto_opt=forceLong=number \
  --ts_proto_opt=outputJsonMethods=false \
  --ts_proto_opt=outputPartialMethods=false \
  --ts_proto_opt=importSuffix=.ts \
  --ts_proto_opt=useOptionals=none \
  -I proto proto/*.proto

echo "gen_proto: wrote $(ls "$out" | tr '\n' ' ')" >&2
