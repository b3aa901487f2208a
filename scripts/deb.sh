#!/usr/bin/env bash
# Builds the Debian package pwdir_VERSION_ARCH.deb from what `make build` made, with dpkg-deb
# (no source package, no debhelper).
#
#   scripts/deb.sh BUILD_DIR OUT_DIR      e.g. scripts/deb.sh .build/release .build/deb
#
# BUILD_DIR holds pwdir, libpam_pwdir.so and pwdir-chkpwd, each carrying its own Swift runtime
# (a binary that needs libswiftCore.so & co. from the toolchain is refused: it would not run on
# a host without Swift). VERSION is `pwdir --version` plus the Debian revision DEB_REVISION
# (default 1); ARCH and the PAM folder (/usr/lib/MULTIARCH/security) are this machine's.
# Depends comes from dpkg-shlibdeps, plus what is run rather than linked. Files are root's in
# the package whoever builds it, and dated from SOURCE_DATE_EPOCH (default: the last commit),
# so the same build gives the same package. Check it with lintian (make deb does).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 64; }
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
fail() { echo "deb.sh: $*" >&2; exit 1; }

for f in pwdir libpam_pwdir.so pwdir-chkpwd pwdird; do
  [ -f "$build/$f" ] || fail "$build/$f is missing; run 'make build' first"
done
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture strip readelf; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh build installs it)"
done
# The toolchain's runtime must be inside the binaries, not beside them.
for f in pwdir libpam_pwdir.so pwdir-chkpwd pwdird; do
  if readelf -d "$build/$f" | grep -E 'NEEDED.*\[lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime)' >/dev/null; then
    fail "$f needs the Swift runtime as shared libraries; build it with -static-stdlib"
  fi
done

upstream=$("$build/pwdir" --version)
[[ $upstream =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || fail "pwdir --version printed '$upstream', not a version"
version=$upstream-${DEB_REVISION:-1}
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
maintainer=${DEB_MAINTAINER:-$(git -C "$repo" log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maintainer" ] || fail "no maintainer: set DEB_MAINTAINER='Name <address>'"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022

# --- the files
pamdir=usr/lib/$multiarch/security
doc=usr/share/doc/pwdir
install -d "$root/$pamdir" "$root/usr/sbin" "$root/usr/share/man/man5" "$root/usr/share/man/man8" \
  "$root/usr/share/pam-configs" "$root/etc/security" "$root/$doc/examples" \
  "$root/usr/share/lintian/overrides" "$root/DEBIAN"
install -d -m 0700 "$root/var/lib/pwdir"

# Stripped as dh_strip does; the Swift sections the runtime reads are allocated, so they stay.
install -m 0644 "$build/libpam_pwdir.so" "$root/$pamdir/pam_pwdir.so"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/$pamdir/pam_pwdir.so"
install -m 0755 "$build/pwdir" "$root/usr/sbin/pwdir"
install -m 0755 "$build/pwdir-chkpwd" "$root/usr/sbin/pwdir-chkpwd"
install -m 0755 "$build/pwdird" "$root/usr/sbin/pwdird"
strip --remove-section=.comment --remove-section=.note "$root/usr/sbin/pwdir" "$root/usr/sbin/pwdir-chkpwd" "$root/usr/sbin/pwdird"
chmod 4755 "$root/usr/sbin/pwdir-chkpwd"  # setuid root: see pam_pwdir(8), NOTES
"$root/usr/sbin/pwdir" --version >/dev/null || fail "the stripped pwdir does not run"

PWDIR_BIN=$build "$repo/scripts/man.sh" "$work/man" >/dev/null
for page in pwdir.8 pam_pwdir.8 pwdird.8 pwdir.conf.5; do
  gzip -9n <"$work/man/$page" >"$root/usr/share/man/man${page##*.}/$page.gz"
done
# The setuid helper is described in pam_pwdir(8), NOTES.
ln -s pam_pwdir.8.gz "$root/usr/share/man/man8/pwdir-chkpwd.8.gz"

install -m 0644 "$repo/pam/pam-auth-update/pwdir" "$root/usr/share/pam-configs/pwdir"
install -m 0644 "$repo/pam/pwdir.conf" "$root/etc/security/pwdir.conf"
echo /etc/security/pwdir.conf >"$root/DEBIAN/conffiles"

install -m 0644 "$repo/packaging/deb/copyright" "$root/$doc/copyright"
gzip -9n <"$repo/README.md" >"$root/$doc/README.md.gz"
install -m 0644 "$repo/pam/pwdir.conf" "$repo/pam/pwdir-service.example" "$repo/pam/pwdir-userdb.service" "$repo/pam/pwdird.service" "$root/$doc/examples/"
install -d -m 0755 "$root/$doc/ldap"
install -m 0644 "$repo/ldap/pwdir.schema" "$repo/ldap/pwdir.ldif" "$root/$doc/ldap/"
# The sudoers example names the command where make install puts it; here it is in /usr/sbin.
sed 's#/usr/local/sbin/pwdir#/usr/sbin/pwdir#g' "$repo/pam/sudoers.pwdir" >"$root/$doc/examples/sudoers.pwdir"
chmod 0644 "$root/$doc/examples/sudoers.pwdir"
changed=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat <<EOF | gzip -9n >"$root/$doc/changelog.Debian.gz"
pwdir ($version) unstable; urgency=medium

  * pwdir $upstream, packaged by scripts/deb.sh from the pwdir sources.

 -- $maintainer  $changed
EOF
install -m 0644 "$repo/packaging/deb/lintian-overrides" "$root/usr/share/lintian/overrides/pwdir"
install -m 0755 "$repo/packaging/deb/postinst" "$repo/packaging/deb/prerm" "$root/DEBIAN/"

# --- what it depends on: the libraries the binaries link (dpkg-shlibdeps reads their NEEDED
# entries and the shlibs of the packages that hold them), libcrack's dictionary (opened, not
# linked: without it every password check fails), and pam-auth-update for the scripts.
mkdir -p "$work/src/debian"
touch "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/$pamdir/pam_pwdir.so" \
  -e"$root/usr/sbin/pwdir" -e"$root/usr/sbin/pwdir-chkpwd" -e"$root/usr/sbin/pwdird" 2>"$work/shlibdeps.err") ||
  { cat "$work/shlibdeps.err" >&2; fail "dpkg-shlibdeps failed"; }
depends=${shlibs#shlibs:Depends=}
[ -n "$depends" ] && [ "$depends" != "$shlibs" ] || fail "dpkg-shlibdeps gave no dependencies"
depends="$depends, cracklib-runtime, libpam-runtime (>= 1.0.1-6)"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: pwdir
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Suggests: default-mta | mail-transport-agent, sudo
Section: admin
Priority: optional
Description: password directory for Linux hosts: PAM module and admin command
 pwdir keeps the passwords of an organisation's users in plain text files
 (/var/lib/pwdir/users and its shards), apart from /etc/shadow. It replaces
 pam_unix, pam_faillock and pam_pwquality for those accounts.
 .
 The PAM module pam_pwdir.so authenticates them with yescrypt, locks an
 account after too many failed logins, sends users with a password set by an
 administrator straight to a password change, applies a password policy
 (libpwquality), history and expiry, and can offer self-service recovery by
 mailed one-time code. The command pwdir lets administrators, and managers
 through sudo for their own team, add users, set or mail temporary passwords,
 import a team from CSV, lock and unlock accounts, and read the audit trail.
 .
 For many hosts, the accounts can live on OpenLDAP (slapd with the password
 policy overlay) instead: the daemon pwdird holds the LDAP connection for the
 module, which never loads libldap itself.
 .
 The pam-auth-update profile is installed disabled: enable it with
 'pam-auth-update --enable pwdir'.
EOF

# Checksums for debsums and dpkg --verify (the conffile is checked through conffiles instead).
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

deb=$out/pwdir_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
