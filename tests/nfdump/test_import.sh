# tests/nfdump/test_import.sh — `flowlens import`: nfcapd files into the store.
#
# Files come from nfdump itself (rewrites of the nfcapd files that
# test_nfdump.sh also uses are rebuilt here: nfcapd fed the v9 captures).
# Checks: the store holds exactly the flows nfdump lists; importing again
# adds nothing; an import stopped by SIGINT or killed with -9 resumes
# without losing or duplicating a flow; a missing file is reported and the
# rest imported; the progress bar shows on a terminal; the summary counts.
. "$FL_ROOT/tests/lib.sh"
export TZ=UTC
CAP="$FLOWLENS_CAPTURES"
W="$T_TMP/w"
mkdir -p "$W/cap"

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_bg nfcapd -b 127.0.0.1 -p "$port" -w "$W/cap" -t 3600 >"$W/nfcapd.log" 2>&1
pid=$BG_PID
for i in $(seq 50); do ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.1; done
python3 "$FL_ROOT/tests/tools/pcap_send.py" 127.0.0.1 "$port" "$CAP"/netflow9/*.pcap "$CAP"/ipfix/*.pcap >/dev/null 2>&1
sleep 0.5
kill "$pid"; wait "$pid" 2>/dev/null
f=$(ls "$W/cap"/nfcapd.* | head -1)
nfdump -r "$f" -z -w "$W/a.lzo" 2>/dev/null
nfdump -r "$f" -y -w "$W/b.lz4" 2>/dev/null
n1=$(nfdump -r "$W/a.lzo" -q -o csv 2>/dev/null | wc -l)

rows() { "$FL_BIN" verify --store "$1" 2>/dev/null | sed -n 's/.* \([0-9]*\) rows: .*/\1/p'; }

S="$W/store"
expect_rc import_two_files 0 "$FL_BIN" import "$W/a.lzo" "$W/b.lz4" --into "$S"
expect_out import_summary "imported 2 files, $((2 * n1)) flows"
[ "$(rows "$S")" = "$((2 * n1))" ] && pass store_has_every_flow || fail store_has_every_flow "$(rows "$S") rows, want $((2 * n1))"
expect_rc import_again 0 "$FL_BIN" import "$W/a.lzo" "$W/b.lz4" --into "$S"
expect_out import_again_summary "imported 0 files, 0 flows.*2 already imported"
[ "$(rows "$S")" = "$((2 * n1))" ] && pass import_twice_no_duplicates || fail import_twice_no_duplicates "$(rows "$S") rows"
cp "$W/a.lzo" "$W/renamed.nf"
"$FL_BIN" import "$W/renamed.nf" --into "$S" >"$T_TMP/out" 2>&1
expect_out renamed_copy_recognised "1 already imported"
expect_rc missing_file_reported 0 "$FL_BIN" import "$W/nope" "$W/a.lzo" --into "$W/store2"
expect_out missing_file_named "warning: $W/nope.*cannot"
expect_out missing_file_rest_imported "imported 1 files, $n1 flows"
# every segment gets its by-address copy, unless told not to
ls "$S"/seg/*.fls >/dev/null 2>&1 && [ "$(ls "$S"/seg/*.fla | wc -l)" = "$(ls "$S"/seg/*.fls | wc -l)" ] &&
  pass import_makes_copies || fail import_makes_copies "$(ls "$S"/seg | head)"
expect_rc import_no_copies 0 "$FL_BIN" import "$W/a.lzo" --into "$W/store3" --no-by-address
[ "$(ls "$W/store3/seg" | grep -c '\.fla$')" = 0 ] && [ "$(ls "$W/store3/seg" | grep -c '\.fls$')" -gt 0 ] &&
  pass import_no_by_address || fail import_no_by_address "$(ls "$W/store3/seg" | head)"
# a collector writing to that store makes the missing copies while idle
ncopies() { ls "$1/seg" | grep -c '\.fla$' || true; }
nsegs() { ls "$1/seg" | grep -c '\.fls$' || true; }
cport=$(free_port)
start_bg "$FL_BIN" collect --store "$W/store3" --listen "127.0.0.1:$cport" 2>"$T_TMP/backfill.err"
bf=$BG_PID
for i in $(seq 100); do [ "$(ncopies "$W/store3")" = "$(nsegs "$W/store3")" ] && break; sleep 0.1; done
kill "$bf"; wait "$bf" 2>/dev/null
[ "$(ncopies "$W/store3")" = "$(nsegs "$W/store3")" ] && pass collect_backfills_copies ||
  fail collect_backfills_copies "$(ncopies "$W/store3") copies of $(nsegs "$W/store3") segments: $(tail -3 "$T_TMP/backfill.err")"
expect_rc backfilled_verify 0 "$FL_BIN" verify --store "$W/store3" --deep
expect_out backfilled_verify_counts "^verify: ([1-9][0-9]*) of \1 segments have a by-address copy$"

# a big file (many copies of the flows) to interrupt
mkdir -p "$W/links"
for i in $(seq -w 1 400); do ln -s "$f" "$W/links/nfcapd.202405010$i"; done
nfdump -R "$W/links" -y -w "$W/big.lz4" 2>/dev/null
nbig=$(nfdump -r "$W/big.lz4" -q -o csv 2>/dev/null | wc -l)
for how in INT KILL; do
  S="$W/store_$how"
  "$FL_BIN" import "$W/big.lz4" --into "$S" >/dev/null 2>&1 &
  p=$!
  for i in $(seq 100); do [ -s "$S/import/journal" ] && break; sleep 0.05; done
  sleep 0.3
  kill -"$how" "$p"; wait "$p" 2>/dev/null
  before=$(rows "$S")
  expect_rc "resume_after_$how" 0 "$FL_BIN" import "$W/big.lz4" --into "$S"
  got=$(rows "$S")
  [ "$got" = "$nbig" ] && pass "resume_after_${how}_exact ($before then $got rows)" \
    || fail "resume_after_${how}_exact" "$got rows after resume, want $nbig (had $before)"
done

# progress bar on a terminal only
python3 - "$FL_BIN" "$W/a.lzo" "$W/store_tty" >"$W/tty.out" 2>&1 <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "import", sys.argv[2], "--into", sys.argv[3]])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
PY
grep -q '\[###.*files' "$W/tty.out" && pass progress_bar_on_tty || fail progress_bar_on_tty "$(head -c 300 "$W/tty.out")"
"$FL_BIN" import "$W/b.lz4" --into "$W/store_notty" >"$T_TMP/out" 2>&1
grep -q '\[#' "$T_TMP/out" && fail no_progress_bar_without_tty "$(cat "$T_TMP/out")" || pass no_progress_bar_without_tty
