/*
 * fuzz/fuzz_collect.h — shared body of the collector's fuzz targets.
 *
 * An input is either a capture (pcap / IPFIX file: every datagram in it is
 * decoded, so seeds from $FLOWLENS_CAPTURES exercise templates then data)
 * or a sequence of datagrams, each prefixed by a 2-byte big-endian length
 * (a length past the end takes the rest). Each target forces its version
 * field so mutations stay inside its decoder. A fresh collector per input
 * keeps runs reproducible. Invariants: no crash, no leak, every row the
 * sink sees has an exporter id the table knows, and flow counts add up.
 */
#ifndef FL_FUZZ_COLLECT_H
#define FL_FUZZ_COLLECT_H

#include "collect/collect.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fz_rows;
static uint16_t fz_max_exporter;

static fl_rc fz_batch(void *ctx, const fl_batch *b)
{
    (void)ctx;
    fz_rows += b->n;
    for (uint32_t i = 0; i < b->n; i++)
        if (FL_U16(b, FL_COL_EXPORTER)[i] > fz_max_exporter)
            fz_max_exporter = FL_U16(b, FL_COL_EXPORTER)[i];
    return FL_OK;
}

/* force: 5, 9, 10 (16-bit version) or 50 (sFlow 32-bit version 5) */
static int fz_run(const uint8_t *data, size_t size, int force)
{
    static int quiet;
    fl_collect_sink sink = {NULL, fz_batch, NULL, NULL, NULL};
    fl_collect *c;
    fl_collect_worker *w;
    fl_err e;
    uint8_t *buf;
    size_t off = 0;
    uint64_t flows = 0;

    if (!quiet) {
        fl_log_set_level(FL_LOG_ERROR);
        quiet = 1;
    }
    fz_rows = 0;
    fz_max_exporter = 0;
    c = fl_collect_new(NULL, &sink, &e);
    w = c ? fl_collect_worker_new_cap(c, 16) : NULL;
    if (w == NULL)
        abort();
    if (size >= 4 && (memcmp(data, "\xd4\xc3\xb2\xa1", 4) == 0 ||
                      memcmp(data, "\xa1\xb2\xc3\xd4", 4) == 0)) {
        fl_collect_read_mem(w, data, size, "fuzz", NULL, NULL, NULL, &e);
    } else {
        while (off + 2 <= size) {
            size_t n = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (n > size - off)
                n = size - off;
            /* an exact-size copy so ASan sees reads past the datagram */
            buf = malloc(n ? n : 1);
            memcpy(buf, data + off, n);
            if (force == 50 && n >= 4)
                memcpy(buf, "\0\0\0\5", 4);
            else if (force != 50 && n >= 2) {
                buf[0] = 0;
                buf[1] = (uint8_t)force;
            }
            fl_err_clear(&e);
            fl_collect_datagram(w, fl_addr_from_v4(0x7f000001), 2055, buf, n, 1700000000000LL,
                                &e);
            free(buf);
            off += n;
        }
    }
    fl_collect_worker_flush(w);
    for (size_t i = 0; i < fl_collect_exporter_count(c); i++) {
        fl_collect_exporter x;
        if (fl_collect_exporter_get(c, i, &x) != FL_OK)
            abort();
        flows += x.stats.flows;
    }
    if (flows != fz_rows || fz_max_exporter > fl_collect_exporter_count(c))
        abort();
    fl_collect_worker_free(w);
    fl_collect_free(c);
    return 0;
}

#endif
