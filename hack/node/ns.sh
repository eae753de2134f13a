#!/usr/bin/env bash
# The private network + mount namespace that holds the test node (containerd,
# kubelet, kube-proxy, pods), so nothing touches the host's interfaces,
# iptables, /run, /var/lib or sysctls. Proven recipe: docs in ARCHITECTURE.md
# ("The test node"); every setting below was found by a failure on our VMs.
#
#   ns.sh up DIR NODE_IP DNS_IP   create it; prints the holder PID (nsenter -t PID -n -m enters it)
#   ns.sh down DIR         kill every process in it (by PID), release cgroups and mountpoints
#
# DIR is the node's scratch directory; its basename names the kubelet cgroupRoot.
# `down` works from the files under DIR alone, so a watchdog can run it after a crash.
set -euo pipefail
cmd=${1:?usage: ns.sh up DIR NODE_IP DNS_IP | down DIR}; S=${2:?DIR}
cg=$(basename "$S")
holder() { cat "$S/ns/holder.pid"; }
case $cmd in
up)
  ip=${3:?NODE_IP}; dns=${4:?DNS_IP}
  mkdir -p "$S/ns" "$S/state"/{var-lib-kubelet,var-lib-containerd,var-lib-cni,var-log,etc-cni/net.d}
  # Processes run in the namespace (make run's gateway) resolve Service names through cluster DNS.
  printf 'nameserver %s\nsearch svc.cluster.local cluster.local\noptions ndots:5\n' "$dns" > "$S/ns/resolv.conf"
  # Mountpoints for the binds below. Made if missing and left in place (empty):
  # removing one that another node uses as a mountpoint would detach its mount.
  mkdir -p /var/lib/kubelet /var/lib/containerd /var/lib/cni /etc/cni
  cat > "$S/ns/init.sh" <<INIT
set -e
# First, while every mount is still private: with a shared / the last umount
# would propagate to the host's /sys/fs/cgroup (runc: "no cgroup mount found").
mkdir -p $S/ns/cg && mount --rbind /sys/fs/cgroup $S/ns/cg
umount -l /sys && mount -t sysfs sysfs /sys
mount --rbind $S/ns/cg /sys/fs/cgroup && umount -l $S/ns/cg
mount --make-rshared /
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind $S/state/var-lib-kubelet /var/lib/kubelet
mount --bind $S/state/var-lib-containerd /var/lib/containerd
mount --bind $S/state/var-lib-cni /var/lib/cni
mount --bind $S/state/var-log /var/log
mount --bind $S/state/etc-cni /etc/cni
mount --bind $S/ns/resolv.conf /etc/resolv.conf
# kubelet rewrites these four (global, not per-namespace) sysctls unless they
# already read as it wants: show it files that do, in this mount namespace only.
mkdir -p $S/ns/sysctl
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1; do
  f=\${kv%=*}; echo "\${kv#*=}" > $S/ns/sysctl/\${f//\//_}; mount --bind $S/ns/sysctl/\${f//\//_} /proc/sys/\$f
done
ip link set lo up
# No CONFIG_DUMMY in our kernels: a veth pair with both ends inside gives the node an address with carrier.
ip link add node0 type veth peer name node0-peer
ip addr add $ip/24 dev node0
ip link set node0-peer up
ip link set node0 up
ip route add default via ${ip%.*}.1 dev node0
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
touch $S/ns/ready
exec sleep infinity
INIT
  # kubelet's cgroupRoot (cgroupfs driver) must exist in every v1 hierarchy; `down` removes it.
  for ctl in /sys/fs/cgroup/*/; do [[ $ctl == */unified/ ]] || mkdir -p "$ctl/$cg"; done
  rm -f "$S/ns/ready"
  setsid unshare --net --mount --propagation private --fork -- bash "$S/ns/init.sh" > "$S/ns/init.log" 2>&1 < /dev/null &
  upid=$!
  for _ in $(seq 100); do [[ -f $S/ns/ready ]] && break; sleep 0.1; done
  [[ -f $S/ns/ready ]] || { cat "$S/ns/init.log" >&2; kill -9 "$upid" 2>/dev/null; exit 1; }
  pgrep -P "$upid" > "$S/ns/holder.pid"
  echo "$upid" > "$S/ns/unshare.pid"
  holder ;;
down)
  if [[ -f $S/ns/holder.pid ]] && kill -0 "$(holder)" 2>/dev/null; then
    h=$(holder)
    # Pod processes (their own mount namespaces) by the node's cgroup, first.
    find "/sys/fs/cgroup/pids/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    # Then everything else whose mount namespace is the node's (containerd shims, daemons).
    # -ef (same inode: same namespace) is a bash builtin: a readlink per process forked
    # thousands of times per scan on a busy machine, and teardown took ~40 s.
    ns_pids() { for p in /proc/[0-9]*; do [[ $p/ns/mnt -ef /proc/$h/ns/mnt ]] && echo "${p#/proc/}"; done; true; }
    for p in $(ns_pids); do [[ $p != "$h" ]] && kill -TERM "$p" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -z $(ns_pids | grep -vx "$h") ]] && break; sleep 0.3; done
    for p in $(ns_pids); do [[ $p != "$h" ]] && kill -KILL "$p" 2>/dev/null || true; done
    kill -KILL "$h" 2>/dev/null || true
    [[ -f $S/ns/unshare.pid ]] && kill -KILL "$(cat "$S/ns/unshare.pid")" 2>/dev/null || true
    sleep 0.5
  fi
  # Empty cgroups the kubelet made under its cgroupRoot, deepest first.
  for ctl in /sys/fs/cgroup/*/; do
    [[ -d $ctl/$cg ]] && find "$ctl/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -f "$S/ns/holder.pid" "$S/ns/ready" ;;
*) echo "usage: ns.sh up DIR NODE_IP DNS_IP | down DIR" >&2; exit 2 ;;
esac
