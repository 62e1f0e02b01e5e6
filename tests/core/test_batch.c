/* tests/core/test_batch.c — batches, selection vectors, arenas, errors. */
#include "core/core.h"
#include "test.h"

TEST(append_get_roundtrip_every_column)
{
    fl_batch *b = fl_batch_new(8);
    fl_flow f, g;

    CHECK(b != NULL);
    CHECK_EQ_INT(b->cap, 8);
    memset(&f, 0, sizeof f);
    /* a distinct non-zero value in every column */
    for (int c = 0; c < FL_COL_COUNT; c++)
        CHECK(!fl_batch_has(b, (fl_col)c));
    f.TIME_FIRST = 1700000000123;
    f.SRC_ADDR = fl_addr_from_v4(0x0a000001);
    f.DST_ADDR.hi = 0x20010db800000000ULL;
    f.DST_ADDR.lo = 1;
    f.SRC_PORT = 443;
    f.PROTO = 6;
    f.BYTES = 1ULL << 40;
    f.IN_SRC_MAC = 0x001122334455ULL;
    CHECK(fl_batch_append(b, &f) == FL_OK);
    CHECK_EQ_INT(b->n, 1);
    CHECK(fl_batch_has(b, FL_COL_SRC_PORT));
    CHECK(fl_batch_has(b, FL_COL_IN_SRC_MAC));
    CHECK(!fl_batch_has(b, FL_COL_DST_PORT));
    fl_batch_get(b, 0, &g);
    CHECK(memcmp(&f, &g, sizeof f) == 0);
    CHECK_EQ_INT(FL_U16(b, FL_COL_SRC_PORT)[0], 443);
    CHECK_EQ_INT(fl_batch_get_u64(b, FL_COL_BYTES, 0), 1ULL << 40);
    CHECK_EQ_INT(fl_batch_get_u64(b, FL_COL_TIME_FIRST, 0), 1700000000123LL);
    fl_batch_free(b);
}

TEST(full_batch_refuses_and_clear_rezeroes)
{
    fl_batch *b = fl_batch_new(4);
    fl_flow f;

    memset(&f, 0, sizeof f);
    f.DST_PORT = 53;
    for (int i = 0; i < 4; i++)
        CHECK(fl_batch_append(b, &f) == FL_OK);
    CHECK(fl_batch_append(b, &f) == FL_ELIMIT);
    CHECK_EQ_INT(fl_batch_add_row(b), -1);
    fl_batch_clear(b);
    CHECK_EQ_INT(b->n, 0);
    CHECK(!fl_batch_has(b, FL_COL_DST_PORT));
    CHECK_EQ_INT(fl_batch_add_row(b), 0);
    CHECK_EQ_INT(FL_U16(b, FL_COL_DST_PORT)[0], 0); /* new rows are zero */
    fl_batch_set_u64(b, FL_COL_DST_PORT, 0, 80);
    CHECK(fl_batch_has(b, FL_COL_DST_PORT));
    fl_batch_free(b);
    fl_batch_free(NULL);
}

TEST(columns_are_aligned_and_disjoint)
{
    fl_batch *b = fl_batch_new(0);
    CHECK_EQ_INT(b->cap, FL_BATCH_CAP);
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned char *p = b->col[c];
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, (size_t)fl_col_get((fl_col)c)->width * b->cap); /* ASan checks bounds */
    }
    for (int c = 0; c + 1 < FL_COL_COUNT; c++)
        CHECK((unsigned char *)b->col[c] + (size_t)fl_col_get((fl_col)c)->width * b->cap <=
              (unsigned char *)b->col[c + 1]);
    fl_batch_free(b);
}

TEST(selection_vector)
{
    fl_batch *b = fl_batch_new(16);
    fl_sel *s = fl_sel_new(16);
    for (int i = 0; i < 10; i++)
        fl_batch_add_row(b);
    fl_sel_all(s, b);
    CHECK_EQ_INT(s->n, 10);
    CHECK_EQ_INT(s->idx[9], 9);
    fl_sel_free(s);
    fl_sel_free(NULL);
    fl_batch_free(b);
}

TEST(arena_allocates_aligned_and_bounded)
{
    fl_arena *a = fl_arena_new(256 * 1024);
    char *s;
    void *p;

    for (int i = 0; i < 100; i++) {
        p = fl_arena_alloc(a, (size_t)i * 13 + 1);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 1, (size_t)i * 13 + 1);
    }
    s = fl_arena_strndup(a, "hello world", 5);
    CHECK_STR(s, "hello");
    CHECK(fl_arena_alloc(a, 1024 * 1024) == NULL); /* over the maximum */
    CHECK(fl_arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
    p = fl_arena_calloc(a, 10, 10);
    CHECK(p != NULL && ((char *)p)[99] == 0);
    fl_arena_reset(a);
    CHECK_EQ_INT(fl_arena_used(a), 0);
    /* after reset the arena is usable up to its maximum again */
    for (int i = 0; i < 30; i++)
        CHECK(fl_arena_alloc(a, 4096) != NULL);
    fl_arena_free(a);
    fl_arena_free(NULL);
}

TEST(errors_have_text_and_position)
{
    fl_err e;
    char buf[700];

    for (int rc = 0; rc < FL_RC_COUNT; rc++)
        CHECK(strcmp(fl_strerror((fl_rc)rc), "unknown error") != 0);
    CHECK_STR(fl_strerror((fl_rc)999), "unknown error");
    CHECK(fl_err_at(&e, FL_EPARSE, "filter", 1, 17, "unknown keyword '%s'", "prot") == FL_EPARSE);
    fl_err_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "filter:1:17: unknown keyword 'prot'");
    fl_err_set(&e, FL_EIO, "disk gone");
    fl_err_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "disk gone");
    CHECK(fl_err_set(NULL, FL_ENOMEM, "x") == FL_ENOMEM);
}

TEST(log_levels)
{
    CHECK_EQ_INT(fl_log_level_parse("debug"), FL_LOG_DEBUG);
    CHECK_EQ_INT(fl_log_level_parse("WARN"), FL_LOG_WARN);
    CHECK_EQ_INT(fl_log_level_parse("loud"), -1);
    fl_log_set_level(FL_LOG_ERROR);
    CHECK_EQ_INT(fl_log_get_level(), FL_LOG_ERROR);
    fl_log_info("not shown");
    fl_log_set_level(FL_LOG_INFO);
}

int main(void)
{
    RUN(append_get_roundtrip_every_column);
    RUN(full_batch_refuses_and_clear_rezeroes);
    RUN(columns_are_aligned_and_disjoint);
    RUN(selection_vector);
    RUN(arena_allocates_aligned_and_bounded);
    RUN(errors_have_text_and_position);
    RUN(log_levels);
    TEST_EXIT();
}
