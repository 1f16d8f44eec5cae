#!/bin/bash
# install-slurm.sh: makes sure Debian's Slurm and munge are installed for the Slurm test tier
# (test/integration/slurm/). Idempotent: does nothing when they are there. Installs them with apt-get
# when missing and running as root; otherwise prints one line and exits 3.
set -uo pipefail
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

PACKAGES=(slurmctld slurmd slurm-client munge)
BINARIES=(/usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/scontrol /usr/sbin/munged)

installed() {
  local binary
  for binary in "${BINARIES[@]}"; do [[ -x $binary ]] || return 1; done
}

if installed; then
  exit 0
fi
if ((EUID != 0)); then
  echo "install-slurm: Slurm and munge are missing and this is not root: cannot install ${PACKAGES[*]}"
  exit 3
fi
if ! command -v apt-get >/dev/null; then
  echo "install-slurm: Slurm and munge are missing and there is no apt-get: install ${PACKAGES[*]} by hand"
  exit 3
fi
log=$(mktemp)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "${PACKAGES[@]}"; } >"$log" 2>&1; then
  echo "install-slurm: apt-get could not install ${PACKAGES[*]}: $(tail -n 1 "$log")"
  rm -f "$log"
  exit 3
fi
rm -f "$log"
if ! installed; then
  echo "install-slurm: apt-get installed ${PACKAGES[*]} but a binary is still missing (${BINARIES[*]})"
  exit 3
fi
echo "install-slurm: installed ${PACKAGES[*]} ($(dpkg-query -W -f '${Version}' slurmctld))"
