# tests/lib.sh — helpers for shell tests (sourced).
#
# A shell test prints PASS/FAIL lines like the C tests. check NAME CMD...
# runs CMD and passes when it exits 0; expect_* helpers compare output.
# Servers started by a test go through start_bg so cleanup stops them by PID.

: "${FL_BIN:?FL_BIN not set: run through tests/run.sh}"
T_TMP=$(mktemp -d "${FL_TEST_OUT:-/tmp}/t.XXXXXX")
T_PIDS=""
cleanup() {
  for p in $T_PIDS; do kill "$p" 2>/dev/null; done
  for p in $T_PIDS; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${2:-}"; }

# check NAME CMD... : pass when CMD exits 0
check() {
  local name=$1; shift
  if "$@" >"$T_TMP/out" 2>&1; then pass "$name"; else fail "$name" "$(head -c 400 "$T_TMP/out")"; fi
}

# expect_rc NAME RC CMD... : pass when CMD exits with RC; output in $T_TMP/out
expect_rc() {
  local name=$1 want=$2; shift 2
  "$@" >"$T_TMP/out" 2>&1
  local rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $rc, wanted $want: $(head -c 400 "$T_TMP/out")"; fi
}

# expect_out NAME PATTERN : last command's output ($T_TMP/out) matches grep -E PATTERN
expect_out() {
  if grep -qE -- "$2" "$T_TMP/out"; then pass "$1"; else fail "$1" "output lacks /$2/: $(head -c 400 "$T_TMP/out")"; fi
}

# free_port: a free TCP/UDP port on loopback
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_bg CMD... : start in background, remember PID in $BG_PID
start_bg() {
  "$@" &
  BG_PID=$!
  T_PIDS="$T_PIDS $BG_PID"
}
