#!/usr/bin/env bash
# make bench: instructions (callgrind; exact and repeatable, unlike timings on a shared machine)
# of one login through libpam against one raw yescrypt hash, with 1,000,000 users in the
# directory (BENCH_LOGIN_USERS to choose) in format 2, and of one login through pam_unix (its
# user in a scratch /etc/shadow bind-mounted in a private mount namespace; the real one is never
# touched). The marginal cost per login is (8 logins - 4 logins) / 4, so loading the module
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
users=${BENCH_LOGIN_USERS:-1000000}
python3 - "$scratch/users" "$hash" "$users" <<'PY'
import sys
path, h, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    f.write("pwdir-directory 1\n")
    for n in sorted("user%d" % i for i in range(count)):
        f.write("uid=%s\tcn=User\tuserPassword={CRYPT}%s\tpwdChangedTime=20261121000000Z\n" % (n, h))
    f.write("#end users=%d\n" % count)
PY
chmod 600 "$scratch/users"
"$bin/pwdir" migrate --db "$scratch/users" --config "$scratch/none" >/dev/null
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

# pam_unix, as root reading a scratch /etc/shadow that holds one user with the same hash.
u4=0; u8=0
if command -v unshare >/dev/null && [ -r /lib/x86_64-linux-gnu/security/pam_unix.so ]; then
  cp /etc/passwd "$scratch/passwd"; cp /etc/shadow "$scratch/shadow"
  echo "pwdirbench:x:64999:64999::/nonexistent:/usr/sbin/nologin" >> "$scratch/passwd"
  echo "pwdirbench:$hash:20000:0:99999:7:::" >> "$scratch/shadow"
  mkdir "$scratch/unix.d"
  printf 'auth required pam_unix.so\naccount required pam_unix.so\n' > "$scratch/unix.d/bench"
  unix_count() {
    unshare -m sh -c 'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/shadow" /etc/shadow &&
      valgrind --tool=callgrind --callgrind-out-file="$1/cgu" "$1/bench_login" pwdirbench "$2" "$3" login "$1/unix.d" 2>&1' sh "$scratch" "$hash" "$1" \
      | awk '/Collected/ { print $4 }'
  }
  u4=$(unix_count 4 || echo 0); u8=$(unix_count 8 || echo 0)
fi
python3 - "$r4" "$r8" "$l4" "$l8" "$u4" "$u8" "$users" <<'PY'
import sys
r4, r8, l4, l8, u4, u8, users = map(int, sys.argv[1:])
raw, login, unix = (r8 - r4) / 4, (l8 - l4) / 4, (u8 - u4) / 4
print("")
print("instructions, %s users in format 2 (callgrind, marginal per operation):" % format(users, ","))
print("  raw yescrypt hash:                    %.1f M" % (raw / 1e6))
print("  login (start+auth+acct+end):          %.1f M" % (login / 1e6))
print("  everything but the hash, per login:   %.0f k" % ((login - raw) / 1e3))
print("  login / raw hash:                     %.4f   (goal <= 1.01: %s)" % (login / raw, "met" if login / raw <= 1.01 else "NOT MET"))
if unix > 0:
    print("  pam_unix login / raw hash:            %.4f   (the same login through pam_unix)" % (unix / raw))
else:
    print("  pam_unix login:                       not measured (no unshare or pam_unix here)")
PY
