#!/usr/bin/env bash
# make bench: how long `pwdir import` takes for 100,000 rows (goal: under 5 s).
set -euo pipefail
bin=${PWDIR_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release}
scratch=$(mktemp -d /tmp/pwdir-bench-import.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export PWDIR_DB=$scratch/users PWDIR_CONFIG=$scratch/pwdir.conf
echo "userdb_dir = off" > "$PWDIR_CONFIG"  # the directory's work is measured, not publishing
python3 - "$scratch/people.csv" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("login,full_name,email,recovery_email,role,manager,no_mailbox,lang\r\n")
    for i in range(100000):
        f.write('emp%06d,"Employé %d, équipe %d",emp%06d@corp.example,,user,,no,%s\r\n' % (i, i, i % 50, i, "fr" if i % 3 == 0 else "en"))
PY
"$bin/pwdir" init >/dev/null
start=$(date +%s%N)
"$bin/pwdir" import "$scratch/people.csv" >/dev/null
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
echo ""
echo "import of 100,000 CSV rows: ${ms} ms (goal < 5000 ms); directory $(stat -c %s "$PWDIR_DB") bytes"
