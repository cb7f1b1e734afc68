#!/usr/bin/env bash
# Regenerate the committed Python code of proto/ancoef/v1/*.proto into services/proto/
# (grpcio-tools, pinned in pyproject.toml). tests/test_proto.py fails when it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-services/proto}"
mkdir -p "$out"
python -m grpc_tools.protoc -I proto --python_out="$out" --pyi_out="$out" proto/ancoef/v1/*.proto
