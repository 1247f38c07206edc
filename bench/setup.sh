#!/usr/bin/env bash
# What `npm run bench` needs beyond play's own dependencies: Debian's ansible
# (ansible-core 2.14 + the community collections, for ansible.posix.sysctl and
# community.general.ufw) and the OpenSSH client for the floor and for Ansible.
# Idempotent: installs only what is missing. Root, Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for p in ansible openssh-client; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
ansible-playbook --version | head -1
