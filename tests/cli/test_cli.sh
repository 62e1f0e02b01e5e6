# tests/cli/test_cli.sh — the command surface: help, subcommands, errors.
. "$FL_ROOT/tests/lib.sh"

expect_rc help_lists_commands 0 "$FL_BIN" help
for c in serve collect query import gen exporters verify expire filter; do
  expect_out "help_lists_$c" "^  $c "
done
for c in serve collect query import gen exporters verify expire filter help version; do
  expect_rc "${c}_has_help" 0 "$FL_BIN" "$c" --help
  expect_out "${c}_help_shows_usage" "^usage: flowlens $c"
done
expect_rc unknown_command_exit_2 2 "$FL_BIN" frobnicate
expect_out unknown_command_message "^flowlens: unknown command 'frobnicate'"
[ "$(wc -l <"$T_TMP/out")" -eq 1 ] && pass unknown_command_one_line || fail unknown_command_one_line "$(cat "$T_TMP/out")"
expect_rc unknown_flag_exit_2 2 "$FL_BIN" query --frobnicate
expect_out unknown_flag_message "^flowlens query: unknown option '--frobnicate'"
expect_rc unknown_short_flag_exit_2 2 "$FL_BIN" serve -Z
expect_out unknown_short_flag_message "unknown option '-Z'"
expect_rc missing_value_exit_2 2 "$FL_BIN" serve --store
expect_out missing_value_message "option '--store' needs a value"
expect_rc flag_with_value_exit_2 2 "$FL_BIN" serve --demo=yes
expect_rc bad_log_level_exit_2 2 "$FL_BIN" serve --log-level loud
expect_rc no_args_exit_2 2 "$FL_BIN"
expect_rc version 0 "$FL_BIN" version
expect_out version_text "^flowlens [0-9]"
expect_rc help_of_command 0 "$FL_BIN" help query
expect_out help_of_command_shows_nfdump_flags "-s, --stat"
# serve runs until stopped: start it, wait (bounded) for its address, stop it by PID
start_bg "$FL_BIN" serve --store "$T_TMP/store" --http 127.0.0.1:0 --demo-flows 1000 >"$T_TMP/out" 2>&1
for _ in $(seq 1 300); do grep -q "listening on" "$T_TMP/out" && break; sleep 0.1; done
kill "$BG_PID"; wait "$BG_PID"
expect_out serve_runs "listening on http://127\.0\.0\.1:[0-9]+/"
expect_out serve_names_store "store $T_TMP/store"
