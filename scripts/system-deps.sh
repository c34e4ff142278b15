#!/usr/bin/env bash
# Installs the Debian packages Cove needs, only those that are missing.
# Safe to run again: it does nothing when everything is present.
#   system-deps.sh runtime   what running Cove needs
#   system-deps.sh           that, and what the test suite needs too
set -euo pipefail

# command -> Debian package: what running Cove needs.
declare -A NEEDED=(
  [rg]=ripgrep               # content search
  [runc]=runc                # the sandbox driver's OCI runtime
  [nft]=nftables             # the sandbox driver's firewall (its own table only)
  [ip]=iproute2              # network namespaces and veth links
  [mkfs.ext4]=e2fsprogs      # the workspaces' disk images (the disk quota)
  [debootstrap]=debootstrap  # the debian:12 image, built once
  [tini-static]=tini         # PID 1 in every workspace (bind-mounted read-only)
  [skopeo]=skopeo            # image pulls (registries) and imports (docker save and OCI archives)
  [zstd]=zstd                # zstd-compressed image layers
  [buildah]=buildah          # image builds (cove image build)
  [musl-gcc]=musl-tools      # the agent's static runtime helpers, built against musl
  [mkfs.xfs]=xfsprogs        # the disk pool: workspaces' disks as XFS files, cloned in constant time (snapshots, forks)
  [patchelf]=patchelf        # the agent's runtime: node and its helpers made to load the runtime's own libraries
  [cc]=gcc                   # native helpers built by npm ci (the agent's spawn helper, the sandbox's ns-helper)
  [g++]=g++                  # node-pty's addon
  [make]=make                # node-gyp
)

# What the tests and benchmarks drive Cove with, or compare it against.
if [ "${1:-all}" != runtime ]; then
  NEEDED+=(
    [inotifywait]=inotify-tools # the watcher benchmark's peer
    [tmux]=tmux                 # drives `cove shell` through a real terminal
    [ssh]=openssh-client        # exec and terminal benchmarks' peer
    [sshd]=openssh-server
    [pg_ctlcluster]=postgresql  # throwaway clusters for the control-plane store tests
    [chromium]=chromium         # the SDK's browser test (driven by playwright-core)
    [crun]=crun                 # the CLI test that `cove up --runtime crun` is refused on a hybrid cgroup host
    [strace]=strace             # the seccomp test traces processes inside a workspace
    [docker-registry]=docker-registry # a real registry on loopback for the image tests
    [busybox]=busybox-static    # the image tests' small root file systems (static: runs in any image)
    [umoci]=umoci               # the image pull benchmark's peer (skopeo copy + umoci unpack)
    [getfattr]=attr             # the image tests read overlay's xattrs on unpacked layers
    [wat2wasm]=wabt             # checks that the agent's embedded WebAssembly frame encoder is its .wat source, assembled
  )
fi

missing=()
for cmd in "${!NEEDED[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("${NEEDED[$cmd]}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
