#!/usr/bin/env bash
# The admin story, end to end, in a scratch folder: an administrator sets a temporary
# password, the employee logs in with it, is forced to choose their own, and logs in with it;
# then a second factor (TOTP): enrolment with a QR code, a login with the code, a replay refused;
# then the same on two hosts whose accounts are on two replicating OpenLDAP servers (demo-ldap.py).
# The module is loaded by pamtester through pam_wrapper: nothing under /etc is touched.
set -euo pipefail

bin=${PWDIR_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release}
[ -x "$bin/pwdir" ] && [ -f "$bin/libpam_pwdir.so" ] || { echo "demo: build first (make build)" >&2; exit 1; }

scratch=$(mktemp -d /tmp/pwdir-demo.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export PWDIR_DB=$scratch/users PWDIR_CONFIG=$scratch/pwdir.conf
mkdir -m 0700 "$scratch/pam.d"
args="db=$PWDIR_DB config=$PWDIR_CONFIG"
for stack in auth account password session; do
  echo "$stack required $bin/libpam_pwdir.so $args"
done > "$scratch/pam.d/login-demo"
printf 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n' > "$scratch/pam.d/other"
mkdir -m 0755 "$scratch/run"  # stands for /run: the accounts are published in its userdb/
printf 'minlen = 12\ndeny = 3\nuserdb_dir = %s\n' "$scratch/run/userdb" > "$PWDIR_CONFIG"

pam() { LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$scratch/pam.d" pamtester login-demo "$@" 2>&1; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
expect_ok() { if "$@"; then :; else echo "demo: FAILED: expected success" >&2; exit 1; fi; }
expect_fail() { if "$@"; then echo "demo: FAILED: expected a refusal" >&2; exit 1; fi; }

step "The administrator creates the directory and adds Ana"
"$bin/pwdir" init
"$bin/pwdir" user add ana --full-name "Ana Lopez" --email ana@example.org

step "pwdir published Ana's account for the system (a systemd userdb record, never the hash): no useradd"
ls "$scratch/run/userdb"; cat "$scratch/run/userdb/ana.user"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  echo "getent passwd ana, with this folder as /run/userdb (a private mount namespace):"
  expect_ok unshare -m sh -c 'mount --bind "$1" /run && getent passwd ana' sh "$scratch/run"
fi

step "The administrator generates a temporary password (shown once, on the last line)"
out=$("$bin/pwdir" passwd ana --generate)
echo "$out"
temp=$(printf '%s\n' "$out" | tail -n 1)

step "pwdir user show ana: the account state, never the hash"
"$bin/pwdir" user show ana

step "Ana logs in with the temporary password: authentication succeeds..."
expect_ok pam ana authenticate <<<"$temp"

step "...but the account check says she must choose a new password first"
expect_fail pam ana acct_mgmt </dev/null

step "Ana logs in and is sent straight to 'change your password' (PAM_CHANGE_EXPIRED_AUTHTOK)"
new="Blue-Giraffe-Mountain-7"
expect_ok pam ana authenticate 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)' <<<"$temp
$new
$new"

step "Ana logs in with her own password: authentication and account check pass"
expect_ok pam ana authenticate acct_mgmt <<<"$new"

step "The temporary password no longer works"
expect_fail pam ana authenticate <<<"$temp"

step "Three wrong passwords (deny = 3) lock the account: now even the right one is refused"
for guess in Wrong-1 Wrong-2 Wrong-3; do expect_fail pam ana authenticate <<<"$guess"; done
expect_fail pam ana authenticate <<<"$new"

step "pwdir user show ana: is the account usable, and if not, why and until when"
"$bin/pwdir" user show ana

step "The administrator reactivates it; the right password works again"
"$bin/pwdir" unlock ana
expect_ok pam ana authenticate <<<"$new"

step "A second factor: the administrator enrols Ana (the URI and a QR code her phone scans)"
printf 'totp = optional\ntotp_issuer = pwdir-demo\n' >> "$PWDIR_CONFIG"
enrol=$("$bin/pwdir" totp enroll ana)
echo "$enrol" | grep -v '^key: '  # the key as text too, for apps that take it typed
key=$(echo "$enrol" | sed -n 's/^key: //p')

step "Ana logs in: her password, then the code her authenticator shows (here: oathtool's)"
code=$(oathtool --totp -b - <<<"$key")
expect_ok pam ana authenticate <<<"$new
$code"

step "The same code a second time is refused (each code works once), even with the right password"
expect_fail pam ana authenticate <<<"$new
$code"
"$bin/pwdir" totp show ana

step "Where Ana is: users names 256 shard files; hers holds her line (a hash, never a password)"
head -3 "$scratch/users"; echo "..."
for name in $(sed -n '3,258p' "$scratch/users"); do grep -q '^uid=ana' "$scratch/users.d/$name" && shard=$name; done
echo "users.d/$shard:"; cut -c1-72 "$scratch/users.d/$shard"

step "A directory of pwdir 0.9 (one file) keeps working, and 'pwdir migrate' turns it into shards in one step"
mkdir "$scratch/old"
echo "userdb_dir = off" > "$scratch/old/pwdir.conf"  # another directory: it publishes nothing here
old() { "$bin/pwdir" "$@" --db "$scratch/old/users" --config "$scratch/old/pwdir.conf"; }
old init --format 1
old user add bo --full-name "Bo Lund"
head -2 "$scratch/old/users"
old migrate
old user show bo | head -2

# Many hosts, one directory: the same story on two replicating OpenLDAP servers (store = ldap).
/usr/bin/python3 "$(dirname "$0")/demo-ldap.py" "$bin"

step "Done: admin-set password -> forced change at first login -> the user's own password works -> and a second factor -> on many hosts"
"$bin/pwdir" user list
