#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major line, for PATH:
#
#   PATH="$(scripts/node-from-npm.sh 26):$PATH" npm test
#
# The machine's own `node` when it is of that line; otherwise the official Linux build of the line's
# latest release, which the npm registry serves as the package node-linux-<arch>@<major> (npm checks
# the tarball's integrity), installed once into .cache/node/<major>/ of this checkout. Only the
# `node` binary is taken: npm is the machine's own, which runs on whichever `node` PATH finds first.
set -euo pipefail
major=${1:?usage: scripts/node-from-npm.sh MAJOR (22, 24, 26, ...)}
root=$(cd "$(dirname "$0")/.." && pwd)

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node-from-npm: no Node.js package on the npm registry for $(uname -m)" >&2; exit 1 ;;
esac

dir="$root/.cache/node/$major"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "node-from-npm: installing node-linux-$arch@$major from the npm registry into ${dir#"$root"/}" >&2
  (cd "$work" && npm pack --silent --no-update-notifier "node-linux-$arch@$major" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-"$arch"-*.tgz -C "$work/node" --strip-components=1 package/bin/node package/LICENSE
  version=$("$work/node/bin/node" --version)
  case "$version" in
    "v$major".*) ;;
    *) echo "node-from-npm: node-linux-$arch@$major gave Node.js $version" >&2; exit 1 ;;
  esac
  # Into place in one step: an interrupted install leaves no half-written binary behind.
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$work/node" "$dir"
fi
echo "$dir/bin"
