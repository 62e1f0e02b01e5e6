/*
 * fuzz/fuzz_config.c — the configuration parser on arbitrary bytes.
 * Invariants: no crash; every entry has a key and a value.
 */
#include "core/core.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_config *c = NULL;
    fl_err e;

    if (fl_config_parse((const char *)data, size, "fuzz", &c, &e) == FL_OK) {
        for (size_t i = 0; i < fl_config_count(c); i++) {
            const fl_config_entry *en = fl_config_at(c, i);
            if (en->key[0] == '\0' || en->value == NULL || en->section == NULL)
                abort();
        }
        fl_config_free(c);
    }
    return 0;
}
