# tests/query/nfcapd_helpers.sh — shared by the query differential tests
# (sourced after tests/lib.sh): build nfcapd files from live exports.

# make_nfcapd DIR SENDER... : run nfcapd on a free port, feed it with
# `SENDER... PORT`, stop it; prints the path of the file it wrote
make_nfcapd() {
  local dir=$1; shift
  local port; port=$(free_port)
  mkdir -p "$dir"
  nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 >"$dir.log" 2>&1 &
  local pid=$!
  T_PIDS="$T_PIDS $pid"
  for _ in $(seq 50); do grep -q 'Startup' "$dir.log" 2>/dev/null && break; sleep 0.1; done
  "$@" "$port" >>"$dir.log" 2>&1
  sleep 1
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  ls "$dir"/nfcapd.* 2>/dev/null | grep -v current | head -1
}

# generated NetFlow v9 traffic, 2024-05-01 10:00-12:00 UTC
send_gen() {
  "$FL_BIN" gen --to "127.0.0.1:$1" --proto v9 --count "${GEN_COUNT:-30000}" --seed 3 \
    --rate 20000 --start 2024-05-01T10:00:00Z --window 2h
}

# the generated traffic plus hand-made IPFIX corner cases (tests/tools/ipfix_edge_send.py)
send_gen_and_edges() {
  send_gen "$1" && python3 "$FL_ROOT/tests/tools/ipfix_edge_send.py" 127.0.0.1 "$1"
}
