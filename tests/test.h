/*
 * tests/test.h — the smallest test harness that does the job.
 *
 * A test program defines TEST(name) functions and lists them in main with
 * RUN(name). Each test prints "PASS name" or "FAIL name: where: what"; the
 * runner (tests/run.sh) counts those lines across every program and prints
 * the closing "N passed, N failed". A CHECK failure ends the current test
 * only; a crash ends the program, which the runner counts as a failure.
 */
#ifndef FL_TEST_H
#define FL_TEST_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_count;
static int test_passed_count;
static jmp_buf test_jmp;
static char test_msg[1024];

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            snprintf(test_msg, sizeof test_msg, "%s:%d: CHECK(%s)", __FILE__, __LINE__, \
                     #cond);                                                           \
            longjmp(test_jmp, 1);                                                      \
        }                                                                              \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        if (va_ != vb_) {                                                              \
            snprintf(test_msg, sizeof test_msg, "%s:%d: %s == %lld, expected %s == %lld", \
                     __FILE__, __LINE__, #a, va_, #b, vb_);                            \
            longjmp(test_jmp, 1);                                                      \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                             \
        if (strcmp(sa_, sb_) != 0) {                                                   \
            snprintf(test_msg, sizeof test_msg, "%s:%d: \"%s\" != expected \"%s\"",    \
                     __FILE__, __LINE__, sa_, sb_);                                    \
            longjmp(test_jmp, 1);                                                      \
        }                                                                              \
    } while (0)

#define TEST(name) static void name(void)

static inline void test_run(const char *name, void (*fn)(void))
{
    if (setjmp(test_jmp) == 0) {
        fn();
        printf("PASS %s\n", name);
        test_passed_count++;
    } else {
        printf("FAIL %s: %s\n", name, test_msg);
        test_failed_count++;
    }
    fflush(stdout);
}
#define RUN(name) test_run(#name, name)
#define TEST_EXIT() return test_failed_count ? 1 : 0

#endif
