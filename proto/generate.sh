#!/usr/bin/env bash
# Regenerate the committed Python code of proto/ancoef/v1/*.proto into services/proto/
# (grpcio-tools, pinned in pyproject.toml): messages (_pb2.py, _pb2.pyi) and service stubs
# (_pb2_grpc.py). tests/test_proto.py fails when it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-services/proto}"
mkdir -p "$out"
python="${PYTHON:-python}"
"$python" -m grpc_tools.protoc -I proto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" proto/ancoef/v1/*.proto
# protoc writes absolute imports (`from ancoef.v1 import ...`); the package lives at
# services.proto.ancoef.v1, and importing it under two names would register each file twice.
for f in "$out"/ancoef/v1/*_pb2*.py "$out"/ancoef/v1/*_pb2.pyi; do
  sed -i 's/^from ancoef\.v1 import/from services.proto.ancoef.v1 import/' "$f"
done
