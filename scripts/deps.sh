#!/usr/bin/env bash
# Installs the Debian packages pwdir needs, only those missing.
#
#   scripts/deps.sh runtime   what a host running pwdir needs (make install): libpam, libxcrypt,
#                             libpwquality and libcrack's dictionary; no compiler, no test tool
#   scripts/deps.sh build     runtime + headers and the C toolchain (make build)
#   scripts/deps.sh test      build + every tool the tests, the demo and the bench drive
#                             (make check, make demo, make bench)
#
# Packages are installed without their "Recommends", so every package a profile needs is named
# here: a fresh machine gets exactly this list (cracklib-runtime, which holds libcrack's
# dictionary, was once only a recommendation and its absence failed every password check).
set -euo pipefail

runtime=(
  libpam0g          # libpam
  libpam-modules    # pam_unix, pam_deny, pam_permit: the stacks pwdir sits in
  libcrypt1         # libxcrypt: yescrypt
  libpwquality1     # password quality checks
  cracklib-runtime  # libcrack's dictionary (/var/cache/cracklib), used by dictcheck
  liboath0          # liboath: TOTP codes (RFC 6238) for the second factor
  libqrencode4      # the enrolment's QR code, drawn by the command
  libldap-2.5-0     # libldap: the LDAP store (the command and pwdird; never the module)
)
build=(
  libpam0g-dev      # PAM headers
  libcrypt-dev      # crypt.h
  libpwquality-dev  # pwquality.h
  liboath-dev       # liboath/oath.h
  libqrencode-dev   # qrencode.h
  libldap-dev       # ldap.h, lber.h
  gcc libc6-dev     # the C shims, the test programs
  libstdc++-12-dev  # the Swift runtime linked into the module, the helper and the command
  binutils          # nm, readelf, strip
  dpkg-dev          # make deb: dpkg-shlibdeps, dpkg-architecture
  python3           # Debian's, for scripts (man.sh, the bench)
)
test=(
  pamtester         # drives the module from the outside
  libpam-wrapper    # loads a PAM service from a scratch folder: no /etc/pam.d change
  msmtp             # a real MTA client for mail tests
  python3-aiosmtpd  # a real SMTP server on loopback for mail tests
  python3-pytest    # the end-to-end suites
  python3-pexpect   # terminals for passwd, su, ssh
  util-linux        # setpriv, unshare
  valgrind          # make bench: instruction counts
  strace            # e2e kill points (strace -e inject)
  mandoc            # make check: the man pages linted
  lintian           # make deb: the package checked
  openssh-server    # e2e: a real sshd on loopback (its daemon is not started: see below)
  openssh-client    # e2e: ssh, scp
  faketime          # e2e clock jumps (libfaketime)
  openssl           # e2e: shadow hashes for the test users of the PAM-stack tests
  oathtool          # e2e: TOTP codes from an implementation that is not ours
  zbar-tools        # e2e: the enrolment's QR code decoded back (zbarimg)
  slapd             # e2e: OpenLDAP servers the tests start from their own configs (never the package's)
  ldap-utils        # e2e: ldapadd, ldapsearch, ldapwhoami
)

case "${1:-test}" in
  runtime) packages=("${runtime[@]}") ;;
  build) packages=("${runtime[@]}" "${build[@]}") ;;
  test) packages=("${runtime[@]}" "${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 runtime|build|test" >&2; exit 64 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A package's postinst must not start a daemon (openssh-server's sshd) on this machine: a
# temporary policy-rc.d refuses every start, and goes when the install is done.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
