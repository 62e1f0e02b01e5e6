/* tests/core/test_config.c — the configuration file format. */
#include "core/core.h"
#include "test.h"

static fl_config *parse_ok(const char *text)
{
    fl_config *c = NULL;
    fl_err e;
    fl_err_clear(&e);
    if (fl_config_parse(text, strlen(text), "t.conf", &c, &e) != FL_OK) {
        snprintf(test_msg, sizeof test_msg, "parse failed: %s", e.msg);
        longjmp(test_jmp, 1);
    }
    return c;
}

static void parse_bad(const char *text, long line, const char *want)
{
    fl_config *c = NULL;
    fl_err e;
    char msg[800];
    fl_err_clear(&e);
    if (fl_config_parse(text, strlen(text), "t.conf", &c, &e) == FL_OK) {
        fl_config_free(c);
        snprintf(test_msg, sizeof test_msg, "'%s' parsed", text);
        longjmp(test_jmp, 1);
    }
    fl_err_format(&e, msg, sizeof msg);
    if (e.line != line || strstr(msg, want) == NULL || strncmp(msg, "t.conf:", 7) != 0) {
        snprintf(test_msg, sizeof test_msg, "'%s': got '%s' (line %ld), wanted line %ld '%s'",
                 text, msg, e.line, line, want);
        longjmp(test_jmp, 1);
    }
}

TEST(keys_sections_comments_quotes)
{
    fl_config *c = parse_ok("# flowlens\n"
                            "store = /var/lib/flowlens   # trailing comment\n"
                            "\n"
                            "[serve]\n"
                            "  http=127.0.0.1:8081\n"
                            "listen = 0.0.0.0:2055\n"
                            "listen = [::]:4739\n"
                            "demo = true\n"
                            "; another comment\n"
                            "[query]\n"
                            "stat = \"dstport/bytes # not a comment \\\"q\\\" \\\\\"\n"
                            "url = http://x/#frag\n"
                            "empty =\n");
    const fl_config_entry *en;

    CHECK_EQ_INT(fl_config_count(c), 8);
    en = fl_config_at(c, 0);
    CHECK_STR(en->section, "");
    CHECK_STR(en->key, "store");
    CHECK_STR(en->value, "/var/lib/flowlens");
    CHECK_EQ_INT(en->line, 2);
    en = fl_config_at(c, 1);
    CHECK_STR(en->section, "serve");
    CHECK_STR(en->value, "127.0.0.1:8081");
    CHECK_STR(fl_config_at(c, 3)->value, "[::]:4739");
    en = fl_config_at(c, 5);
    CHECK_STR(en->section, "query");
    CHECK_STR(en->value, "dstport/bytes # not a comment \"q\" \\");
    CHECK_STR(fl_config_at(c, 6)->value, "http://x/#frag");
    CHECK_STR(fl_config_at(c, 7)->value, "");
    CHECK(fl_config_at(c, 8) == NULL);
    fl_config_free(c);
    fl_config_free(NULL);
}

TEST(bad_configs_name_file_and_line)
{
    parse_bad("store = x\n[serve\n", 2, "section header");
    parse_bad("a = 1\nb 2\n", 2, "expected '=' after key 'b'");
    parse_bad("= 3\n", 1, "expected a key");
    parse_bad("x = \"open\n", 1, "unterminated");
    parse_bad("x = \"a\" b\n", 1, "after the closing quote");
    parse_bad("x = \"a\\n\"\n", 1, "may be escaped");
    parse_bad("[serve] junk\n", 1, "after section header");
}

TEST(limits)
{
    size_t n = FL_CONFIG_MAX_ENTRIES + 1;
    char *big = malloc(n * 6 + 1), *p = big;
    fl_config *c = NULL;
    fl_err e;

    for (size_t i = 0; i < n; i++) {
        memcpy(p, "a = 1\n", 6);
        p += 6;
    }
    *p = '\0';
    CHECK(fl_config_parse(big, strlen(big), "big", &c, &e) == FL_ELIMIT);
    CHECK(fl_config_parse(big, FL_CONFIG_MAX_BYTES + 1, "big", &c, &e) == FL_ELIMIT);
    free(big);
    CHECK(fl_config_load("/nonexistent/flowlens.conf", &c, &e) == FL_ENOTFOUND);
    CHECK(strstr(e.where, "/nonexistent/flowlens.conf") != NULL);
}

int main(void)
{
    RUN(keys_sections_comments_quotes);
    RUN(bad_configs_name_file_and_line);
    RUN(limits);
    TEST_EXIT();
}
