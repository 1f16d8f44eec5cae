# shellcheck shell=bash
# Shared by resume, suspend, resume-fail, slot and run-job: the explicit PATH, the one configuration
# file, logging, slot names, pid files, the lock, and calls to hpcctl. Sourced, never run.

# slurmctld starts ResumeProgram and SuspendProgram with no PATH at all: never rely on the caller's.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

HPC_BURST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HPC_BURST_DIR=$(dirname "$HPC_BURST_LIB")
HPC_BURST_PROGRAM=${HPC_BURST_PROGRAM:-$(basename "$0")}

# Every key the configuration file may hold (see hpc-burst.conf.example).
HPC_BURST_KEYS=(HPC_API_URL HPC_API_TOKEN CLUSTER_NAME CLUSTER_CONFIG SLOTS SLOT_PREFIX PARTITION EPHEMERAL
  SLOT_ADDR INSTALL_DIR NODE HPCCTL SLURMD LOG_FILE STATE_DIR PATH_PREFIX)

# Until the configuration names a log file, messages go to stderr.
LOG_FILE=

log() {
  local line
  line="$(date '+%Y-%m-%dT%H:%M:%S') ${HPC_BURST_PROGRAM}[$$]: $*"
  if [[ -n $LOG_FILE ]] && { printf '%s\n' "$line" >>"$LOG_FILE"; } 2>/dev/null; then return 0; fi
  printf '%s\n' "$line" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Where the configuration is: $HPC_BURST_CONF, else hpc-burst.conf beside slurm.conf (slurmctld passes
# SLURM_CONF to its programs), else /etc/slurm/hpc-burst.conf.
hpc_burst_config_path() {
  if [[ -n ${HPC_BURST_CONF:-} ]]; then
    printf '%s\n' "$HPC_BURST_CONF"
  elif [[ -n ${SLURM_CONF:-} && -e "$(dirname "$SLURM_CONF")/hpc-burst.conf" ]]; then
    printf '%s\n' "$(dirname "$SLURM_CONF")/hpc-burst.conf"
  else
    printf '%s\n' /etc/slurm/hpc-burst.conf
  fi
}

# Reads KEY=VALUE lines into CONF_KEY variables. The file is data, not a shell script: nothing in it runs.
hpc_burst_read_config() {
  local file=$1 line key value number=0
  [[ -r $file ]] || die "cannot read the configuration file $file (set HPC_BURST_CONF, or put it beside slurm.conf)"
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ ! $line =~ ^[[:space:]]*([A-Z][A-Z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
      die "$file line $number: expected KEY=VALUE, got: $line"
    fi
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    value=${value%"${value##*[![:space:]]}"}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    if [[ " ${HPC_BURST_KEYS[*]} " != *" $key "* ]]; then
      die "$file line $number: unknown key $key (known: ${HPC_BURST_KEYS[*]})"
    fi
    printf -v "CONF_$key" '%s' "$value"
  done <"$file"
}

# Loads and checks the configuration; every program calls this first.
hpc_burst_init() {
  HPC_BURST_CONF_FILE=$(hpc_burst_config_path)
  local key
  for key in "${HPC_BURST_KEYS[@]}"; do unset "CONF_$key"; done
  hpc_burst_read_config "$HPC_BURST_CONF_FILE"

  CONF_INSTALL_DIR=${CONF_INSTALL_DIR:-$(cd "$HPC_BURST_DIR/../.." && pwd)}
  CONF_SLOT_PREFIX=${CONF_SLOT_PREFIX:-cloud}
  CONF_PARTITION=${CONF_PARTITION:-cloud}
  CONF_EPHEMERAL=${CONF_EPHEMERAL:-yes}
  CONF_SLOT_ADDR=${CONF_SLOT_ADDR:-127.0.0.1}
  CONF_NODE=${CONF_NODE:-$(command -v node || echo /usr/bin/node)}
  CONF_HPCCTL=${CONF_HPCCTL:-$CONF_INSTALL_DIR/bin/hpcctl.js}
  CONF_SLURMD=${CONF_SLURMD:-$(command -v slurmd || echo /usr/sbin/slurmd)}
  CONF_LOG_FILE=${CONF_LOG_FILE:-/var/log/slurm/hpc-burst.log}
  CONF_STATE_DIR=${CONF_STATE_DIR:-/var/lib/slurm/hpc-burst}
  LOG_FILE=$CONF_LOG_FILE
  if [[ -n ${CONF_PATH_PREFIX:-} ]]; then
    PATH=$CONF_PATH_PREFIX:$PATH
    export PATH
  fi

  # hpcctl reads these; the configuration file, not the caller's environment, names the API.
  export HPC_API_URL=$CONF_HPC_API_URL
  if [[ -n ${CONF_HPC_API_TOKEN:-} ]]; then export HPC_API_TOKEN=$CONF_HPC_API_TOKEN; else unset HPC_API_TOKEN; fi

  for key in HPC_API_URL CLUSTER_NAME CLUSTER_CONFIG SLOTS; do
    local name="CONF_$key"
    [[ -n ${!name:-} ]] || die "$HPC_BURST_CONF_FILE: $key is required"
  done
  [[ $CONF_SLOTS =~ ^[1-9][0-9]*$ ]] || die "$HPC_BURST_CONF_FILE: SLOTS must be a positive number, not '$CONF_SLOTS'"
  [[ $CONF_SLOT_PREFIX =~ ^[A-Za-z][A-Za-z0-9_-]*$ ]] ||
    die "$HPC_BURST_CONF_FILE: SLOT_PREFIX must be letters, digits, '-' or '_', not '$CONF_SLOT_PREFIX'"
  case $CONF_EPHEMERAL in
    yes | no) ;;
    *) die "$HPC_BURST_CONF_FILE: EPHEMERAL must be yes or no, not '$CONF_EPHEMERAL'" ;;
  esac
}

# The slots this integration owns, one name a line: SLOT_PREFIX1 .. SLOT_PREFIX<SLOTS>.
all_slots() {
  local i
  for ((i = 1; i <= CONF_SLOTS; i++)); do printf '%s%d\n' "$CONF_SLOT_PREFIX" "$i"; done
}

# Expands a Slurm hostlist (cloud[1-2]) and keeps only our slots; anything else is logged and skipped.
slot_nodes() {
  local expanded node
  expanded=$(scontrol show hostnames "$1") || die "scontrol cannot expand the hostlist '$1'"
  for node in $expanded; do
    if [[ $node =~ ^${CONF_SLOT_PREFIX}([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= CONF_SLOTS)); then
      printf '%s\n' "$node"
    else
      log "skipping $node: not one of the ${CONF_SLOTS} slots ${CONF_SLOT_PREFIX}1..${CONF_SLOTS} in $HPC_BURST_CONF_FILE"
    fi
  done
}

# One value of `scontrol show config` (ResumeTimeout, SlurmdPidFile, ...), or empty.
slurm_setting() {
  scontrol show config 2>/dev/null | sed -n "s/^$1[[:space:]]*= *//p" | head -n 1
}

# A slot's slurmd pid file: SlurmdPidFile with %n (node) and %h (host) filled in.
slot_pid_file() {
  local pattern host
  pattern=${SLURMD_PID_FILE_PATTERN:-}
  if [[ -z $pattern ]]; then
    pattern=$(slurm_setting SlurmdPidFile)
    SLURMD_PID_FILE_PATTERN=${pattern:-/run/slurmd.pid}
    pattern=$SLURMD_PID_FILE_PATTERN
  fi
  host=$(hostname -s)
  pattern=${pattern//%n/$1}
  printf '%s\n' "${pattern//%h/$host}"
}

# The pid of the slot's running slurmd, or nothing (a stale pid file does not count).
slot_pid() {
  local file pid comm
  file=$(slot_pid_file "$1")
  [[ -r $file ]] || return 1
  read -r pid <"$file" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == slurmd* ]] || return 1
  printf '%s\n' "$pid"
}

# Runs the privileged slot helper: directly as root, else through `sudo -n` (see README.md).
run_slot() {
  if ((EUID == 0)); then
    "$HPC_BURST_DIR/slot" "$@"
  else
    sudo -n "$HPC_BURST_DIR/slot" "$@"
  fi
}

# Holds the integration's lock (resume and suspend decide about the cluster one at a time) for up to
# $1 seconds; returns non-zero when it could not get it in time.
take_lock() {
  mkdir -p "$CONF_STATE_DIR" 2>/dev/null
  exec {HPC_BURST_LOCK_FD}>>"$CONF_STATE_DIR/lock" || return 1
  flock -w "$1" "$HPC_BURST_LOCK_FD"
}

# hpcctl against the configured API (HPC_API_URL, exported by hpc_burst_init), with the configured Node.js.
hpcctl() {
  "$CONF_NODE" "$CONF_HPCCTL" "$@"
}

# Marks nodes DOWN with a reason a person can act on. The power-down that follows keeps the reason:
# otherwise slurmctld replaces it with "ResumeTimeout reached" once ResumeTimeout passes.
mark_down() {
  local nodes=$1 reason=$2
  reason=${reason//$'\n'/ }
  ((${#reason} > 400)) && reason="${reason:0:397}..."
  log "marking $nodes DOWN: $reason"
  scontrol update nodename="$nodes" state=down reason="$reason" || log "scontrol could not mark $nodes DOWN"
  scontrol update nodename="$nodes" state=power_down_force || log "scontrol could not power down $nodes"
}

# Comma-separated, as scontrol takes node lists.
join_nodes() {
  local IFS=,
  printf '%s\n' "$*"
}

# A field of the cluster as the API reports it (`status`, `failureReason`), or nothing.
cluster_field() {
  local json
  json=$(hpcctl clusters get "$CONF_CLUSTER_NAME" --output json 2>/dev/null) || return 1
  printf '%s' "$json" | "$CONF_NODE" -e '
    let text = "";
    process.stdin.on("data", (chunk) => { text += chunk; });
    process.stdin.on("end", () => {
      const value = JSON.parse(text)[process.argv[1]];
      if (value !== undefined && value !== null) process.stdout.write(String(value));
    });' "$1"
}
