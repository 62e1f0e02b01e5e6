/*
 * fuzz/fuzz_http_stats.c — the collector statistics file as /api/v1/exporters
 * reads it (http_stats_parse) on arbitrary bytes. Invariants: no crash, no
 * leak; always a status object whose "status" is ok or malformed; the index
 * is an object of objects each carrying its integer store_id.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *server = NULL, *idx = NULL, *v;
    json_t *st = http_stats_parse((const char *)data, size, &server, &idx);
    const char *s = json_string_value(json_object_get(st, "status"));
    const char *k;

    if (st == NULL || s == NULL || (strcmp(s, "ok") != 0 && strcmp(s, "malformed") != 0))
        abort();
    if (server != NULL && !json_is_object(server))
        abort();
    json_object_foreach(idx, k, v)
        if (!json_is_object(v) || !json_is_integer(json_object_get(v, "store_id")))
            abort();
    json_decref(st);
    json_decref(server);
    json_decref(idx);
    return 0;
}
