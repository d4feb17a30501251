#!/usr/bin/env bash
# Moves one subject from the sample company's system (Samples/stores.json) into a second system
# with another schema and its own generated keys (crm-stores.json), the way a migration script
# would: export, verify, dry run, import, then prove nothing was lost or doubled.
#
#   Samples/migration/migrate.sh ana.nunez@example.com
#
# Exit codes are dataport's (README); the script stops at the first failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dataport="${DATAPORT:-swift run --package-path "$here/../.." -c release dataport}"
email="${1:?usage: migrate.sh EMAIL}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The CRM keeps no account status or birth date and no newsletter ids or end dates: say so, or the
# import refuses to lose them.
drop=(--drop-field account.status --drop-field account.birth_date
      --drop-field newsletter_subscriptions.id --drop-field newsletter_subscriptions.unsubscribed_at)

$dataport export --config "$here/../stores.json" --subject "email=$email" --scope access --output "$work/subject.zip" --json > "$work/export.json"
$dataport verify "$work/subject.zip" --json > /dev/null
$dataport import "$work/subject.zip" --config "$here/crm-stores.json" "${drop[@]}" --dry-run --json > "$work/plan.json"
$dataport import "$work/subject.zip" --config "$here/crm-stores.json" "${drop[@]}" --json > "$work/report.json"
# A second run must change nothing: every record "unchanged".
$dataport import "$work/subject.zip" --config "$here/crm-stores.json" "${drop[@]}" --json > "$work/again.json"
python3 - "$work/again.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
changed = [d["name"] for d in report["datasets"] if d["inserted"] or d["updated"]]
if changed or not report["agrees"]:
    sys.exit(f"second import changed {changed}")
print("migrated:", ", ".join(f'{d["name"]}={d["unchanged"]}' for d in report["datasets"]))
PY
