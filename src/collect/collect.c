/*
 * collect/collect.c — the collector object, workers and datagram dispatch.
 *
 * A datagram's first bytes say what it is: 00 00 00 05 is sFlow v5, a
 * 16-bit version 5, 9 or 10 is NetFlow v5, v9 or IPFIX. Each decoder
 * resolves its exporter (locking it for the datagram), writes flows into
 * the worker's batch and counts what it could not decode. Workers hand
 * full batches to the sink (or to the server's queue through emit).
 */
#include "collect_int.h"

#include <stdlib.h>
#include <string.h>

void fl_collect_config_default(fl_collect_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_exporters = 4096;
    c->max_templates = 1024;
}

fl_collect *fl_collect_new(const fl_collect_config *cfg, const fl_collect_sink *sink, fl_err *e)
{
    fl_collect *c = calloc(1, sizeof *c);

    if (c == NULL) {
        fl_err_set(e, FL_ENOMEM, "out of memory creating the collector");
        return NULL;
    }
    if (cfg != NULL)
        c->cfg = *cfg;
    else
        fl_collect_config_default(&c->cfg);
    if (c->cfg.max_exporters == 0)
        c->cfg.max_exporters = 4096;
    if (c->cfg.max_templates == 0)
        c->cfg.max_templates = 1024;
    if (sink != NULL)
        c->sink = *sink;
    pthread_mutex_init(&c->mu, NULL);
    if (c->cfg.nallow > 0) {
        c->allow = malloc(c->cfg.nallow * sizeof *c->allow);
        if (c->allow == NULL) {
            fl_err_set(e, FL_ENOMEM, "out of memory creating the collector");
            fl_collect_free(c);
            return NULL;
        }
        memcpy(c->allow, c->cfg.allow, c->cfg.nallow * sizeof *c->allow);
        c->cfg.allow = c->allow;
    }
    if (c->cfg.nrules > 0) {
        c->rules = malloc(c->cfg.nrules * sizeof *c->rules);
        if (c->rules == NULL) {
            fl_err_set(e, FL_ENOMEM, "out of memory creating the collector");
            fl_collect_free(c);
            return NULL;
        }
        memcpy(c->rules, c->cfg.rules, c->cfg.nrules * sizeof *c->rules);
        c->cfg.rules = c->rules;
    }
    if (c->cfg.template_file != NULL) {
        fl_err le;
        fl_err_clear(&le);
        fl_rc rc = fl_collect_load(c, c->cfg.template_file, &le);
        if (rc == FL_OK) {
            fl_log_info("collect: loaded templates of %zu exporters from %s",
                        fl_collect_exporter_count(c), c->cfg.template_file);
        } else if (rc != FL_ENOTFOUND) {
            char buf[800];
            fl_err_format(&le, buf, sizeof buf);
            fl_log_warn("collect: template file ignored: %s", buf);
            if (e != NULL)
                *e = le;
        }
    }
    return c;
}

void fl_collect_free(fl_collect *c)
{
    if (c == NULL)
        return;
    cl_exporters_free(c);
    free(c->allow);
    free(c->rules);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

fl_collect_worker *fl_collect_worker_new(fl_collect *c)
{
    return fl_collect_worker_new_cap(c, 0);
}

fl_collect_worker *fl_collect_worker_new_cap(fl_collect *c, uint32_t cap)
{
    fl_collect_worker *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    w->c = c;
    w->b = fl_batch_new(cap);
    if (w->b == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

/* Count the rows of b per exporter as dropped. */
static void count_dropped(fl_collect *c, const fl_batch *b)
{
    const uint16_t *ex = FL_U16(b, FL_COL_EXPORTER);
    uint32_t i = 0;

    while (i < b->n) {
        uint32_t j = i;
        while (j < b->n && ex[j] == ex[i])
            j++;
        fl_collect_count_drops(c, ex[i], j - i);
        i = j;
    }
}

fl_rc fl_collect_worker_flush(fl_collect_worker *w)
{
    fl_rc rc = FL_OK;

    if (w->b->n == 0)
        return FL_OK;
    if (w->emit != NULL)
        rc = w->emit(w->emit_ctx, w);
    else if (w->c->sink.on_batch != NULL)
        rc = w->c->sink.on_batch(w->c->sink.ctx, w->b);
    if (rc != FL_OK)
        count_dropped(w->c, w->b);
    if (w->b->n > 0)
        fl_batch_clear(w->b);
    return rc;
}

void fl_collect_worker_free(fl_collect_worker *w)
{
    if (w == NULL)
        return;
    fl_collect_worker_flush(w);
    fl_batch_free(w->b);
    free(w);
}

fl_rc fl_collect_datagram(fl_collect_worker *w, fl_addr src, uint16_t port, const uint8_t *p,
                          size_t len, fl_time now, fl_err *e)
{
    cl_ctx k;

    (void)port;
    memset(&k, 0, sizeof k);
    k.c = w->c;
    k.w = w;
    k.now = now;
    k.e = e;
    if (len < 4)
        return cl_bad(&k, FL_BAD_SHORT, -1, 0, "datagram of %zu bytes", len);
    if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 5)
        return cl_sflow(&k, src, p, len);
    switch (cl_be16(p)) {
    case 5: return cl_nf5(&k, src, p, len);
    case 9: return cl_nf9(&k, src, p, len);
    case 10: return cl_ipfix(&k, src, p, len);
    default:
        return cl_bad(&k, FL_BAD_VERSION, -1, 0, "unknown export version %u", cl_be16(p));
    }
}
