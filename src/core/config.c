/*
 * core/config.c — the configuration file format.
 *
 * Deliberately small: sections, `key = value`, comments, quoted values.
 * The parser knows no keys; the CLI maps keys to the flags of each
 * subcommand, so a flag and its config key can never drift apart. Entries
 * live in one arena freed with the config. Input is (pointer, length),
 * bounded in size and entry count, and fuzzed (fuzz/fuzz_config.c).
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_config {
    fl_arena *arena;
    fl_config_entry *entries;
    size_t n;
};

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Unquote s[0..len) (which starts with '"') into the arena. */
static fl_rc unquote(fl_config *c, const char *s, size_t len, const char *name, long line,
                     size_t col, const char **out, fl_err *e)
{
    char *v = fl_arena_alloc(c->arena, len);
    size_t n = 0, i = 1;

    if (v == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory reading %s", name);
    for (; i < len; i++) {
        if (s[i] == '"')
            break;
        if (s[i] == '\\') {
            if (i + 1 >= len || (s[i + 1] != '"' && s[i + 1] != '\\'))
                return fl_err_at(e, FL_EPARSE, name, line, (long long)(col + i),
                                 "only \\\" and \\\\ may be escaped in a quoted value");
            i++;
        }
        v[n++] = s[i];
    }
    if (i >= len)
        return fl_err_at(e, FL_EPARSE, name, line, (long long)col, "unterminated quoted value");
    for (i++; i < len; i++)
        if (!is_space(s[i]))
            return fl_err_at(e, FL_EPARSE, name, line, (long long)(col + i),
                             "unexpected text after the closing quote");
    v[n] = '\0';
    *out = v;
    return FL_OK;
}

fl_rc fl_config_parse(const char *text, size_t len, const char *name, fl_config **out,
                      fl_err *e)
{
    fl_config *c;
    const char *section = "";
    size_t pos = 0, cap = 16;
    long line = 0;
    fl_rc rc = FL_OK;

    *out = NULL;
    if (len > FL_CONFIG_MAX_BYTES)
        return fl_err_at(e, FL_ELIMIT, name, 0, -1, "configuration larger than %u bytes",
                         FL_CONFIG_MAX_BYTES);
    c = calloc(1, sizeof *c);
    if (c == NULL || (c->arena = fl_arena_new(4 * FL_CONFIG_MAX_BYTES)) == NULL ||
        (c->entries = malloc(cap * sizeof *c->entries)) == NULL) {
        fl_config_free(c);
        return fl_err_set(e, FL_ENOMEM, "out of memory reading %s", name);
    }
    while (pos < len) {
        const char *ln = text + pos, *nl = memchr(ln, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - ln) : len - pos, i = 0, ks, ke, vs, ve;

        pos += ll + (nl ? 1 : 0);
        line++;
        while (i < ll && is_space(ln[i]))
            i++;
        if (i == ll || ln[i] == '#' || ln[i] == ';')
            continue;
        if (memchr(ln, '\0', ll) != NULL) {
            rc = fl_err_at(e, FL_EPARSE, name, line, -1, "NUL byte in configuration");
            goto fail;
        }
        if (ln[i] == '[') {
            size_t s0 = ++i;
            while (i < ll && is_key_char(ln[i]))
                i++;
            if (i == s0 || i >= ll || ln[i] != ']') {
                rc = fl_err_at(e, FL_EPARSE, name, line, (long long)i,
                               "section header must be [name]");
                goto fail;
            }
            section = fl_arena_strndup(c->arena, ln + s0, i - s0);
            for (i++; i < ll; i++)
                if (!is_space(ln[i]) && ln[i] != '#') {
                    rc = fl_err_at(e, FL_EPARSE, name, line, (long long)i,
                                   "unexpected text after section header");
                    goto fail;
                } else if (ln[i] == '#') {
                    break;
                }
            continue;
        }
        ks = i;
        while (i < ll && is_key_char(ln[i]))
            i++;
        ke = i;
        if (ke == ks) {
            rc = fl_err_at(e, FL_EPARSE, name, line, (long long)i,
                           "expected a key (letters, digits, '-', '_', '.')");
            goto fail;
        }
        while (i < ll && is_space(ln[i]))
            i++;
        if (i >= ll || ln[i] != '=') {
            rc = fl_err_at(e, FL_EPARSE, name, line, (long long)i, "expected '=' after key '%.*s'",
                           (int)(ke - ks), ln + ks);
            goto fail;
        }
        i++;
        while (i < ll && is_space(ln[i]))
            i++;
        vs = i;
        ve = ll;
        if (vs < ll && ln[vs] != '"') {
            /* an unquoted value ends at a comment; trailing blanks dropped */
            for (size_t k = vs; k < ll; k++)
                if (ln[k] == '#' && (k == vs || is_space(ln[k - 1]))) {
                    ve = k;
                    break;
                }
        }
        while (ve > vs && is_space(ln[ve - 1]))
            ve--;
        if (c->n == FL_CONFIG_MAX_ENTRIES) {
            rc = fl_err_at(e, FL_ELIMIT, name, line, -1, "more than %u entries",
                           FL_CONFIG_MAX_ENTRIES);
            goto fail;
        }
        if (c->n == cap) {
            fl_config_entry *ne = realloc(c->entries, 2 * cap * sizeof *ne);
            if (ne == NULL) {
                rc = fl_err_set(e, FL_ENOMEM, "out of memory reading %s", name);
                goto fail;
            }
            c->entries = ne;
            cap *= 2;
        }
        {
            fl_config_entry *en = &c->entries[c->n];
            en->section = section;
            en->key = fl_arena_strndup(c->arena, ln + ks, ke - ks);
            en->line = line;
            if (vs < ll && ln[vs] == '"')
                rc = unquote(c, ln + vs, ve - vs, name, line, vs, &en->value, e);
            else
                en->value = fl_arena_strndup(c->arena, ln + vs, ve - vs);
            if (rc != FL_OK)
                goto fail;
            if (en->key == NULL || en->value == NULL || section == NULL) {
                rc = fl_err_set(e, FL_ENOMEM, "out of memory reading %s", name);
                goto fail;
            }
            c->n++;
        }
    }
    *out = c;
    return FL_OK;
fail:
    fl_config_free(c);
    return rc;
}

fl_rc fl_config_load(const char *path, fl_config **out, fl_err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    fl_rc rc;

    *out = NULL;
    if (f == NULL)
        return fl_err_at(e, errno == ENOENT ? FL_ENOTFOUND : FL_EIO, path, 0, -1,
                         "cannot open configuration: %s", strerror(errno));
    buf = malloc(FL_CONFIG_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return fl_err_set(e, FL_ENOMEM, "out of memory reading %s", path);
    }
    n = fread(buf, 1, FL_CONFIG_MAX_BYTES + 1, f);
    if (ferror(f))
        rc = fl_err_at(e, FL_EIO, path, 0, -1, "cannot read configuration");
    else
        rc = fl_config_parse(buf, n, path, out, e);
    fclose(f);
    free(buf);
    return rc;
}

void fl_config_free(fl_config *c)
{
    if (c == NULL)
        return;
    fl_arena_free(c->arena);
    free(c->entries);
    free(c);
}

size_t fl_config_count(const fl_config *c) { return c ? c->n : 0; }

const fl_config_entry *fl_config_at(const fl_config *c, size_t i)
{
    return c && i < c->n ? &c->entries[i] : NULL;
}
