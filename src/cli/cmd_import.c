/*
 * cli/cmd_import.c — `flowlens import SRC... [--into STORE]`: nfcapd files
 * into the store.
 *
 * Each SRC is a file, a directory (read recursively, nfcapd.current.*
 * skipped) or an nfdump range dir/first:last. Files are read with the
 * nfdump reader and appended to the store with their exporters mapped to
 * the store's exporter table (file sysids are per file; store ids are per
 * store).
 *
 * Idempotent and resumable through a journal, STORE/import/journal. Before
 * a file's first row, at every checkpoint (every IMPORT_CHECKPOINT_ROWS
 * rows, after flushing the store) and at its end, a line
 * "P <id> <rows> <store_rows>" (progress) or "D <id> <rows> <path>" (done)
 * is appended and fsynced; <store_rows> is how many rows the store held at
 * that point. <id> identifies a file by content (size and a hash of its
 * first and last 64 KiB), so a renamed or copied file is still recognised.
 * A done file is skipped. A file with progress resumes after its
 * checkpointed rows; when its line is the journal's last, rows the store
 * made durable on its own after that checkpoint (slot rollover, a kill -9
 * between checkpoints) are counted from the store's row total and skipped
 * too, so an interrupted import resumes without duplicates. This assumes
 * nothing else wrote to the store in between (the import holds the writer
 * lock while it runs). Ctrl-C stops at the next batch, checkpoints and
 * closes the store cleanly.
 *
 * Built only when the store module is present (src/store/store.h);
 * otherwise the command says it is not built yet.
 */
#include "cli.h"

#if __has_include("store/store.h")

#include "nfdump/nfdump.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_CHECKPOINT_ROWS 1000000u
#define IMPORT_JOURNAL_MAX 1000000u /* entries kept in memory */

typedef struct jentry {
    uint64_t id;
    uint64_t rows;
    uint64_t store_rows; /* store's row total at the checkpoint */
    int done;
} jentry;

typedef struct importer {
    fl_store *store;
    int jfd;
    jentry *j;
    size_t nj, capj;
    uint64_t last_id;     /* id on the journal's last line */
    int last_p;           /* that line is a progress line */
    uint64_t store_rows;  /* rows in the store now (durable after flush) */
    /* totals */
    uint64_t files_done, files_skipped, files_failed, flows, warnings;
    size_t file_i, file_n;
    int tty;
    fl_time t0;
} importer;

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static jentry *jfind(importer *im, uint64_t id)
{
    for (size_t i = 0; i < im->nj; i++)
        if (im->j[i].id == id)
            return &im->j[i];
    return NULL;
}

static jentry *jput(importer *im, uint64_t id)
{
    jentry *x = jfind(im, id);
    if (x != NULL)
        return x;
    if (im->nj >= IMPORT_JOURNAL_MAX)
        return NULL;
    if (im->nj == im->capj) {
        size_t cap = im->capj ? im->capj * 2 : 256;
        jentry *n = realloc(im->j, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        im->j = n;
        im->capj = cap;
    }
    x = &im->j[im->nj++];
    memset(x, 0, sizeof *x);
    x->id = id;
    return x;
}

/* read STORE/import/journal into memory and keep it open for appends */
static int journal_open(importer *im, const char *store_dir, fl_err *e)
{
    char path[4096];
    FILE *fp;
    char line[4200];

    snprintf(path, sizeof path, "%s/import", store_dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fl_err_at(e, FL_EIO, path, 0, -1, "cannot create: %s", strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/import/journal", store_dir);
    fp = fopen(path, "r");
    if (fp != NULL) {
        long ln = 0;
        while (fgets(line, sizeof line, fp) != NULL) {
            char kind;
            unsigned long long id, rows, total = 0;
            int n;
            ln++;
            n = sscanf(line, "%c %llx %llu %llu", &kind, &id, &rows, &total);
            if (n < 3 || (kind != 'P' && kind != 'D') || strchr(line, '\n') == NULL)
                continue; /* a torn last line from a crash: ignored */
            jentry *x = jput(im, id);
            if (x == NULL)
                break;
            x->rows = rows;
            x->store_rows = total;
            x->done = kind == 'D';
            im->last_id = id;
            im->last_p = kind == 'P';
        }
        fclose(fp);
    }
    im->jfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (im->jfd < 0) {
        fl_err_at(e, FL_EIO, path, 0, -1, "cannot open: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int journal_add(importer *im, char kind, uint64_t id, uint64_t rows, const char *path)
{
    char line[4200];
    int n = kind == 'P' ? snprintf(line, sizeof line, "P %016llx %llu %llu\n",
                                   (unsigned long long)id, (unsigned long long)rows,
                                   (unsigned long long)im->store_rows)
                        : snprintf(line, sizeof line, "D %016llx %llu %s\n",
                                   (unsigned long long)id, (unsigned long long)rows, path);
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    if (write(im->jfd, line, (size_t)n) != n || fsync(im->jfd) != 0)
        return -1;
    jentry *x = jput(im, id);
    if (x != NULL) {
        x->rows = rows;
        x->store_rows = im->store_rows;
        x->done = kind == 'D';
    }
    im->last_id = id;
    im->last_p = kind == 'P';
    return 0;
}

/* content identity: size + FNV-1a over the first and last 64 KiB */
static int file_id(const char *path, uint64_t *out)
{
    uint8_t buf[65536];
    struct stat st;
    uint64_t h = 1469598103934665603ULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    for (int part = 0; part < 2; part++) {
        off_t at = part == 0 ? 0 : (st.st_size > (off_t)sizeof buf ? st.st_size - (off_t)sizeof buf : 0);
        n = pread(fd, buf, sizeof buf, at);
        for (ssize_t i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 1099511628211ULL;
        }
    }
    h ^= (uint64_t)st.st_size;
    h *= 1099511628211ULL;
    close(fd);
    *out = h;
    return 0;
}

static void progress(importer *im, const char *path, uint64_t rows_file)
{
    double secs;
    int width = 30, fill;

    if (!im->tty)
        return;
    secs = (double)(fl_time_now() - im->t0) / 1000.0;
    fill = im->file_n ? (int)((double)im->file_i * width / (double)im->file_n) : width;
    fprintf(stderr, "\r[%.*s%.*s] %zu/%zu files  %llu flows  %.0f flows/s  %-30.30s", fill,
            "##############################", width - fill, "..............................",
            im->file_i, im->file_n, (unsigned long long)(im->flows + rows_file),
            secs > 0 ? (double)(im->flows + rows_file) / secs : 0.0,
            strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
}

/* drop the first k rows of b (resume inside a file) */
static void drop_rows(fl_batch *b, uint32_t k)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        unsigned w = fl_col_get((fl_col)c)->width;
        uint8_t *p = b->col[c];
        memmove(p, p + (size_t)k * w, (size_t)(b->n - k) * w);
        memset(p + (size_t)(b->n - k) * w, 0, (size_t)k * w);
    }
    b->n -= k;
}

static void warn_cb(void *ctx, const fl_err *w)
{
    importer *im = ctx;
    char buf[900];
    fl_err_format(w, buf, sizeof buf);
    fprintf(stderr, "%sflowlens import: warning: %s\n", im->tty ? "\n" : "", buf);
    im->warnings++;
}

/* map the file's exporter sysids in b to store exporter ids */
static fl_rc map_exporters(importer *im, const fl_nfdump_file *f, fl_batch *b, uint16_t *cache,
                           uint8_t *known, fl_err *e)
{
    uint16_t *col = FL_U16(b, FL_COL_EXPORTER);
    for (uint32_t r = 0; r < b->n; r++) {
        uint16_t sys = col[r];
        if (!known[sys]) {
            const fl_nfdump_exporter *x = fl_nfdump_exporter_get(f, sys);
            fl_addr a = x ? x->addr : (fl_addr){0, 0};
            uint32_t dom = x ? x->id : sys;
            uint16_t id;
            fl_store_exporter se;
            fl_rc rc = fl_store_exporter_id(im->store, a, dom, &id, e);
            if (rc != FL_OK)
                return rc;
            /* carry the file's default sampling over, keeping the name */
            if (x != NULL && x->sampling != 0 &&
                fl_store_exporter_get(im->store, id, &se) == FL_OK && se.sampling != x->sampling &&
                fl_store_exporter_update(im->store, id, se.name, x->sampling, e) != FL_OK)
                return e->rc;
            cache[sys] = id;
            known[sys] = 1;
        }
        col[r] = cache[sys];
    }
    fl_batch_mark(b, FL_COL_EXPORTER);
    return FL_OK;
}

/* import one file; returns 0 ok/skipped, -1 failed (warned), -2 fatal */
static int import_file(importer *im, const char *path, fl_batch *b, uint16_t *cache,
                       uint8_t *known)
{
    uint64_t id, rows = 0, skip = 0, skip0 = 0, since = 0;
    fl_nfdump_file *f = NULL;
    jentry *x;
    fl_err e;
    int ret = 0;

    fl_err_clear(&e);
    if (file_id(path, &id) != 0 || fl_nfdump_open(path, &f, &e) != FL_OK) {
        if (e.msg[0] == 0)
            fl_err_at(&e, FL_EIO, path, 0, -1, "cannot read: %s", strerror(errno));
        warn_cb(im, &e);
        im->files_failed++;
        return -1;
    }
    x = jfind(im, id);
    if (x != NULL && x->done) {
        im->files_skipped++;
        fl_nfdump_close(f);
        return 0;
    }
    if (x != NULL) {
        skip = x->rows;
        /* the interrupted file: rows durable past its last checkpoint */
        if (im->last_p && im->last_id == id && im->store_rows > x->store_rows)
            skip += im->store_rows - x->store_rows;
    }
    skip0 = skip;
    if (journal_add(im, 'P', id, skip, NULL) != 0) {
        fl_err_at(&e, FL_EIO, "import journal", 0, -1, "cannot write: %s", strerror(errno));
        warn_cb(im, &e);
        fl_nfdump_close(f);
        return -2;
    }
    memset(known, 0, 65536);
    for (;;) {
        fl_rc rc = fl_nfdump_read(f, b, &e);
        if (rc != FL_OK) {
            warn_cb(im, &e);
            fl_err_clear(&e);
        }
        if (b->n == 0 && rc == FL_OK)
            break;
        if (b->n == 0)
            continue;
        if (skip > 0) {
            uint32_t k = skip >= b->n ? b->n : (uint32_t)skip;
            rows += k;
            skip -= k;
            if (k == b->n)
                continue;
            drop_rows(b, k);
        }
        if (map_exporters(im, f, b, cache, known, &e) != FL_OK ||
            fl_store_append(im->store, b, &e) != FL_OK) {
            ret = -2;
            break;
        }
        rows += b->n;
        since += b->n;
        im->store_rows += b->n;
        if (since >= IMPORT_CHECKPOINT_ROWS || stop_requested) {
            if (fl_store_flush(im->store, NULL, &e) != FL_OK ||
                journal_add(im, 'P', id, rows, NULL) != 0) {
                ret = -2;
                break;
            }
            since = 0;
            progress(im, path, rows);
        }
        if (stop_requested)
            break;
    }
    if (ret == 0 && !stop_requested) {
        if (fl_store_flush(im->store, NULL, &e) != FL_OK || journal_add(im, 'D', id, rows, path) != 0)
            ret = -2;
        else
            im->files_done++;
    }
    if (ret == -2) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "%sflowlens import: %s\n", im->tty ? "\n" : "", buf);
    }
    im->flows += rows - skip0; /* rows this run added */
    fl_nfdump_close(f);
    return ret;
}

int cmd_import(const cli_cmd *cmd, const cli_args *args)
{
    const char *dir = cli_get(args, "into");
    importer im;
    fl_store_opts so;
    fl_batch *b = NULL;
    uint16_t *cache = NULL;
    uint8_t *known = NULL;
    fl_err e;
    int rc = CLI_EXIT_OK;
    struct sigaction sa;

    if (args->npos == 0)
        return cli_usage_error(cmd, "give at least one nfcapd file, directory or range");
    if (dir == NULL)
        dir = "./var/store";
    memset(&im, 0, sizeof im);
    im.jfd = -1;
    im.tty = isatty(2);
    im.t0 = fl_time_now();
    fl_err_clear(&e);
    fl_store_opts_default(&so);
    so.flush_ms = 3600000; /* the importer flushes at its checkpoints */
    so.by_addr = !cli_has(args, "no-by-address");
    if (fl_store_open(dir, &so, FL_STORE_WRITE, &im.store, &e) != FL_OK ||
        journal_open(&im, dir, &e) != 0) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "flowlens import: %s\n", buf);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    {
        fl_store_seginfo *segs = NULL;
        size_t nseg = 0;
        if (fl_store_list(im.store, 0, 0, NULL, 0, &segs, &nseg, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens import: %s\n", buf);
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        for (size_t i = 0; i < nseg; i++)
            im.store_rows += segs[i].rows;
        free(segs);
    }
    b = fl_batch_new(0);
    cache = calloc(65536, sizeof *cache);
    known = calloc(65536, 1);
    if (b == NULL || cache == NULL || known == NULL) {
        fprintf(stderr, "flowlens import: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (int i = 0; i < args->npos && !stop_requested && rc == CLI_EXIT_OK; i++) {
        const char *src = args->pos[i];
        fl_nfdump_spec spec = {NULL, NULL, NULL};
        fl_nfdump_sel *sel = NULL;
        if (strchr(src, ':') != NULL)
            spec.range = src;
        else
            spec.read = src;
        if (fl_nfdump_select(&spec, warn_cb, &im, &sel, &e) != FL_OK) {
            char buf[900];
            fl_err_format(&e, buf, sizeof buf);
            fprintf(stderr, "flowlens import: %s: %s\n", src, buf);
            rc = CLI_EXIT_FAIL;
            break;
        }
        im.file_n = fl_nfdump_sel_count(sel);
        for (size_t k = 0; k < im.file_n && !stop_requested; k++) {
            const char *path = fl_nfdump_sel_path(sel, k);
            im.file_i = k;
            progress(&im, path, 0);
            if (import_file(&im, path, b, cache, known) == -2) {
                rc = CLI_EXIT_FAIL;
                break;
            }
            im.file_i = k + 1;
            progress(&im, path, 0);
        }
        fl_nfdump_sel_free(sel);
    }
out:
    if (im.store != NULL && fl_store_close(im.store, &e) != FL_OK) {
        char buf[900];
        fl_err_format(&e, buf, sizeof buf);
        fprintf(stderr, "flowlens import: closing the store: %s\n", buf);
        rc = CLI_EXIT_FAIL;
    }
    if (im.jfd >= 0)
        close(im.jfd);
    if (im.store != NULL || rc == CLI_EXIT_OK) {
        double secs = (double)(fl_time_now() - im.t0) / 1000.0;
        fprintf(stderr,
                "%simported %llu files, %llu flows in %.1f s (%.0f flows/s); %llu already "
                "imported, %llu failed, %llu warnings%s\n",
                im.tty ? "\n" : "", (unsigned long long)im.files_done,
                (unsigned long long)im.flows, secs, secs > 0 ? (double)im.flows / secs : 0.0,
                (unsigned long long)im.files_skipped, (unsigned long long)im.files_failed,
                (unsigned long long)im.warnings,
                stop_requested ? "; interrupted: run the same command again to resume" : "");
    }
    if (stop_requested && rc == CLI_EXIT_OK)
        rc = 130;
    free(im.j);
    free(cache);
    free(known);
    fl_batch_free(b);
    return rc;
}

#else /* no store module in this tree */

int cmd_import(const cli_cmd *cmd, const cli_args *args)
{
    return cmd_not_built(cmd, args);
}

#endif
