#!/usr/bin/env bash
# Runs each end-to-end script given, even after a failure, and ends with one line adding up
# their "N passed, M failed" lines. Fails if any script failed.
set -uo pipefail
status=0 passed=0 failed=0
for script in "$@"; do
  echo "== $script"
  out=$(mktemp)
  bash "$script" | tee "$out"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  rm -f "$out"
  if [ -z "$line" ]; then echo "e2e: $script printed no summary"; status=1; continue; fi
  passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
  failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
done
echo ""
echo "e2e: $passed passed, $failed failed"
exit $status
