#!/usr/bin/env bash
# Assembles the Dockerfile's base image (node:<major>-bookworm-slim) on a machine that cannot pull
# one, and tags it under that name in podman's local store, so that `podman build --pull=never`
# of the repository's Dockerfile builds as it would on top of the official image:
#
#   Debian bookworm, minimal (`debootstrap --variant=minbase`, from Debian's own packages), with
#   libatomic1, which the official Node.js builds need
#   + Node.js from the npm registry (node-linux-<arch>@<major>, the official build) in /usr/local/bin
#   + npm from the npm registry (npm@11, what Node.js 26 ships) in /usr/local/lib/node_modules
#   + the user `node` (uid 1000, gid 1000, home /home/node), as the official image has it.
#
# Cached twice, so that only the first run on a machine is slow (debootstrap: about 3 minutes on a
# loaded machine): the Debian root file system as a tarball in $METRONOME_IMAGE_CACHE (default
# /var/cache/metronome-image, outside the checkout: CI clones afresh), keyed by its recipe; and the
# tagged image itself, labelled with that recipe and the exact Node.js and npm versions, reused as
# long as they are the newest the registry has for the line (a new Node.js release rebuilds only the
# Node.js layer: about a minute).
#
# Root only (debootstrap, chroot, podman's root store). Prints the image's name.
#   scripts/image-base.sh            # the base named by the Dockerfile's FROM lines
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${METRONOME_IMAGE_CACHE:-/var/cache/metronome-image}
say() { echo "image-base: $*" >&2; }

base=$(sed -nE 's/^FROM[[:space:]]+([^[:space:]]+).*/\1/p' "$root/Dockerfile" | sort -u)
if [ "$(echo "$base" | wc -l)" != 1 ]; then
  say "the Dockerfile's stages must share one base image; found: $base"
  exit 1
fi
if [[ ! $base =~ ^node:([0-9]+)-(bookworm)-slim$ ]]; then
  say "can assemble node:<major>-bookworm-slim only, not $base"
  exit 1
fi
major=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
tag="docker.io/library/$base"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) say "no Node.js package on the npm registry for $(uname -m)"; exit 1 ;;
esac
node_version=$(npm view --no-update-notifier "node-linux-$arch@$major" version | tail -n1 | sed -E "s/.*'([^']+)'.*/\1/")
npm_version=$(npm view --no-update-notifier 'npm@11' version | tail -n1 | sed -E "s/.*'([^']+)'.*/\1/")
# What the Debian layer is made of, and how Node.js and npm are laid on it: change a word here (or
# bump layering) when changing either, so that the caches below are made again.
debian="debootstrap --variant=minbase --include=libatomic1 $suite; user node 1000:1000"
layering=1
recipe=$(echo "$debian" | sha256sum | cut -c1-16)
want="debian-$recipe layering-$layering node-$node_version npm-$npm_version"
have=$(podman image inspect --format '{{ index .Labels "org.metronome.base" }}' "$tag" 2>/dev/null || true)
if [ "$have" = "$want" ]; then
  say "$tag is up to date ($want)"
  echo "$tag"
  exit 0
fi
say "assembling $tag ($want)"

mkdir -p "$cache"
rootfs_tar="$cache/$suite-minbase-$recipe.tar"
work=$(mktemp -d /var/tmp/metronome-image-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ ! -s "$rootfs_tar" ]; then
  command -v debootstrap >/dev/null || { say "needs debootstrap (apt-get install debootstrap)"; exit 1; }
  say "debootstrap --variant=minbase --include=libatomic1 $suite (the first time on this machine only; minutes)"
  started=$SECONDS
  debootstrap --variant=minbase --include=libatomic1 "$suite" "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # What the official slim images leave out too: package caches and lists.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  chroot "$work/rootfs" groupadd --gid 1000 node
  chroot "$work/rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  tar -C "$work/rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$work/rootfs"
  say "debootstrap took $((SECONDS - started)) s; cached in $rootfs_tar"
fi

# Node.js and npm on top, from the npm registry.
mkdir -p "$work/layer/usr/local/bin" "$work/layer/usr/local/lib/node_modules/npm" "$work/pack"
(cd "$work/pack" && npm pack --silent --no-update-notifier "node-linux-$arch@$node_version" "npm@$npm_version" >/dev/null)
tar -xzf "$work/pack/node-linux-$arch-$node_version.tgz" -C "$work/layer/usr/local" --strip-components=1 package/bin/node
tar -xzf "$work/pack/npm-$npm_version.tgz" -C "$work/layer/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/layer/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/layer/usr/local/bin/npx"
mkdir "$work/rootfs"
tar -C "$work/rootfs" -xf "$rootfs_tar"
cp -a "$work/layer/usr/local/." "$work/rootfs/usr/local/"
chown -R 0:0 "$work/rootfs/usr/local"
tar -C "$work/rootfs" -cf "$work/image.tar" .

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change "LABEL org.metronome.base=\"$want\"" \
  --change 'CMD ["node"]' \
  "$work/image.tar" "$tag" >/dev/null
say "tagged $tag"
echo "$tag"
