#!/usr/bin/env bash
# Logs in to ECR and pushes both probe images (built by scripts/build-images.sh) to the
# repositories that scripts/deploy.sh created.
#
#   scripts/push-images.sh                 uses ecs.toml (or $CONFIG) for the image URIs
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-ecs.toml}
[ -f "$config" ] || { echo "push-images: $config not found; run scripts/deploy.sh first" >&2; exit 2; }
value() { sed -n "s/^$1 = \"\(.*\)\"/\1/p" "$config"; }
region=$(value region)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
scripts/build-images.sh
for probe in netprobe memprobe; do
  uri=$(value "${probe}_image")
  registry=${uri%%/*}
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
  docker tag "$probe:$version" "$uri"
  docker push "$uri"
done
