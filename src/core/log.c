/*
 * core/log.c — one small logging API with levels.
 *
 * One line per event on stderr: UTC time, level, message. The daemon's
 * messages name the exporter, file or query they concern in the text. The
 * level is process-wide (set once from flags/config); a line is written
 * with one stdio call so lines from threads do not interleave.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static volatile int log_level = FL_LOG_INFO;

static const char *const level_name[] = {"error", "warn", "info", "debug"};

void fl_log_set_level(fl_log_level lvl) { log_level = (int)lvl; }

fl_log_level fl_log_get_level(void) { return (fl_log_level)log_level; }

int fl_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_name[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return FL_LOG_WARN;
    return -1;
}

void fl_log(fl_log_level lvl, const char *fmt, ...)
{
    char ts[40], msg[1024];
    va_list ap;

    if ((int)lvl > log_level)
        return;
    fl_time_format(fl_time_now(), FL_TFMT_ISO, 0, ts, sizeof ts);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s: %s\n", ts, level_name[lvl & 3], msg);
}
