#!/usr/bin/env bash
# libvirt's daemons for Nubo, on a host without systemd to start them.
#
#   scripts/libvirt.sh start    start virtlogd and libvirtd unless they already run, then wait
#                               until `virsh -c qemu:///system version` answers
#   scripts/libvirt.sh stop     stop the daemons that `start` started (and only those)
#   scripts/libvirt.sh status   say what runs and who started it; exit 0 when libvirtd answers,
#                               3 when it does not run
#
# A daemon counts as running when the PID in its pid file (/run/virtlogd.pid, /run/libvirtd.pid)
# is alive and really is that daemon; `start` never starts one twice. The PIDs of the daemons
# it starts are recorded in /run/nubo-libvirt.started, and `stop` signals only those PIDs
# (after checking that they are still the same daemons), so a libvirtd that the operator runs
# is left alone. Domains keep running when libvirtd stops (their QEMUs are separate processes).
#
# libvirt's `default` NAT network (virbr0, 192.168.122.0/24 in the root namespace) is never
# activated: if Debian's package marked it autostart, `start` removes that mark
# (/etc/libvirt/qemu/networks/autostart/default.xml, a symlink) before libvirtd reads it.
#
# /dev/kvm: without udev it stays root-only (0600), which QEMU itself does not mind under
# <domain type='qemu'> (TCG), but libvirt does: it probes QEMU's capabilities with
# CAP_DAC_OVERRIDE (so the probe sees KVM), then finds that the qemu user cannot open
# /dev/kvm, declares the cache outdated and probes again on every lookup: `virsh define` took
# ~56 s here. When `start` starts libvirtd and the qemu user cannot use /dev/kvm, it gives the
# device what Debian's udev rule gives it (group kvm, mode 0660) and `stop` restores the
# original owner and mode. Nubo still runs guests as type='qemu' where KVM hangs.
#
# Image files: QEMU runs as libvirt-qemu (Debian's qemu.conf default) and libvirt chowns each
# disk it hands to QEMU ("dynamic ownership", also the default), so the files need no
# preparation, but every directory above them must be searchable by others (o+x): `start`
# warns when the repository's .cache is not. No libvirt configuration file is changed.
set -euo pipefail

die() { echo "libvirt.sh: $*" >&2; exit 1; }
note() { echo "libvirt.sh: $*" >&2; }

(( $# == 1 )) && [[ $1 == start || $1 == stop || $1 == status ]] || { echo "usage: $0 start|stop|status" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "must run as root (libvirtd manages QEMU processes and host devices)"

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)
record=/run/nubo-libvirt.started
uri=qemu:///system
autostart_default=/etc/libvirt/qemu/networks/autostart/default.xml

# Serialise concurrent start/stop calls.
exec {lock_fd}>/run/nubo-libvirt.lock
flock "$lock_fd"

# pid_of DAEMON: the PID from DAEMON's pid file if that process is alive and is DAEMON.
pid_of() {
  local pid
  pid=$(cat "/run/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && is_daemon "$pid" "$1" && echo "$pid"
}

# is_daemon PID DAEMON: the process runs DAEMON's binary (guards against reused PIDs).
is_daemon() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [[ $(basename "$exe") == "$2" ]]
}

answers() { virsh -c "$uri" version >/dev/null 2>&1 {lock_fd}>&-; }

recorded_pid() { awk -v d="$1" '$1 == d { print $2 }' "$record" 2>/dev/null || true; }

start_daemon() {  # start_daemon NAME
  local pid i
  if pid=$(pid_of "$1"); then
    return 0
  fi
  # -d daemonises; the daemon writes /run/NAME.pid itself. Our lock fd must not leak into it.
  "$1" -d {lock_fd}>&- || die "$1 -d failed"
  for ((i = 0; i < 100; i++)); do
    if pid=$(pid_of "$1"); then
      echo "$1 $pid" >>"$record"
      note "started $1 (PID $pid)"
      return 0
    fi
    sleep 0.1
  done
  die "$1 did not write /run/$1.pid within 10 s"
}

# kvm_for_qemu_user: see the header; records the original owner and mode for `stop`.
kvm_for_qemu_user() {
  [[ -c /dev/kvm ]] && id -u libvirt-qemu >/dev/null 2>&1 && getent group kvm >/dev/null || return 0
  runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm {lock_fd}>&- && return 0
  echo "kvm-mode $(stat -c '%a %u %g' /dev/kvm)" >>"$record"
  chgrp kvm /dev/kvm
  chmod 0660 /dev/kvm
  note "gave /dev/kvm to group kvm, mode 0660, as udev would (restored by stop)"
}

restore_kvm() {
  local mode uid gid
  read -r mode uid gid < <(awk '$1 == "kvm-mode" { print $2, $3, $4; exit }' "$record") || return 0
  [[ -n ${mode:-} && -c /dev/kvm ]] || return 0
  chown "$uid:$gid" /dev/kvm
  chmod "$mode" /dev/kvm
  note "restored /dev/kvm to mode $mode, owner $uid:$gid"
}

warn_if_unreachable() {
  local dir=$repo/.cache
  [[ -d $dir ]] || dir=$repo
  id -u libvirt-qemu >/dev/null 2>&1 || return 0
  if ! runuser -u libvirt-qemu -- test -x "$dir" 2>/dev/null {lock_fd}>&-; then
    note "warning: QEMU (user libvirt-qemu) cannot enter $dir; give its parent directories o+x"
  fi
}

start() {
  command -v libvirtd >/dev/null || die "libvirtd is not installed (Debian package libvirt-daemon-system)"
  if [[ -L $autostart_default || -e $autostart_default ]]; then
    # Nubo must never bring up virbr0: drop the autostart mark before libvirtd reads it.
    rm -f -- "$autostart_default"
    note "removed $autostart_default (Nubo keeps libvirt's default NAT network inactive)"
  fi
  start_daemon virtlogd
  if ! pid_of libvirtd >/dev/null; then kvm_for_qemu_user; fi
  start_daemon libvirtd
  local i
  # The first connection after start probes QEMU's capabilities: ~10 s here.
  for ((i = 0; i < 600; i++)); do
    if answers; then
      if virsh -c "$uri" net-list --name 2>/dev/null {lock_fd}>&- | grep -qx default; then
        note "warning: libvirt's default network is active (started by someone else); Nubo does not use it"
      fi
      warn_if_unreachable
      return 0
    fi
    pid_of libvirtd >/dev/null || die "libvirtd exited during start-up"
    sleep 0.1
  done
  die "libvirtd did not answer on $uri within 60 s"
}

stop_pid() {  # stop_pid NAME PID
  local i
  if ! is_daemon "$2" "$1"; then
    note "$1 (PID $2) is gone already"
    return 0
  fi
  kill -TERM "$2" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    is_daemon "$2" "$1" || { note "stopped $1 (PID $2)"; return 0; }
    sleep 0.1
  done
  die "$1 (PID $2) did not exit within 15 s of SIGTERM"
}

stop() {
  [[ -f $record ]] || { note "nothing to stop: no daemon was started by $0"; return 0; }
  local pid
  # libvirtd first: it talks to virtlogd while it shuts down.
  for name in libvirtd virtlogd; do
    for pid in $(recorded_pid "$name"); do stop_pid "$name" "$pid"; done
  done
  restore_kvm
  rm -f -- "$record"
}

status() {
  local name pid who rc=0
  for name in virtlogd libvirtd; do
    if pid=$(pid_of "$name"); then
      who="not started by $0"
      [[ " $(recorded_pid "$name" | tr '\n' ' ')" == *" $pid "* ]] && who="started by $0"
      echo "$name: running, PID $pid ($who)"
    else
      echo "$name: not running"
      rc=3
    fi
  done
  if (( rc == 0 )) && ! answers; then
    echo "libvirtd does not answer on $uri"
    rc=1
  fi
  return "$rc"
}

"$1"
