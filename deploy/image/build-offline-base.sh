#!/usr/bin/env bash
# Build the image where no registry's base image can be pulled and no container can run (this
# project's CI): a Debian base made with debootstrap and imported into podman, the Containerfile
# built on it with chroot isolation, then the image's filesystem exported to OUT_DIR, where
# tests/deploy/test_image.py runs the image's own entrypoint under chroot.
#
#   deploy/image/build-offline-base.sh OUT_DIR
#
# Needs root, podman and debootstrap. pip inside the build is given this machine's index
# settings and CA bundle (a build secret), as its own pip would use them. Prints each step's
# seconds and the image's size.
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${1:?usage: deploy/image/build-offline-base.sh OUT_DIR}
image=${LLMGW_IMAGE:-localhost/llmgw-desktop:ci}
base=${LLMGW_IMAGE_BASE:-localhost/llmgw-debian-base:bookworm}
suite=${LLMGW_IMAGE_SUITE:-bookworm}

step() { printf '%s: %ss\n' "$1" "$(( SECONDS - began ))"; began=$SECONDS; }
began=$SECONDS

if ! podman image exists "$base"; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  # minbase: dpkg, apt and the essential tools; python3-venv brings the venv module the build
  # stage uses (and the final stage's interpreter).
  debootstrap --variant=minbase --include=python3,python3-venv "$suite" "$rootfs" >/dev/null
  # What a running gateway never reads: package lists and caches, manuals, translations.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" -c . | podman import --quiet - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  step "debootstrap base"
fi

# The index pip would use here, if configured (a file:// index is of this machine only).
build_args=()
for name in index-url extra-index-url; do
  value=$(pip3 config get "global.$name" 2>/dev/null || true)
  variable=PIP_$(tr 'a-z-' 'A-Z_' <<<"$name")
  value=${!variable:-$value}
  value=$(tr ' ' '\n' <<<"$value" | grep -v '^file:' | paste -sd' ' || true)
  if [ -n "$value" ]; then build_args+=(--build-arg "$variable=$value"); fi
done
ca=${PIP_CERT:-$(pip3 config get global.cert 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)}

podman build --quiet --format docker --isolation=chroot --build-arg "BASE=$base" "${build_args[@]}" \
  --secret "id=ca,src=$ca" -f deploy/image/Containerfile -t "$image" . >/dev/null
step "image build"
size=$(podman image inspect --format '{{.Size}}' "$image")
base_size=$(podman image inspect --format '{{.Size}}' "$base")
echo "image $image: $(( size / 1000000 )) MB ($(( base_size / 1000000 )) MB of it the base)"

rm -rf "$out" && mkdir -p "$out"
# (Its health check is the runtime's to run: none for a container only exported.)
container=$(podman create --no-healthcheck "$image")
podman export "$container" | tar -C "$out" -x
podman rm --force "$container" >/dev/null
# What the runtime would give the container (its config, and the health check the docker
# format keeps beside it), for the test to read.
podman image inspect "$image" >"$out.image.json"
step "image export"
