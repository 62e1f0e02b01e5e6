/*
 * tests/store/store_test_util.h — helpers shared by the store tests:
 * deterministic flows that set every schema column, row comparison, a
 * scratch directory, and the crash tests' writer child.
 */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include "store/store.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t tu_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Column c of row i: cardinality varies by column so every encoding
 * (constant, dictionary, frame of reference, raw) is exercised. */
static inline uint64_t tu_val(uint64_t i, int c)
{
    uint64_t h = tu_mix(i * 131 + (uint64_t)c);
    switch (c % 4) {
    case 0: return h % 3;
    case 1: return h % 200;
    case 2: return h % 70000;
    default: return h;
    }
}

static inline fl_addr tu_addr(uint64_t i, int c, int v6)
{
    uint64_t h = tu_mix(i * 977 + (uint64_t)c);
    if (h % 50 == 0)
        return (fl_addr){0, 0};
    if (v6) {
        uint8_t b[16];
        for (int k = 0; k < 16; k++)
            b[k] = (uint8_t)(tu_mix(h + (uint64_t)k) >> 7);
        b[0] = 0x20;
        b[1] = 0x01;
        return fl_addr_from_v6(b);
    }
    return fl_addr_from_v4((uint32_t)(0x0a000000u + (h % 5000)));
}

/* A flow with every column set; time_first = t; v6 picks the family. */
static inline void tu_flow(fl_flow *f, uint64_t i, fl_time t, int v6)
{
    memset(f, 0, sizeof *f);
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc) TU_SET_##kind(f->ID, FL_COL_##ID);
#define TU_SET_U8(x, c) x = (uint8_t)tu_val(i, c);
#define TU_SET_U16(x, c) x = (uint16_t)tu_val(i, c);
#define TU_SET_U32(x, c) x = (uint32_t)tu_val(i, c);
#define TU_SET_U64(x, c) x = tu_val(i, c);
#define TU_SET_TIME(x, c) x = t + (fl_time)(tu_val(i, c) % 100000);
#define TU_SET_MAC(x, c) x = tu_val(i, c) & 0xffffffffffffULL;
#define TU_SET_ADDR(x, c) x = tu_addr(i, c, v6);
#include "core/schema.def"
#undef FL_COL
    f->TIME_FIRST = t;
    f->EXPORTER = (uint16_t)(1 + i % 4);
}

/* 1 when every column of a and b is equal, else 0 and the column name. */
static inline int tu_flow_eq(const fl_flow *a, const fl_flow *b, const char **col)
{
#define FL_COL(ID, name, kind, tag, stat, ipfix, unit, desc)                             \
    if (memcmp(&a->ID, &b->ID, sizeof a->ID) != 0) {                                    \
        *col = name;                                                                     \
        return 0;                                                                        \
    }
#include "core/schema.def"
#undef FL_COL
    return 1;
}

static inline void tu_tmpdir(char *buf, size_t len, const char *tag)
{
    const char *base = getenv("FL_TEST_OUT");
    snprintf(buf, len, "%s/store-%s-XXXXXX", base ? base : "/tmp", tag);
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

/* Files of dir whose name ends in ext; -1 when dir cannot be read. */
static inline int tu_files_ending(const char *dir, const char *ext)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t el = strlen(ext);
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        n += l > el && strcmp(de->d_name + l - el, ext) == 0;
    }
    closedir(d);
    return n;
}

static inline void tu_rmrf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* The crash tests' writer: run `self writer DIR FIRST` (the test program
 * re-executed as a writer that prints READY, then ACK id per durable
 * batch, then CLOSED id on a clean stop), let it run delay_ms after READY,
 * send it sig, and read its output: *acked = last acknowledged id + 1 (or
 * first), *sent = CLOSED id + 1 (or 0). -1 if it never got ready. */
static inline int tu_run_writer(const char *self, const char *dir, uint64_t first, int delay_ms,
                                int sig, uint64_t *acked, uint64_t *sent)
{
    int pfd[2], status, ready = 0;
    pid_t pid;
    char idbuf[32], line[256];
    FILE *in;

    *acked = first;
    *sent = 0;
    if (pipe(pfd) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)first);
        execl(self, self, "writer", dir, idbuf, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    in = fdopen(pfd[0], "r");
    /* wait for READY (recovery done), bounded by the pipe closing */
    while (!ready && fgets(line, sizeof line, in) != NULL)
        ready = strncmp(line, "READY", 5) == 0;
    if (ready) {
        struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, sig);
    while (fgets(line, sizeof line, in) != NULL) {
        unsigned long long v;
        if (sscanf(line, "ACK %llu", &v) == 1)
            *acked = v + 1;
        else if (sscanf(line, "CLOSED %llu", &v) == 1)
            *sent = v + 1;
    }
    fclose(in);
    waitpid(pid, &status, 0);
    return ready ? 0 : -1;
}

#endif
