/*
 * cli/serve_demo.c — the demo of `flowlens serve --demo` on the real store.
 *
 * Two parts, both through the real pipeline rather than a side channel:
 * a back-fill that writes a day of generated history into an empty store
 * (as four demo exporters, 127.0.0.1 with observation domains 1-4), and a
 * thread that keeps sending the same exporters' live traffic as IPFIX to
 * the collector's own UDP port on loopback, so the store, the collector and
 * the UI are exercised exactly as with real routers.
 */
#include "cli.h"
#include "gen/gen.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEMO_EXPORTERS 4

/* The store id of demo exporter k (1..4), registered and named on first use. */
static fl_rc demo_exporter_id(fl_store *st, unsigned k, uint16_t *id, fl_err *e)
{
    char name[32];
    fl_rc rc = fl_store_exporter_id(st, fl_addr_from_v4(0x7f000001u), k, id, e);

    if (rc != FL_OK)
        return rc;
    snprintf(name, sizeof name, "demo-router-%u", k);
    return fl_store_exporter_update(st, *id, name, 1, e);
}

fl_rc cli_demo_backfill(fl_store *st, uint64_t flows, fl_time end, fl_err *e)
{
    fl_gen_config gc;
    fl_gen *g;
    fl_batch *b = fl_batch_new(0);
    uint16_t ids[DEMO_EXPORTERS + 1] = {0};
    uint64_t durable;
    fl_rc rc = FL_OK;

    if (b == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory for the demo back-fill");
    for (unsigned k = 1; k <= DEMO_EXPORTERS && rc == FL_OK; k++)
        rc = demo_exporter_id(st, k, &ids[k], e);
    fl_gen_config_default(&gc);
    gc.flows = flows;
    gc.end = end;
    gc.start = end - 86400000LL;
    gc.exporters = DEMO_EXPORTERS;
    g = fl_gen_new(&gc);
    if (g == NULL && rc == FL_OK)
        rc = fl_err_set(e, FL_ENOMEM, "out of memory for the demo generator");
    while (rc == FL_OK) {
        uint32_t n;
        fl_batch_clear(b);
        n = fl_gen_next(g, b, b->cap);
        if (n == 0)
            break;
        for (uint32_t r = 0; r < n; r++) {
            uint16_t *x = &FL_U16(b, FL_COL_EXPORTER)[r];
            *x = ids[*x <= DEMO_EXPORTERS ? *x : 1];
        }
        rc = fl_store_append(st, b, e);
    }
    if (rc == FL_OK)
        rc = fl_store_flush(st, &durable, e);
    fl_gen_free(g);
    fl_batch_free(b);
    return rc;
}

struct cli_demo_live {
    pthread_t tid;
    volatile int stop;
    int fd;
    struct sockaddr_in to;
    uint32_t rate;
};

/* Every 250 ms: the flows of the last quarter second, per exporter, as
 * IPFIX datagrams. A fresh generator per tick keeps times at "now". */
static void *live_main(void *arg)
{
    cli_demo_live *d = arg;
    fl_gen_exporter *x[DEMO_EXPORTERS + 1] = {0};
    fl_batch *b = fl_batch_new(0);
    uint32_t *rows = malloc(sizeof *rows * (b ? b->cap : 1));
    uint8_t buf[FL_GEN_DGRAM_MAX];
    uint64_t seed = 1000;

    for (unsigned k = 1; k <= DEMO_EXPORTERS; k++) {
        fl_gen_export_config c;
        memset(&c, 0, sizeof c);
        c.proto = FL_GEN_IPFIX;
        c.exporter = (uint16_t)k;
        c.boot = fl_time_now() - 3600000;
        x[k] = fl_gen_exporter_new(&c);
    }
    while (!d->stop && b && rows) {
        fl_gen_config gc;
        fl_gen *g;
        struct timespec ts = {0, 250 * 1000000L};

        nanosleep(&ts, NULL);
        fl_gen_config_default(&gc);
        gc.seed = ++seed;
        gc.end = fl_time_now() - 2000; /* flows that just ended */
        gc.start = gc.end - 250;
        gc.flows = d->rate / 4 ? d->rate / 4 : 1;
        gc.exporters = DEMO_EXPORTERS;
        g = fl_gen_new(&gc);
        if (g == NULL)
            continue;
        fl_batch_clear(b);
        fl_gen_next(g, b, b->cap);
        fl_gen_free(g);
        for (unsigned k = 1; k <= DEMO_EXPORTERS; k++) {
            uint32_t n = 0, done = 0;
            for (uint32_t r = 0; r < b->n; r++)
                if (FL_U16(b, FL_COL_EXPORTER)[r] == k)
                    rows[n++] = r;
            while (done < n && x[k]) {
                uint32_t used = 0;
                fl_err e;
                size_t len = fl_gen_export_next(x[k], b, rows + done, n - done, buf, sizeof buf,
                                                &used, &e);
                if (used == 0)
                    break;
                if (len > 0)
                    (void)sendto(d->fd, buf, len, 0, (struct sockaddr *)&d->to, sizeof d->to);
                done += used;
            }
        }
    }
    for (unsigned k = 1; k <= DEMO_EXPORTERS; k++)
        fl_gen_exporter_free(x[k]);
    fl_batch_free(b);
    free(rows);
    return NULL;
}

fl_rc cli_demo_live_start(uint16_t port, uint32_t rate, cli_demo_live **out, fl_err *e)
{
    cli_demo_live *d = calloc(1, sizeof *d);

    *out = NULL;
    if (d == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory for the live demo");
    d->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (d->fd < 0) {
        free(d);
        return fl_err_set(e, FL_EIO, "live demo: cannot open a UDP socket");
    }
    d->to.sin_family = AF_INET;
    d->to.sin_port = htons(port);
    d->to.sin_addr.s_addr = htonl(0x7f000001u);
    d->rate = rate;
    if (pthread_create(&d->tid, NULL, live_main, d) != 0) {
        close(d->fd);
        free(d);
        return fl_err_set(e, FL_EIO, "live demo: cannot start its thread");
    }
    *out = d;
    return FL_OK;
}

void cli_demo_live_stop(cli_demo_live *d)
{
    if (d == NULL)
        return;
    d->stop = 1;
    pthread_join(d->tid, NULL);
    close(d->fd);
    free(d);
}
