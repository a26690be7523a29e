#!/usr/bin/env bash
# Packs what the Node CLI needs on a GPU host that has no Node and no network, into .carry/ (git-ignored):
#   .carry/node.xz              this machine's Node binary (node 20), xz-compressed
#   .carry/node_modules.tar.xz  the production dependencies (npm prune --omit=dev of a copy of node_modules, native
#                               addons better-sqlite3 and hnswlib-node as built here; build intermediates dropped)
#   .carry/MANIFEST             versions, sizes, sha256
# The app's own sources travel with the working tree. On the GPU host: `source scripts/gpu/unpack.sh` (docs/gpu.md).
# Usage: bash scripts/gpu/pack.sh [--force]   (LIMIT_MIB=48 to change the size guard; the device tool carries 64 MiB in all)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
CARRY="$ROOT/.carry"
LIMIT_MIB="${LIMIT_MIB:-48}"
FORCE=0; [ "${1:-}" = "--force" ] && FORCE=1
NODE_BIN="$(command -v node)" || { echo "pack.sh: no node on PATH" >&2; exit 2; }
NODE_VERSION="$("$NODE_BIN" --version)"
case "$NODE_VERSION" in v20.*) ;; *) echo "pack.sh: expected Node 20, found $NODE_VERSION" >&2; exit 2;; esac
[ "$(uname -m)" = "x86_64" ] || { echo "pack.sh: the GPU hosts are x86-64; this machine is $(uname -m): native addons would not load there" >&2; exit 2; }
[ -d node_modules ] || { echo "pack.sh: no node_modules here: run npm ci first" >&2; exit 2; }
for addon in node_modules/better-sqlite3/build/Release/better_sqlite3.node node_modules/hnswlib-node/build/Release/addon.node; do
  [ -f "$addon" ] || { echo "pack.sh: $addon is missing: run npm ci (or npm rebuild) first" >&2; exit 2; }
done
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$FORCE" = 0 ] && [ -f "$CARRY/MANIFEST" ] && grep -q "lock $lock_sum" "$CARRY/MANIFEST" && grep -q "node $NODE_VERSION" "$CARRY/MANIFEST"; then
  echo "pack.sh: .carry is up to date (same package-lock.json and node); --force to rebuild"; exit 0
fi
mkdir -p "$CARRY"
STAGE="$(mktemp -d)"; trap 'rm -rf "$STAGE"' EXIT
cp package.json package-lock.json "$STAGE/"
cp -a node_modules "$STAGE/node_modules"
# tsx runs the TypeScript sources when dist/ has no current build (the GPU host gets none): keep it as a production
# dependency of the staged copy, whatever package.json calls it (an optional peer and a dev dependency since #14).
(cd "$STAGE" && node -e '
  const fs = require("fs"); const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const version = JSON.parse(fs.readFileSync("node_modules/tsx/package.json", "utf8")).version;
  pkg.dependencies = { ...(pkg.dependencies || {}), tsx: version };
  if (pkg.devDependencies) delete pkg.devDependencies.tsx;
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2));')
(cd "$STAGE" && npm prune --omit=dev --no-audit --no-fund --ignore-scripts >/dev/null)
[ -f "$STAGE/node_modules/tsx/package.json" ] || { echo "pack.sh: tsx was pruned; the CLI could not run from sources" >&2; exit 1; }
# Sources and objects of the native addons are not needed at run time; the .node files are.
rm -rf "$STAGE/node_modules/better-sqlite3/deps" "$STAGE/node_modules/better-sqlite3/src" \
       "$STAGE/node_modules/better-sqlite3/build/Release/obj.target" "$STAGE/node_modules/better-sqlite3/build/Release/obj" \
       "$STAGE/node_modules/better-sqlite3/build/Release/.deps" "$STAGE/node_modules/better-sqlite3/build/Release/test_extension.node" \
       "$STAGE/node_modules/better-sqlite3/build/deps" "$STAGE/node_modules/hnswlib-node/build/Release/obj.target" \
       "$STAGE/node_modules/hnswlib-node/build/Release/.deps" "$STAGE/node_modules/hnswlib-node/src"
find "$STAGE/node_modules" -name "*.map" -type f -delete
find "$STAGE/node_modules" -path "*/@msgpackr-extract/*" -name "*musl*" -type f -delete
tar -C "$STAGE" -cf - node_modules | xz -T2 -6 > "$CARRY/node_modules.tar.xz.tmp"
mv "$CARRY/node_modules.tar.xz.tmp" "$CARRY/node_modules.tar.xz"
xz -T2 -6 -c "$NODE_BIN" > "$CARRY/node.xz.tmp" && mv "$CARRY/node.xz.tmp" "$CARRY/node.xz"
total_kib=$(du -k -c "$CARRY/node.xz" "$CARRY/node_modules.tar.xz" | tail -1 | cut -f1)
{
  echo "node $NODE_VERSION"
  echo "lock $lock_sum"
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  (cd "$CARRY" && sha256sum node.xz node_modules.tar.xz)
  echo "total_kib $total_kib"
} > "$CARRY/MANIFEST"
echo "pack.sh: .carry/ holds $((total_kib / 1024)) MiB (node $NODE_VERSION + production node_modules)"
if [ "$total_kib" -gt $((LIMIT_MIB * 1024)) ]; then
  echo "pack.sh: over the ${LIMIT_MIB} MiB guard: the working tree and carry share 64 MiB" >&2; exit 1
fi
