#!/usr/bin/env bash
# Refreshes the U.S. Web Design System assets that internal/web embeds.
#
# npm installs the pinned release into a temporary folder outside the
# repository; only what the pages use is copied into internal/web/static:
# the minified CSS and JavaScript, the woff2 fonts the CSS references and
# the SVG icons it references. Run from the repository root:
#
#   bash scripts/fetch-uswds.sh
set -euo pipefail

version="${USWDS_VERSION:-3.14.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/internal/web/static/uswds"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "@uswds/uswds@$version")
dist="$tmp/node_modules/@uswds/uswds/dist"

rm -rf "$dest"
mkdir -p "$dest/css" "$dest/js"
cp "$dist/css/uswds.min.css" "$dest/css/"
cp "$dist/js/uswds.min.js" "$dist/js/uswds-init.min.js" "$dest/js/"

# Every font and image the stylesheet points at, except the large hero
# photograph no page uses. References to files the package does not ship
# are skipped.
grep -o 'url(\.\./[^)]*)' "$dist/css/uswds.min.css" | sed 's/^url(\.\.\///; s/)$//' | sort -u |
	while read -r rel; do
		case "$rel" in *hero.jpg) continue ;; esac
		if [ -f "$dist/$rel" ]; then
			mkdir -p "$dest/$(dirname "$rel")"
			cp "$dist/$rel" "$dest/$rel"
		fi
	done

# The sprite-free icons the templates use directly.
for icon in check_circle error warning info schedule location_on event; do
	mkdir -p "$dest/img/usa-icons"
	cp "$dist/img/usa-icons/$icon.svg" "$dest/img/usa-icons/"
done

echo "$version" >"$dest/VERSION"
du -sh "$dest"
