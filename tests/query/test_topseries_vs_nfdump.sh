# tests/query/test_topseries_vs_nfdump.sh — `flowlens query --topseries`
# against nfdump -s run on one nfcapd file per 5-minute step, which is how
# FlowGraph draws its graphs.
#
# The step files are cut by nfdump itself, by flow START time (the bucket
# flowlens' series use): nfdump's -t keeps flows lying entirely inside the
# window (first >= start and last <= end), which would drop every flow that
# crosses a step boundary, so instead: sort all flows by start
# (nfdump -O tstart -w sorted); count the flows starting at or after each
# step boundary (nfdump -t BOUNDARY with no end = first >= BOUNDARY,
# last unbounded); step K's file is then `nfdump -r sorted -t T_K -c
# (count(T_K) - count(T_K+1)) -w step_K`: the first flows, in start order,
# that start at or after T_K — exactly those starting in [T_K, T_K+1).
#
# Both topseries modes are checked, over the nfcapd file (-r) and the store:
#   --per-step (FlowGraph): each step's series are nfdump's top N of that
#     step's file, with its values, and Other is the rest of the step;
#   whole-window top N: the N keys are nfdump's top N over the window, and
#     each step's value per key is nfdump's value for that key in that
#     step's file (nfdump -s ... -n 0), Other the step's remaining bytes.
. "$FL_ROOT/tests/lib.sh"
. "$FL_ROOT/tests/query/nfcapd_helpers.sh"
CMP="python3 $FL_ROOT/tests/tools/nfcompare.py"

GEN_COUNT=6000
F=$(make_nfcapd "$T_TMP/flows" send_gen_and_edges)
if [ -n "$F" ]; then pass nfcapd_wrote_file; else fail nfcapd_wrote_file "$(tail -5 "$T_TMP/flows.log")"; fi
STORE="$T_TMP/store"
check import_into_store "$FL_BIN" import "$F" --into "$STORE"

WIN_START=1714557600  # 2024-05-01 10:00:00 UTC
NSTEPS=25             # 10:00 .. 12:00 inclusive (the window end's step)
tstr() { TZ=UTC date -d "@$1" +%Y/%m/%d.%H:%M:%S; }
WINDOW="$(tstr $WIN_START)-$(tstr $((WIN_START + 7200)))"
export TZ=UTC         # nfdump's -t and flowlens' -t read local time

SORTED="$T_TMP/sorted"
nfdump -r "$F" -O tstart -w "$SORTED" 2>"$T_TMP/sort.err"
count_from() {
  nfdump -r "$SORTED" -t "$(tstr "$1")" -q -o csv "${@:2}" 2>/dev/null | grep -c '^[0-9]\{4\}-'
}
STEPS="$T_TMP/steps"
mkdir -p "$STEPS"
total=0
prev=$(count_from $WIN_START)
for k in $(seq 0 $((NSTEPS - 1))); do
  t=$((WIN_START + 300 * k))
  next=$(count_from $((t + 300)))
  n=$((prev - next))
  rm -f "$STEPS/step_$k.nf"
  [ "$n" -gt 0 ] && nfdump -r "$SORTED" -t "$(tstr $t)" -c "$n" -w "$STEPS/step_$k.nf"
  total=$((total + n))
  prev=$next
done
all=$(nfdump -r "$F" -q -o csv | grep -c '^[0-9]\{4\}-')
# every flow lands in exactly one step file
if [ "$total" -eq "$all" ] && [ "$all" -gt 6000 ]; then pass step_files_partition_flows
else fail step_files_partition_flows "step files hold $total flows, the file $all"; fi
n0=$(nfdump -r "$STEPS/step_2.nf" -q -o csv | grep -c '^2024-05-01 10:1[0-4]')
n1=$(nfdump -r "$STEPS/step_2.nf" -q -o csv | grep -c '^[0-9]\{4\}-')
if [ "$n0" -eq "$n1" ] && [ "$n1" -gt 0 ]; then pass step_file_holds_its_starts
else fail step_file_holds_its_starts "$n0 of $n1 flows of step 2 start in 10:10-10:15"; fi

# ts_case NAME ELEM N FILTER : both modes, file and store
ts_case() {
  local name=$1 elem=$2 n=$3 filter=$4 d="$T_TMP/$1" k src mode
  mkdir -p "$d"
  for k in $(seq 0 $((NSTEPS - 1))); do
    [ -f "$STEPS/step_$k.nf" ] || continue
    nfdump -r "$STEPS/step_$k.nf" -o csv -s "$elem/bytes" -n "$n" $filter >"$d/step_$k.top" 2>/dev/null
    nfdump -r "$STEPS/step_$k.nf" -o csv -s "$elem/bytes" -n 0 $filter >"$d/step_$k.all" 2>/dev/null
  done
  nfdump -r "$F" -o csv -s "$elem/bytes" -n "$n" $filter >"$d/whole.top" 2>/dev/null
  nfdump -r "$F" -o csv -s "$elem/bytes" -n 0 $filter >"$d/whole.all" 2>/dev/null
  for src in file store; do
    for mode in step window; do
      local o="$d/$src.$mode.json" per=""
      [ $mode = step ] && per=--per-step
      if [ $src = file ]; then
        # shellcheck disable=SC2086
        "$FL_BIN" query -r "$F" --topseries "$elem" --metric bytes --step 5m $per -n "$n" \
          -t "$WINDOW" -o json $filter >"$o" 2>"$o.err"
      else
        # shellcheck disable=SC2086
        "$FL_BIN" query --store "$STORE" --topseries "$elem" --metric bytes --step 5m $per \
          -n "$n" -t "$WINDOW" -o json $filter >"$o" 2>"$o.err"
      fi
      if out=$($CMP topseries $mode "$n" "$o" "$d" 2>&1); then pass "${name}_${src}_$mode"
      else fail "${name}_${src}_$mode" "$out $(head -c 300 "$o.err")"; fi
    done
  done
}

ts_case dstport_top5 dstport 5 ""
ts_case srcip_top5 srcip 5 ""
ts_case proto_top3 proto 3 ""
ts_case dstport_tcp_top4 dstport 4 "proto tcp"
ts_case dstip_v6_top5 dstip 5 "ipv6"
