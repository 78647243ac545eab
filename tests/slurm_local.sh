# slurm_local.sh: a one-node Slurm cluster under $TMP for the tests (sourced after cli_common.sh):
# slurm_start installs nothing, starts munged, slurmctld and slurmd with their own paths and waits until the
# node is idle; slurm_stop (run by the EXIT trap) cancels this cluster's jobs and stops the daemons.
# Debian's slurm-wlm 22.05 as root without systemd (tests skip when it is not installed).
slurm_available() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
    command -v sbatch >/dev/null && [ "$(id -u)" -eq 0 ]
}
SL=""
slurm_stop() {
  [ -n "$SL" ] || return 0
  if [ -f "$SL/slurm.conf" ]; then
    SLURM_CONF="$SL/slurm.conf" scancel --quiet -u root 2>/dev/null
    sleep 0.5
  fi
  for p in slurmd slurmctld munged; do
    [ -f "$SL/$p.pid" ] && kill -TERM "$(cat "$SL/$p.pid")" 2>/dev/null
  done
  sleep 0.3
  return 0
}
slurm_start() {
  SL="$TMP/slurm"
  mkdir -p "$SL/munge" "$SL/state" "$SL/spool" "$SL/run"
  chmod 0700 "$SL/munge"; chmod 0755 "$SL/run"
  trap 'slurm_stop; rm -rf "$TMP"' EXIT
  mungekey -c -f -k "$SL/munge/munge.key" >/dev/null 2>&1 || return 1
  chmod 0600 "$SL/munge/munge.key"
  munged --key-file="$SL/munge/munge.key" --socket="$SL/run/munge.sock" --pid-file="$SL/munged.pid" \
    --log-file="$SL/munged.log" --seed-file="$SL/munge/seed" --force || return 1
  munge -n -S "$SL/run/munge.sock" | unmunge -S "$SL/run/munge.sock" >/dev/null || return 1
  node=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/' -e 's/RealMemory=[0-9]*/RealMemory=1000/')
  cat > "$SL/slurm.conf" <<CONF
ClusterName=aiwaetest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SL/run/munge.sock,cred_expire=5
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=1,bf_interval=1
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/slurmctld.log
SlurmdLogFile=$SL/slurmd.log
SlurmctldPort=${AIWAE_SLURM_PORT:-16817}
SlurmdPort=$(( ${AIWAE_SLURM_PORT:-16817} + 1 ))
$node
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$SL/slurm.conf"
  slurmctld -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" -N localhost || return 1
  for _ in $(seq 1 100); do
    sinfo -h -o %t 2>/dev/null | grep -qx idle && return 0
    sleep 0.2
  done
  echo "the local Slurm node did not become idle: $(sinfo 2>&1 | tail -2)"
  return 1
}
