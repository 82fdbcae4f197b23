#!/usr/bin/env bash
# Usage: app/api/docker/build-image.sh [--local-base]
#
# Builds the API image from app/api/Dockerfile as IMAGE (default payments-api:local), the
# image tests/container runs as the task definition says.
#
# Base image: BASE_IMAGE when set; else the Dockerfile's default (python:3.12.N-slim-bookworm
# pinned by digest: its `ARG BASE_IMAGE=` line, read from there) when it is here or can be
# pulled; else (or with --local-base) the local Debian base that local-base-image.sh makes once
# and keeps by tag (needs root and an apt mirror).
#
# The commit: GIT_COMMIT when set, else the last commit that changed the image's inputs, with
# -dirty when they have uncommitted changes, as `make up` works it out
# (payments_infra/components/api/image.py); empty without git. /healthz reports it.
#
# pip's CA bundle: PIP_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt when readable;
# empty for none) goes in as the BuildKit secret pip-ca, mounted for the pip step only and
# never stored in a layer. It lets pip through a TLS-intercepting proxy.
#
# Needs a Docker daemon and a client that builds with BuildKit: Docker 20.10-22.x with
# DOCKER_BUILDKIT=1 (Debian's docker.io), or any client with the buildx plugin. DOCKER picks
# the client; otherwise the first of `docker` on PATH and /usr/bin/docker that can.
set -euo pipefail

API_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-payments-api:local}"
# The Dockerfile's default base, by tag and digest (one place to refresh it: the Dockerfile).
DEFAULT_BASE=$(sed -n 's/^ARG BASE_IMAGE=//p' "$API_DIR/Dockerfile" | head -n 1)
LOCAL_BASE="${LOCAL_BASE_IMAGE:-payments-local-base:bookworm}"
PULL_TIMEOUT_SECONDS=120

use_local_base=0
case "${1:-}" in
  "") ;;
  --local-base) use_local_base=1 ;;
  *) echo "usage: $0 [--local-base]" >&2; exit 2 ;;
esac

say() { echo "image: $*"; }
die() { echo "image: $*" >&2; exit 1; }

[ -n "$DEFAULT_BASE" ] || die "no ARG BASE_IMAGE= line in $API_DIR/Dockerfile"

# A client that can build with BuildKit: with the buildx plugin, or older than Docker 23
# (whose `docker build` has BuildKit built in; 23+ without buildx refuses DOCKER_BUILDKIT=1).
buildkit_client() {
  local candidate major candidates=(docker /usr/bin/docker)
  if [ -n "${DOCKER:-}" ]; then candidates=("$DOCKER"); fi
  for candidate in "${candidates[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" buildx version >/dev/null 2>&1; then echo "$candidate"; return 0; fi
    major=$("$candidate" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1) || true
    if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -lt 23 ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

command -v "${DOCKER:-docker}" >/dev/null 2>&1 || [ -x /usr/bin/docker ] ||
  die "Docker is not installed: install it (Debian: apt-get install docker.io)."
docker_cli=$(buildkit_client) ||
  die "no Docker client here builds with BuildKit (${DOCKER:-$(command -v docker)} is $("${DOCKER:-docker}" version --format '{{.Client.Version}}' 2>/dev/null) without the buildx plugin): install the buildx plugin, or set DOCKER to a Docker 20.10-22.x client such as Debian's /usr/bin/docker."
"$docker_cli" info >/dev/null 2>&1 ||
  die "the Docker daemon is not answering ($docker_cli info failed): start it (systemctl start docker, or dockerd &)."

if [ -n "${BASE_IMAGE:-}" ]; then
  base="$BASE_IMAGE"
elif [ "$use_local_base" = 0 ] && { "$docker_cli" image inspect "$DEFAULT_BASE" >/dev/null 2>&1 ||
    timeout "$PULL_TIMEOUT_SECONDS" "$docker_cli" pull --quiet "$DEFAULT_BASE" >/dev/null 2>&1; }; then
  base="$DEFAULT_BASE"
else
  [ "$use_local_base" = 1 ] || say "$DEFAULT_BASE cannot be pulled; using the local Debian base"
  LOCAL_BASE_IMAGE="$LOCAL_BASE" "$API_DIR/docker/local-base-image.sh"
  base="$LOCAL_BASE"
fi

# The image's inputs, as payments_infra/components/api/image.py's IMAGE_INPUTS lists them (a test
# holds the two lists equal).
IMAGE_INPUTS=(Dockerfile requirements.txt payments_api certs)
source_commit() {
  local commit changes
  commit=$(git -C "$API_DIR" log -1 --format=%H -- "${IMAGE_INPUTS[@]}" 2>/dev/null) || return 0
  [ -n "$commit" ] || return 0
  changes=$(git -C "$API_DIR" status --porcelain -- "${IMAGE_INPUTS[@]}" 2>/dev/null) || return 0
  if [ -n "$changes" ]; then echo "$commit-dirty"; else echo "$commit"; fi
}
git_commit="${GIT_COMMIT-$(source_commit)}"

secret_args=()
ca_bundle="${PIP_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
if [ -n "$ca_bundle" ]; then
  if [ -r "$ca_bundle" ]; then
    secret_args=(--secret "id=pip-ca,src=$ca_bundle")
  elif [ -n "${PIP_CA_BUNDLE:-}" ]; then
    die "PIP_CA_BUNDLE=$PIP_CA_BUNDLE is not a readable file."
  fi
fi

say "building $IMAGE FROM $base with $docker_cli (commit ${git_commit:-unknown})"
DOCKER_BUILDKIT=1 "$docker_cli" build \
  --network host \
  --build-arg "BASE_IMAGE=$base" \
  --build-arg "GIT_COMMIT=$git_commit" \
  --label "org.opencontainers.image.base.name=$base" \
  "${secret_args[@]}" \
  --tag "$IMAGE" \
  "$API_DIR"
say "built $IMAGE"
