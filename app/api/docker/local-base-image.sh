#!/usr/bin/env bash
# Usage: app/api/docker/local-base-image.sh [--rebuild]
#
# Makes a local stand-in for python:3.12-slim from Debian packages, for machines that cannot
# pull from Docker Hub: a minimal Debian bookworm (debootstrap --variant=minbase) with
# python3 (3.11), python3-venv, python-is-python3 (so `python` exists, as in the official
# image) and ca-certificates, imported as LOCAL_BASE_IMAGE (default payments-local-base:bookworm).
#
# Cached by tag: when that tag exists, it does nothing (--rebuild replaces it). The image is
# for building and testing here; what ships is built FROM the official image.
#
# Needs: root (debootstrap), debootstrap, tar, a Docker daemon, an apt mirror (DEBIAN_MIRROR,
# default http://deb.debian.org/debian) and Debian's archive keyring (DEBIAN_KEYRING, default
# the debian-archive-keyring package's), which the packages are verified with. About 2
# minutes on a cold run.
set -euo pipefail

TAG="${LOCAL_BASE_IMAGE:-payments-local-base:bookworm}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING="${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
PACKAGES=python3,python3-venv,python-is-python3,ca-certificates

rebuild=0
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=1 ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

if [ "$rebuild" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "local base: $TAG exists (cached; --rebuild to make it again)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "local base: debootstrap needs root; run this script as root (e.g. with sudo)" >&2
  exit 1
fi
command -v debootstrap >/dev/null 2>&1 ||
  { echo "local base: debootstrap is not installed (Debian: apt-get install debootstrap)" >&2; exit 1; }
[ -r "$KEYRING" ] ||
  { echo "local base: no keyring $KEYRING to verify packages (Debian: apt-get install debian-archive-keyring)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/payments-local-base.XXXXXX)
root="$work/rootfs"
cleanup() {
  # debootstrap mounts /proc and /sys inside the tree; a failed run can leave them mounted.
  # Unmount before deleting, and never cross into another filesystem while deleting.
  if [ -d "$root" ]; then
    awk -v root="$root" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount_point; do umount -l "$mount_point" || true; done
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "local base: debootstrap $SUITE from $MIRROR (about 2 minutes)"
if ! debootstrap --variant=minbase --include="$PACKAGES" --keyring="$KEYRING" \
    "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 40 "$work/debootstrap.log" >&2
  if [ -f "$root/debootstrap/debootstrap.log" ]; then tail -n 40 "$root/debootstrap/debootstrap.log" >&2; fi
  echo "local base: debootstrap failed" >&2
  exit 1
fi

# Smaller and closer to the slim image: no package cache, lists, docs or man pages.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/debootstrap
# The image's /tmp is what its VOLUME ["/tmp"] copies into the task volume: it must be 1777.
tmp_mode=$(stat -c %a "$root/tmp")
if [ "$tmp_mode" != 1777 ]; then
  echo "local base: /tmp has mode $tmp_mode in the new tree, not 1777" >&2
  exit 1
fi

tar --numeric-owner --xattrs -C "$root" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "debootstrap --variant=minbase --include=$PACKAGES $SUITE $MIRROR" \
    - "$TAG" >/dev/null
echo "local base: $TAG ($(docker run --rm "$TAG" python --version))"
