#!/bin/sh
# Creates vigil's namespace once Temporal answers (run by temporal-admin-tools).
set -eu
NS="${DEFAULT_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do echo 'waiting for Temporal...'; sleep 1; done
temporal operator namespace describe -n "$NS" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NS" --retention 30d --address "$TEMPORAL_ADDRESS"
echo "namespace $NS ready"
