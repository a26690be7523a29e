#!/usr/bin/env bash
# On the GPU host, in the repository root, after the device tool carried .carry/ (pack.sh made it):
#   source scripts/gpu/unpack.sh
# unpacks node into $NODE_HOME/bin (default /tmp/kernelevolve-node), the production node_modules into ./node_modules
# (skipped when it is already there and matches the MANIFEST), puts node on PATH and points the CLI at the host's
# python3 (KERNELEVOLVE_PYTHON, unless already set: the GPU image has torch and triton there and no .venv).
# Then `node bin/kernelevolve.js specs` runs. Sourced, it exports into the caller's shell; run with bash it only checks.
_ke_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_ke_carry="$_ke_root/.carry"
NODE_HOME="${NODE_HOME:-/tmp/kernelevolve-node}"
if [ ! -f "$_ke_carry/node.xz" ] || [ ! -f "$_ke_carry/node_modules.tar.xz" ]; then
  echo "unpack.sh: $_ke_carry lacks node.xz or node_modules.tar.xz: run scripts/gpu/pack.sh here and carry .carry" >&2
  return 2 2>/dev/null || exit 2
fi
if ! (cd "$_ke_carry" && grep -E ' (node\.xz|node_modules\.tar\.xz)$' MANIFEST | sha256sum -c --quiet -); then
  echo "unpack.sh: .carry does not match its MANIFEST (partial copy?)" >&2
  return 2 2>/dev/null || exit 2
fi
_ke_unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
mkdir -p "$NODE_HOME/bin"
if [ ! -x "$NODE_HOME/bin/node" ]; then
  _ke_unxz "$_ke_carry/node.xz" > "$NODE_HOME/bin/node.tmp" && chmod 755 "$NODE_HOME/bin/node.tmp" && mv "$NODE_HOME/bin/node.tmp" "$NODE_HOME/bin/node"
fi
_ke_stamp="$(sha256sum "$_ke_carry/node_modules.tar.xz" | cut -d' ' -f1)"
if [ "$(cat "$_ke_root/node_modules/.kernelevolve-carry" 2>/dev/null)" != "$_ke_stamp" ]; then
  rm -rf "$_ke_root/node_modules"
  _ke_unxz "$_ke_carry/node_modules.tar.xz" | tar -C "$_ke_root" -xf -
  echo "$_ke_stamp" > "$_ke_root/node_modules/.kernelevolve-carry"
fi
export PATH="$NODE_HOME/bin:$PATH"
export KERNELEVOLVE_PYTHON="${KERNELEVOLVE_PYTHON:-$(command -v python3)}"
echo "unpack.sh: node $("$NODE_HOME/bin/node" --version) at $NODE_HOME/bin; KERNELEVOLVE_PYTHON=$KERNELEVOLVE_PYTHON"
unset _ke_root _ke_carry _ke_stamp; unset -f _ke_unxz
