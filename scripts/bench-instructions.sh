#!/usr/bin/env bash
# make bench: instructions (callgrind; exact and repeatable, unlike timings on a shared machine)
# of one login through libpam against one raw yescrypt hash, with 100,000 users in the
# directory. The marginal cost per login is (8 logins - 4 logins) / 4, so loading the module
# and starting the process cancel out.
set -euo pipefail
bin=${PWDIR_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release}
here=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "bench: valgrind not installed; skipping the instruction count"; exit 0; }
scratch=$(mktemp -d /tmp/pwdir-bench-ir.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cc -O2 "$here/bench_login.c" -o "$scratch/bench_login" -lpam -lcrypt
# valgrind 3.19 cannot read the module's DWARF 5: count a copy without debug info.
objcopy --strip-debug "$bin/libpam_pwdir.so" "$scratch/pam_pwdir.so"
hash=$(python3 -c 'import crypt; print(crypt.crypt("Correct-Horse-42", "$y$j9T$abcdefghijklmnopqrstu."))' 2>/dev/null)
python3 - "$scratch/users" "$hash" <<'PY'
import sys
path, h = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    f.write("pwdir-directory 1\n")
    for n in sorted("user%d" % i for i in range(100000)):
        f.write("uid=%s\tcn=User\tuserPassword={CRYPT}%s\tpwdChangedTime=20261121000000Z\n" % (n, h))
    f.write("#end users=100000\n")
PY
chmod 600 "$scratch/users"
mkdir "$scratch/pam.d"
for stack in auth account; do
  echo "$stack required $scratch/pam_pwdir.so db=$scratch/users config=$scratch/none nodelay"
done > "$scratch/pam.d/bench"
# One login first, not counted: it checks the unsealed directory whole, seals it and makes the
# tally, which every later login finds (the steady state measured).
"$scratch/bench_login" user33333 "$hash" 1 login "$scratch/pam.d"
count() {  # count N MODE: instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$scratch/cg" "$scratch/bench_login" user33333 "$hash" "$1" "$2" "$scratch/pam.d" 2>&1 \
    | awk '/Collected/ { print $4 }'
}
r4=$(count 4 raw); r8=$(count 8 raw); l4=$(count 4 login); l8=$(count 8 login)
python3 - "$r4" "$r8" "$l4" "$l8" <<'PY'
import sys
r4, r8, l4, l8 = map(int, sys.argv[1:])
raw, login = (r8 - r4) / 4, (l8 - l4) / 4
print("")
print("instructions, 100,000 users (callgrind, marginal per operation):")
print("  raw yescrypt hash:                    %.1f M" % (raw / 1e6))
print("  login (start+auth+acct+end):          %.1f M" % (login / 1e6))
print("  everything but the hash, per login:   %.0f k" % ((login - raw) / 1e3))
print("  login / raw hash:                     %.4f   (goal <= 1.05)" % (login / raw))
PY
