#!/usr/bin/env bash
# Makes the sandbox's Debian base without pulling any image: debootstrap a minimal suite and `docker import` it.
# Usage: make-base.sh [image-name]   (DEBIAN_SUITE overrides the suite; DEBIAN_MIRROR overrides the mirror)
set -euo pipefail

IMAGE="${1:-regatta-base:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already exists"
  exit 0
fi

# The host's own apt configuration names the mirror this machine can reach; nothing is hard-coded.
mirror_from_deb822() {
  local files=(/etc/apt/sources.list.d/*.sources)
  [ -e "${files[0]}" ] || return 0
  awk -v suite="$SUITE" '
    function flush() { if (!done && uri != "" && matched) { print uri; done = 1 } uri = ""; matched = 0 }
    FNR == 1 { flush() }
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) matched = 1 }
    END { flush() }
  ' "${files[@]}"
}

mirror_from_sources_list() {
  [ -f /etc/apt/sources.list ] || return 0
  awk -v suite="$SUITE" '
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) { print $i; exit }
    }
  ' /etc/apt/sources.list
}

MIRROR="${DEBIAN_MIRROR:-}"
[ -n "$MIRROR" ] || MIRROR="$(mirror_from_deb822 | head -n1)"
[ -n "$MIRROR" ] || MIRROR="$(mirror_from_sources_list | head -n1)"
if [ -z "$MIRROR" ]; then
  echo "no apt source for suite '$SUITE' in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set DEBIAN_MIRROR" >&2
  exit 1
fi

ROOTFS="$(mktemp -d /var/tmp/regatta-base.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

echo "debootstrap --variant=minbase $SUITE (mirror from the host's apt sources)"
debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE"
echo "imported $IMAGE"
