#!/usr/bin/env bash
# tests/filter/test_cmd.sh — `flowlens filter`: exit codes, the positioned
# error on stderr, --explain, -f, --filters-dir with @include and %filters%.
. "$(dirname "$0")/../lib.sh"

expect_rc "valid filter exits 0" 0 "$FL_BIN" filter 'proto tcp and port 80'
if [ ! -s "$T_TMP/out" ]; then pass "no output without --explain"; else fail "no output without --explain" "$(head -c 200 "$T_TMP/out")"; fi
expect_rc "words are joined like nfdump's" 0 "$FL_BIN" filter proto tcp and port 80

"$FL_BIN" filter 'src host 1.2.3.4 prot tcp' >"$T_TMP/o" 2>"$T_TMP/e"
rc=$?
if [ $rc -eq 1 ]; then pass "bad filter exits 1"; else fail "bad filter exits 1" "exit $rc"; fi
if head -1 "$T_TMP/e" | grep -q "^filter:1:17: unknown keyword 'prot' (did you mean 'proto'?)"; then
  pass "positioned error on stderr"; else fail "positioned error on stderr" "$(cat "$T_TMP/e")"; fi
if sed -n 3p "$T_TMP/e" | grep -q '^                   \^$'; then pass "caret under the offending token"; else fail "caret" "$(cat "$T_TMP/e")"; fi
if [ ! -s "$T_TMP/o" ]; then pass "nothing on stdout on error"; else fail "stdout on error" "$(cat "$T_TMP/o")"; fi

expect_rc "unbalanced parenthesis exits 1" 1 "$FL_BIN" filter '(proto tcp'
expect_out "unbalanced parenthesis message" "filter:1:10: expected '\)'"
expect_rc "out of range exits 1" 1 "$FL_BIN" filter 'port 65536'
expect_out "out of range message" "out of range 0..65535"
expect_rc "unsupported keyword exits 1" 1 "$FL_BIN" filter 'ident foo'
expect_out "unsupported keyword message" "'ident' is an nfdump filter keyword flowlens cannot evaluate"
expect_rc "missing expression exits 2" 2 "$FL_BIN" filter
expect_rc "unknown option exits 2" 2 "$FL_BIN" filter --bogus 'any'
expect_rc "--file and expression exits 2" 2 "$FL_BIN" filter -f /dev/null 'any'

expect_rc "--explain exits 0" 0 "$FL_BIN" filter --explain 'proto udp and dst port 53'
expect_out "--explain prints the plan" "^    dst_port = 53"
expect_out "--explain prints the ranges" "^  proto \[17, 17\]"

FD="$T_TMP/filters"
mkdir -p "$FD/site" "$T_TMP/elsewhere"
printf 'port in [80 443]\n' >"$FD/web"
printf '# internal nets\nsrc net 10.0.0.0/8 and @include %%filters%%/web\n' >"$FD/site/inside"
printf 'any\n' >"$T_TMP/elsewhere/x"
expect_rc "@include via --filters-dir" 0 "$FL_BIN" filter --explain --filters-dir "$FD" 'proto tcp and @include site/inside'
expect_out "included filter in the plan" "src_addr in 10.0.0.0/8"
expect_rc "-f file with includes" 0 "$FL_BIN" filter --filters-dir "$FD" -f "$FD/site/inside"
expect_rc "include outside the directory exits 1" 1 "$FL_BIN" filter --filters-dir "$FD" "@include $T_TMP/elsewhere/x"
expect_out "outside message" "outside the filters directory"
expect_rc "include with .. exits 1" 1 "$FL_BIN" filter --filters-dir "$FD" '@include ../elsewhere/x'
expect_rc "missing include exits 1" 1 "$FL_BIN" filter --filters-dir "$FD" '@include nope'
expect_out "missing include message" "@include 'nope': cannot open"
expect_rc "include without --filters-dir exits 1" 1 "$FL_BIN" filter '@include web'
expect_rc "missing filters dir exits 1" 1 "$FL_BIN" filter --filters-dir "$T_TMP/none" 'any'
