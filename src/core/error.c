/*
 * core/error.c — the project's return codes and the caller-owned error
 * context.
 *
 * Codes are stable numbers with one fixed description each; the context
 * adds the human message and the position (file or input name, line, byte
 * offset) so a user can find what was wrong without a debugger.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

static const char *const rc_text[FL_RC_COUNT] = {
    [FL_OK] = "success",
    [FL_ENOMEM] = "out of memory",
    [FL_EINVAL] = "invalid argument",
    [FL_EPARSE] = "parse error",
    [FL_ERANGE] = "value out of range",
    [FL_EIO] = "input/output error",
    [FL_ECORRUPT] = "corrupt data",
    [FL_EVERSION] = "unsupported format version",
    [FL_ENOTFOUND] = "not found",
    [FL_ELIMIT] = "limit exceeded",
    [FL_EUNSUPPORTED] = "not supported",
    [FL_ETRUNCATED] = "truncated input",
    [FL_EEXIST] = "already exists",
    [FL_ECANCELED] = "canceled",
};

const char *fl_strerror(fl_rc rc)
{
    if ((int)rc < 0 || rc >= FL_RC_COUNT || rc_text[rc] == NULL)
        return "unknown error";
    return rc_text[rc];
}

void fl_err_clear(fl_err *e)
{
    if (e == NULL)
        return;
    e->rc = FL_OK;
    e->where[0] = '\0';
    e->line = 0;
    e->offset = -1;
    e->msg[0] = '\0';
}

__attribute__((format(printf, 3, 0)))
static void err_vset(fl_err *e, fl_rc rc, const char *fmt, va_list ap)
{
    e->rc = rc;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

fl_rc fl_err_set(fl_err *e, fl_rc rc, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return rc;
    fl_err_clear(e);
    va_start(ap, fmt);
    err_vset(e, rc, fmt, ap);
    va_end(ap);
    return rc;
}

fl_rc fl_err_at(fl_err *e, fl_rc rc, const char *where, long line,
                long long offset, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return rc;
    fl_err_clear(e);
    if (where != NULL)
        snprintf(e->where, sizeof e->where, "%s", where);
    e->line = line;
    e->offset = offset;
    va_start(ap, fmt);
    err_vset(e, rc, fmt, ap);
    va_end(ap);
    return rc;
}

void fl_err_format(const fl_err *e, char *buf, size_t len)
{
    char pos[320] = "";
    size_t n = 0;

    if (len == 0)
        return;
    if (e->where[0] != '\0')
        n += (size_t)snprintf(pos + n, sizeof pos - n, "%s:", e->where);
    if (e->line > 0 && n < sizeof pos)
        n += (size_t)snprintf(pos + n, sizeof pos - n, "%ld:", e->line);
    if (e->offset >= 0 && n < sizeof pos)
        n += (size_t)snprintf(pos + n, sizeof pos - n, "%lld:", e->offset);
    snprintf(buf, len, "%s%s%s", pos, n ? " " : "",
             e->msg[0] ? e->msg : fl_strerror(e->rc));
}
