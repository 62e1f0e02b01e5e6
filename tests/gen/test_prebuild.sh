# tests/gen/test_prebuild.sh — `flowlens gen --prebuild`: a ring of
# datagrams encoded once and sent round and round with patched headers.
#
# Into `flowlens collect --store` (v5, v9, IPFIX): every exporter's
# sequence accounting stays exact across the rounds (no loss, no
# reordering counted), the collector counts exactly the flows and
# datagrams gen reports, the store holds that many flows, and the flows
# stored are the ring's flows (--dump) with their times unchanged, each
# repeated once per round. Into Debian's nfcapd (v9, IPFIX): nfdump reads
# back the same number of flows, and v9 has no sequence errors. A ring
# smaller than one sendmmsg and sFlow's refusal are covered too.
. "$FL_ROOT/tests/lib.sh"
START=2024-05-01T12:00:00Z

stop_wait() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}
# sent LOG -> "flows datagrams" from gen's summary line
sent() { sed -nE 's/.*: ([0-9]+) flows \(0 skipped\) from [0-9]+ exporters in ([0-9]+) datagrams.*/\1 \2/p' "$1"; }

# to_collector NAME PROTO RING COUNT
to_collector() {
  local name=$1 proto=$2 ring=$3 count=$4 d="$T_TMP/$1" port cp n dg
  mkdir -p "$d"
  port=$(free_port)
  start_bg "$FL_BIN" collect --store "$d/st" --listen 127.0.0.1:$port --duration 120 \
    --rcvbuf 4000000 2>"$d/collect.err"
  cp=$BG_PID
  for _ in $(seq 100); do grep -q "listening on" "$d/collect.err" && break; sleep 0.1; done
  "$FL_BIN" gen --to 127.0.0.1:$port --proto "$proto" --count "$count" --rate 40000 --seed 5 \
    --start $START --window 20m --prebuild "$ring" --dump "$d/dump.csv" 2>"$d/gen.log"
  local rc=$?
  sleep 0.5
  stop_wait "$cp"
  [ "$rc" -eq 0 ] && pass "${name}_gen_exit_0" || fail "${name}_gen_exit_0" "$(cat "$d/gen.log")"
  read -r n dg < <(sent "$d/gen.log")
  [ -n "$n" ] && [ "$n" -le "$count" ] && [ "$n" -gt $((count * 9 / 10)) ] &&
    pass "${name}_sends_count" || fail "${name}_sends_count" "$(cat "$d/gen.log")"
  python3 - "$d/st/collector-stats.jsonl" "$n" "$dg" <<'PY' | sed "s/^\(PASS\|FAIL\) /\1 ${name}_/"
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
X = [o for o in L if o["type"] == "exporter"]
n, dg = int(sys.argv[2]), int(sys.argv[3])
bad = [(o["domain"], o["seq_lost"], o["seq_reorder"]) for o in X if o["seq_lost"] or o["seq_reorder"]]
print("PASS sequence_exact" if X and not bad else "FAIL sequence_exact: %r" % (bad or X))
f, d = sum(o["flows"] for o in X), sum(o["datagrams"] for o in X)
print("PASS counts_equal" if (f, d) == (n, dg) else "FAIL counts_equal: collector %d flows %d datagrams, gen %d %d" % (f, d, n, dg))
PY
  "$FL_BIN" query --store "$d/st" -o ndjson >"$d/st.ndjson" 2>"$d/q.err"
  python3 - "$d/dump.csv" "$d/st.ndjson" "$n" "$proto" <<'PY' | sed "s/^\(PASS\|FAIL\) /\1 ${name}_/"
import collections, datetime, json, sys
def ms(s):
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)
ring = collections.Counter()
for l in open(sys.argv[1]):
    c = l.strip().split(",")
    ring[(int(c[0]), int(c[1]), int(c[2]), c[3], c[4], int(c[5]), int(c[6]))] += 1
got = collections.Counter()
for l in open(sys.argv[2]):
    o = json.loads(l)
    got[(o["exporter"], ms(o["time_first"]), ms(o["time_last"]), o["src_addr"], o["dst_addr"], o["src_port"], o["dst_port"])] += 1
n = int(sys.argv[3])
print("PASS store_holds_all" if sum(got.values()) == n else "FAIL store_holds_all: %d of %d" % (sum(got.values()), n))
extra = set(got) - set(ring)
print("PASS store_flows_are_the_ring" if not extra and ring else "FAIL store_flows_are_the_ring: %d unknown, e.g. %r" % (len(extra), sorted(extra)[:2]))
# every round repeats every ring flow: counts differ by at most one round
# (v5 skips the ring's IPv6 flows)
r = [got[k] // ring[k] for k in ring if sys.argv[4] != "v5" or ":" not in k[3]]
print("PASS ring_repeats_whole" if ring and max(r) - min(r) <= 1 and max(r) >= 2 else "FAIL ring_repeats_whole: rounds %s..%s" % (min(r), max(r)))
PY
}

to_collector pb_v9 v9 300 30000
to_collector pb_ipfix ipfix 300 30000
to_collector pb_v5 v5 200 20000
# a ring smaller than one sendmmsg call (each slot is patched in place)
to_collector pb_v9_tiny v9 5 3000

# into nfcapd: the same number of flows, v9 without sequence errors
for p in v9 ipfix; do
  d="$T_TMP/nf_$p"; mkdir -p "$d"
  port=$(free_port)
  start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$d" -t 3600 -B 4000000 >"$d.log" 2>&1
  np=$BG_PID
  for _ in $(seq 100); do grep -q Startup "$d.log" && break; sleep 0.1; done
  "$FL_BIN" gen --to 127.0.0.1:$port --proto $p --count 30000 --rate 40000 --seed 5 \
    --start $START --window 20m --prebuild 300 2>"$d.gen"
  rc=$?
  sleep 0.5
  stop_wait "$np"
  [ "$rc" -eq 0 ] && pass "nf_${p}_gen_exit_0" || fail "nf_${p}_gen_exit_0" "$(cat "$d.gen")"
  read -r n dg < <(sent "$d.gen")
  got=$(nfdump -R "$d" -I 2>/dev/null | awk '/^Flows:/ {print $2; exit}')
  [ -n "$n" ] && [ "$got" = "$n" ] && pass "nf_${p}_stores_all" || fail "nf_${p}_stores_all" "nfdump $got, gen $n"
  if [ $p = v9 ]; then
    grep -q "Sequence Errors: 0," "$d.log" && pass nf_v9_no_sequence_errors ||
      fail nf_v9_no_sequence_errors "$(grep -i sequence "$d.log")"
  fi
done

expect_rc prebuild_refuses_sflow 2 "$FL_BIN" gen --to 127.0.0.1:9 --proto sflow --prebuild 10
grep -q "prebuild takes v5, v9 or ipfix" "$T_TMP/out" && pass prebuild_sflow_message ||
  fail prebuild_sflow_message "$(cat "$T_TMP/err")"
expect_rc prebuild_zero_refused 2 "$FL_BIN" gen --to 127.0.0.1:9 --proto v9 --prebuild 0
