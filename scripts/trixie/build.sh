#!/usr/bin/env bash
# Builds a Debian trixie root into .tools/trixie (git-ignored) holding the exact program versions the platform's
# images carry, which bookworm does not have: Patroni 4.0.x, pgBackRest 2.55, PgBouncer 1.24.1, and PostgreSQL 17
# (Patroni's server here: trixie has no 16; see README "Shipped and tested versions"). Tests run them through
# scripts/lab/trixie.ts (chroot with bind mounts, as root). Needs root and mmdebstrap (.ci/run installs it).
# Rebuilt only when this script changes (a stamp); the build goes to a temp dir and is moved in at the end,
# so an interrupted build leaves no half root behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="$root/.tools/trixie"
packages=patroni,pgbackrest,pgbouncer,postgresql-17,postgresql-client-17
sum="$(sha256sum "$0" | cut -c1-16)"
if [ -x "$target/usr/bin/patroni" ] && [ "$(cat "$root/.tools/trixie.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "trixie: up to date"; exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "trixie: needs root (mmdebstrap and chroot)" >&2; exit 1; fi
command -v mmdebstrap >/dev/null || { echo "trixie: mmdebstrap is missing; fix: apt-get install mmdebstrap" >&2; exit 1; }
t0=$SECONDS
work="$root/.tools/trixie.building"
rm -rf "$work" "$target"
# --variant=apt: Essential packages and apt, then the listed ones (no Recommends). Docs, man pages and message
# translations are left out; the main cluster postgresql-common creates on install is removed (tests make their own).
mmdebstrap --mode=root --variant=apt --components=main --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1/var/lib/postgresql/17" "$1/etc/postgresql/17" "$1/var/cache/apt/archives"/*.deb "$1/var/lib/apt/lists"/*_Packages' \
  trixie "$work" http://deb.debian.org/debian
mv "$work" "$target"
echo "$sum" > "$root/.tools/trixie.stamp"
echo "trixie: built in $((SECONDS - t0)) s, $(du -sh "$target" | cut -f1): $(chroot "$target" patroni --version), $(chroot "$target" pgbackrest version), $(chroot "$target" pgbouncer --version | head -1), $(chroot "$target" /usr/lib/postgresql/17/bin/postgres --version)"
