#!/usr/bin/env bash
# Build a local Python base image without any container registry:
# debootstrap a minimal Debian bookworm with python3 + venv, add the host's
# locally trusted CA certificates, and `docker import` the root filesystem.
# The Debian mirror is read from the host's apt sources (never hard-coded).
#
#   scripts/base-image.sh [IMAGE]     default IMAGE: local/python:3.11-bookworm
#   FORCE=1 scripts/base-image.sh     rebuild even when IMAGE exists
#
# Idempotent: returns at once when IMAGE exists. Needs root, debootstrap and a
# running Docker engine (scripts/docker-up.sh). Air-gapped: point the host's apt
# sources at your internal Debian mirror; this script follows them.
set -euo pipefail

IMAGE=${1:-local/python:3.11-bookworm}
SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates
DOCKER=/usr/bin/docker

if [[ -z ${FORCE:-} ]] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base-image: $IMAGE exists (FORCE=1 rebuilds)"
  exit 0
fi

# The first URI in the host's apt sources that serves "$SUITE" itself
# (deb822 *.sources or one-line *.list), e.g. http://deb.debian.org/debian.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      /^$/ { if (hit && uri) { print uri; exit } ; uri = ""; hit = 0 }
      END { if (hit && uri) print uri }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] && awk -v suite="$SUITE" '
      $1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == suite) print $2 }' "$f"
  done
  return 0
}
MIRROR=$(mirror)
MIRROR=${MIRROR%%$'\n'*}
[[ -n $MIRROR ]] || { echo "base-image: no '$SUITE' source in /etc/apt" >&2; exit 1; }

ROOTFS=$(mktemp -d /tmp/base-image.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT

echo "base-image: debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
  || { tail -20 "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"

# The host's locally added CAs (e.g. an egress proxy's) so that pip inside the
# image reaches the package registry the way the host does.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
fi
chroot "$ROOTFS" update-ca-certificates >/dev/null

# Behave like the official python slim image: `python` on PATH too.
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
# Nothing the image needs at run time: apt's caches and lists, logs, man pages.
rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*

tar --numeric-owner -C "$ROOTFS" -c . | "$DOCKER" import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "debootstrap --variant=minbase $SUITE + $PACKAGES" \
  - "$IMAGE" >/dev/null
echo "base-image: built $IMAGE ($("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE") bytes)"
