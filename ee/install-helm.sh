#!/bin/sh
# Installs helm from its release tarball on get.helm.sh, verified against the SHA-256 sums in
# helm.sha256sum (copied from Helm's release page, https://github.com/helm/helm/releases/tag/v3.21.4).
# The build of execution-environment.yml runs it with the image's architecture (TARGETARCH).
#   install-helm.sh SUMS_FILE [ARCH] [BINDIR]
#     ARCH    amd64, arm64, ppc64le or s390x; empty: this machine's (uname -m)
#     BINDIR  where helm goes (default /usr/local/bin)
set -eu
sums=$1
arch=${2:-}
bindir=${3:-/usr/local/bin}
if [ -z "$arch" ]; then
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
fi
line=$(grep -E "^[0-9a-f]{64}  helm-v[0-9]+\.[0-9]+\.[0-9]+-linux-${arch}\.tar\.gz\$" "$sums" || true)
if [ -z "$line" ] || [ "$(printf '%s\n' "$line" | wc -l)" -ne 1 ]; then
  echo "install-helm: no checksum for linux-${arch} in ${sums}; pinned architectures:" \
    "$(sed -n 's/.*-linux-\(.*\)\.tar\.gz$/\1/p' "$sums" | tr '\n' ' ')" >&2
  exit 1
fi
file=${line##* }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/$file" "https://get.helm.sh/$file"
if ! (cd "$tmp" && printf '%s\n' "$line" | sha256sum --check --strict --quiet -); then
  echo "install-helm: ${file} does not match the SHA-256 pinned in ${sums}; not installed" >&2
  exit 1
fi
tar -xzf "$tmp/$file" -C "$tmp" "linux-${arch}/helm"
install -m 0755 "$tmp/linux-${arch}/helm" "$bindir/helm"
echo "install-helm: ${file} verified, installed ${bindir}/helm"
