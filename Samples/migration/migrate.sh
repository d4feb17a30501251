#!/usr/bin/env bash
# Moves one subject from the sample company's system (Samples/stores.json) into a second system
# with another schema and its own generated keys (crm-stores.json), the way a migration script
# would: the bundle goes through a pipe (export --output - | import -), verified by the import
# before it writes, reconciled before COMMIT; then a second run proves nothing was lost or doubled.
#
#   Samples/migration/migrate.sh ana.nunez@example.com
#
# Exit codes are dataport's (README); the script stops at the first failure. A pipe's consumer
# must check the producer's exit code (`set -o pipefail`, or PIPESTATUS as below): when the export
# fails, the import only sees a stream cut short (exit 5 or 6); the export's own code says why.
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
# The datasets the CRM has no place for, on purpose. Any other dataset the import skips is data the
# migration would lose: the script fails (exit 3, as `import --strict` would) and names it.
expected_skipped="contact_details quotation_requests consents enquiries sessions cookies visits page_views customer_segments"

migrate() { # $1: report file; the rest: extra import options
    local report="$1"; shift
    set +e
    $dataport export --config "$here/../stores.json" --subject "email=$email" --scope access --archive tar.gz --output - \
        | $dataport import - --config "$here/crm-stores.json" "${drop[@]}" "$@" --json > "$report"
    local codes=("${PIPESTATUS[@]}")
    set -e
    # The export's code first: when it fails, the import only saw a stream cut short.
    for code in "${codes[@]}"; do [ "$code" -eq 0 ] || exit "$code"; done
}
check_skipped() {
    python3 - "$1" "$expected_skipped" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
unexpected = [d["name"] for d in report["skippedDatasets"] if d["name"] not in sys.argv[2].split()]
if unexpected:
    print("migrate.sh: the CRM does not map", ", ".join(unexpected), "- add a mapping or list it in expected_skipped", file=sys.stderr)
    sys.exit(3)
PY
}

migrate "$work/plan.json" --dry-run
check_skipped "$work/plan.json"
migrate "$work/report.json"
check_skipped "$work/report.json"
# A second run must change nothing: every record "unchanged".
migrate "$work/again.json"
python3 - "$work/again.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
changed = [d["name"] for d in report["datasets"] if d["inserted"] or d["updated"]]
if changed or not report["agrees"]:
    sys.exit(f"second import changed {changed}")
print("migrated:", ", ".join(f'{d["name"]}={d["unchanged"]}' for d in report["datasets"]))
PY
