#!/usr/bin/env bash
# Renders a bundle's index.html in headless Chromium (Debian's `chromium`), writes a screenshot,
# and lists every URL the browser requested, so a person can see the page offline and check it
# made no network request. The test suite runs the same check (StandardsTests).
#
#   scripts/check-index-page.sh BUNDLE.zip [SCREENSHOT.png]
set -euo pipefail
bundle="${1:?usage: check-index-page.sh BUNDLE.zip [SCREENSHOT.png]}"
shot="${2:-index.png}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work/x"
page="$(ls -d "$work"/x/*/index.html)"
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" --log-net-log="$work/net.json" \
  --window-size=1200,2400 --screenshot="$shot" "file://$page" >/dev/null 2>&1
echo "screenshot: $shot"
echo "URLs requested (the browser's own update checks with Google's hosts aside, only file:// may appear):"
grep -o '"url":"[^"]*"' "$work/net.json" | sed 's/"url":"//; s/"$//' | sort -u | grep -v -E '://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/' || true
