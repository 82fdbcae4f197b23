#!/usr/bin/env bash
# Usage: app/api/scripts/lock-requirements.sh [uv pip compile options, e.g. --upgrade]
#        (or `make lock`, `make lock LOCK_ARGS=--upgrade`)
#
# Compiles the API's lock, app/api/requirements.txt, from the hand-edited top-level pins in
# app/api/requirements.in: every package of the tree pinned with ==, with the sha256 of each of
# its files on PyPI. The image installs it with pip --require-hashes --no-deps
# --only-binary=:all:, so what is listed here is all that gets in, byte for byte.
#
# Compiler: uv, pinned below and installed from PyPI into build/lock-tools/ (git-ignored).
# uv rather than pip-tools because `uv pip compile --universal` resolves once for every
# platform and Python version at or above --python-version, writing environment markers where
# they differ; pip-compile resolves only for the interpreter it runs on, and a lock made on
# Python 3.11 amd64 (the tests, the local Debian base) could miss a package that Python 3.12 on
# arm64 (production: python:3.12-slim on ARM64 Fargate) needs, which --no-deps would not notice.
#
# Transitive pins already in the lock are kept unless the input needs otherwise; --upgrade
# (or --upgrade-package NAME) moves them to the newest releases.
#
# Then the lock is checked the way the image installs it: `pip download --require-hashes
# --no-deps --only-binary=:all:` for linux x86_64 and aarch64 with each of Python 3.11 and 3.12
# (LOCK_CHECK_PYTHONS, default python3.11 and python3.12 where they run; LOCK_CHECK=0 skips):
# a wheel exists for every target and its hash matches.
#
# Needs Python 3 with venv and pip, and HTTPS to PyPI (LOCK_INDEX_URL sets another index; uv
# trusts SSL_CERT_FILE, e.g. /etc/ssl/certs/ca-certificates.crt, behind an intercepting proxy).
set -euo pipefail

UV_VERSION=0.13.9
# The oldest Python the lock must serve; --universal also covers every newer one (3.12).
PYTHON_FLOOR=3.11
# glibc of Debian bookworm (2.36), which both the official slim image and the local base are on.
GLIBC_MINOR=36

API_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$API_DIR/../.." && pwd)"
TOOLS="${LOCK_TOOLS_DIR:-$REPO_ROOT/build/lock-tools}/uv-$UV_VERSION"
INDEX_URL="${LOCK_INDEX_URL:-https://pypi.org/simple}"

say() { echo "lock: $*"; }
die() { echo "lock: $*" >&2; exit 1; }

if [ ! -x "$TOOLS/bin/uv" ]; then
  say "installing uv==$UV_VERSION into ${TOOLS#"$REPO_ROOT"/}"
  rm -rf "$TOOLS"
  "${PYTHON:-python3}" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

cd "$API_DIR"
say "compiling requirements.in into requirements.txt (universal, Python >= $PYTHON_FLOOR)"
"$TOOLS/bin/uv" pip compile requirements.in \
  --universal \
  --python-version "$PYTHON_FLOOR" \
  --generate-hashes \
  --only-binary :all: \
  --index-url "$INDEX_URL" \
  --custom-compile-command "app/api/scripts/lock-requirements.sh" \
  --output-file requirements.txt \
  --quiet \
  "$@"

if [ "${LOCK_CHECK:-1}" = 0 ]; then
  say "wrote requirements.txt (not checked: LOCK_CHECK=0)"
  exit 0
fi
pythons=()
for python in ${LOCK_CHECK_PYTHONS:-python3.11 python3.12}; do
  if "$python" -c 'import pip' >/dev/null 2>&1; then
    pythons+=("$python")
  else
    say "skipping the check with $python: it does not run here, or has no pip"
  fi
done
[ "${#pythons[@]}" -gt 0 ] || die "no Python to check the lock with (LOCK_CHECK_PYTHONS)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checked=()
for python in "${pythons[@]}"; do
  version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  for arch in x86_64 aarch64; do
    say "checking with Python $version for linux $arch"
    # pip takes --platform literally: name every manylinux tag glibc 2.36 runs
    # (manylinux2014 stands for manylinux_2_17 and older).
    platforms=(--platform "manylinux2014_$arch")
    for minor in $(seq 18 "$GLIBC_MINOR"); do platforms+=(--platform "manylinux_2_${minor}_$arch"); done
    # Markers are evaluated against the running interpreter, hence one per Python version.
    "$python" -m pip download --quiet --disable-pip-version-check \
      --require-hashes --no-deps --only-binary=:all: \
      "${platforms[@]}" --python-version "$version" \
      --implementation cp --abi "cp${version/./}" \
      --index-url "$INDEX_URL" \
      --dest "$work/$version-$arch" -r requirements.txt ||
      die "the lock does not install on Python $version linux $arch (see above)"
  done
  checked+=("$version")
done
say "wrote requirements.txt; it installs on Python ${checked[*]}, linux x86_64 and aarch64"
