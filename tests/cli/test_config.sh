# tests/cli/test_config.sh — config files drive every flag; the command
# line wins; mistakes name the file and line.
. "$FL_ROOT/tests/lib.sh"
C=$T_TMP/flowlens.conf
cat >"$C" <<CONF
# global keys apply to every subcommand that has them
store = $T_TMP/from-config
[serve]
http = 127.0.0.1:9999
CONF
expect_rc config_applies 0 "$FL_BIN" serve --check --config "$C"
expect_out config_store_used "store $T_TMP/from-config"
expect_out config_http_used "http 127.0.0.1:9999"
expect_rc cli_wins 0 "$FL_BIN" serve --check --config "$C" --store "$T_TMP/cli"
expect_out cli_store_used "store $T_TMP/cli"
expect_rc env_config 0 env FLOWLENS_CONFIG="$C" "$FL_BIN" serve --check
expect_out env_config_used "store $T_TMP/from-config"

printf '[serve]\nhttp = 1\nfrobnicate = 2\n' >"$T_TMP/bad1.conf"
expect_rc unknown_key_exit_2 2 "$FL_BIN" serve --config "$T_TMP/bad1.conf"
expect_out unknown_key_names_line "config line 3: unknown key 'frobnicate' in \[serve\]"
printf 'store = x\n[serve\n' >"$T_TMP/bad2.conf"
expect_rc syntax_exit_2 2 "$FL_BIN" serve --config "$T_TMP/bad2.conf"
expect_out syntax_names_file_line "bad2.conf:2:.*section header"
printf '[nosuch]\nx = 1\n' >"$T_TMP/bad3.conf"
expect_rc unknown_section_exit_2 2 "$FL_BIN" serve --config "$T_TMP/bad3.conf"
expect_out unknown_section_message "unknown section \[nosuch\]"
printf '[serve]\ndemo = maybe\n' >"$T_TMP/bad4.conf"
expect_rc bad_bool_exit_2 2 "$FL_BIN" serve --config "$T_TMP/bad4.conf"
expect_out bad_bool_message "'demo' must be true or false"
expect_rc missing_config_exit_2 2 "$FL_BIN" serve --config "$T_TMP/none.conf"
expect_out missing_config_message "none.conf: cannot open configuration"
