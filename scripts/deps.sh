#!/usr/bin/env bash
# Installs the Debian packages pwdir needs, only those missing. Used by every make target.
set -euo pipefail

packages=(
  libpam0g-dev      # PAM headers and libpam (the module and the in-process tests)
  libcrypt-dev      # libxcrypt: yescrypt
  libpwquality-dev  # password quality checks
  pamtester         # end-to-end tests and the demo
  libpam-wrapper    # load a PAM service from a scratch folder, no /etc/pam.d change
  msmtp             # a real MTA client for mail tests
  python3-aiosmtpd  # a real SMTP server on loopback for mail tests
  binutils          # nm, readelf: the exported-symbols test
  gcc               # the host-state and dlopen test programs
  libc6-dev
  valgrind          # make bench: instruction counts
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
