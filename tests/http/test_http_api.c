/*
 * tests/http/test_http_api.c — the JSON API over HTTP.
 *
 * Starts the real `flowlens serve` ($FL_BIN) on a free loopback port with a
 * fixed demo data set (seed, size and end time given), talks HTTP to it
 * over a socket, and compares every query's "result" with what the query
 * engine prints (-o json / -o csv) for the same spec over the same flows,
 * generated here with the same arguments. Then every error path. Limits
 * that need a slow backend (time limit, busy, progress, cancel) run against
 * an in-process server (fl_http_start) whose source sleeps per batch.
 * Servers are stopped by PID.
 */
#include "test.h"
#include "filter/filter.h"
#include "http/http.h"
#include "query/query.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEMO_FLOWS 200000
#define DEMO_SEED 7
#define DEMO_END_TXT "2024-05-01T00:00:00Z"
#define DEMO_END 1714521600000LL
#define H12 (12LL * 3600000)

static fl_http_demo *demo;
static int port_a, port_b; /* normal server, --memory 1 server */
static pid_t pid_a, pid_b;

/* ------------------------------------------------------------------ */
/* server process                                                      */
/* ------------------------------------------------------------------ */

static pid_t start_server(const char *extra, int *port)
{
    int fd[2];
    pid_t pid;
    char buf[4096];
    size_t len = 0;
    const char *bin = getenv("FL_BIN");

    *port = 0;
    if (bin == NULL || pipe(fd) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (extra)
            execl(bin, bin, "serve", "--store", "/nonexistent/flowlens-store", "--http", "127.0.0.1:0", "--demo-flows", "200000",
                  "--demo-seed", "7", "--demo-end", DEMO_END_TXT, "--log-level", "warn", extra,
                  (char *)NULL);
        else
            execl(bin, bin, "serve", "--store", "/nonexistent/flowlens-store", "--http", "127.0.0.1:0", "--demo-flows", "200000",
                  "--demo-seed", "7", "--demo-end", DEMO_END_TXT, "--log-level", "warn",
                  (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* wait (bounded: 120 s) for "listening on http://127.0.0.1:PORT/" */
    for (int i = 0; i < 1200 && *port == 0; i++) {
        struct pollfd p = {fd[0], POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = read(fd[0], buf + len, sizeof buf - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
            const char *s = strstr(buf, "listening on http://127.0.0.1:");
            if (s && strchr(s + 30, '/'))
                *port = atoi(s + 30);
        }
    }
    close(fd[0]);
    return pid;
}

static void stop_server(pid_t pid)
{
    int st;
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, &st, 0);
    }
}

/* ------------------------------------------------------------------ */
/* a small HTTP/1.1 client                                             */
/* ------------------------------------------------------------------ */

typedef struct resp {
    int status;
    char *body;
    size_t len;
    char ctype[128];
    char cache[16];
} resp;

static void resp_free(resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int http(int port, const char *method, const char *path, const char *body, size_t blen,
                resp *r)
{
    struct sockaddr_in sa;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char head[4096];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int n;

    memset(r, 0, sizeof *r);
    if (s < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(s);
        return -1;
    }
    n = snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%zu\r\n\r\n",
                 method, path, "Content-Type: application/json\r\nContent-Length: ", blen);
    if (write(s, head, (size_t)n) != n || (blen && write(s, body, blen) != (ssize_t)blen)) {
        /* the server may answer 413 and close before the body is sent */
    }
    for (int i = 0; i < 100000; i++) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            buf = realloc(buf, cap);
        }
        ssize_t k = read(s, buf + len, cap - len - 1);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(s);
    if (buf == NULL)
        return -1;
    buf[len] = '\0';
    char *eoh = strstr(buf, "\r\n\r\n");
    if (eoh == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    *eoh = '\0';
    const char *ct = strcasestr(buf, "\r\nContent-Type: ");
    if (ct)
        sscanf(ct + 16, "%127[^\r]", r->ctype);
    const char *xc = strcasestr(buf, "\r\nX-Flowlens-Cache: ");
    if (xc)
        sscanf(xc + 20, "%15[^\r]", r->cache);
    r->len = len - (size_t)(eoh + 4 - buf);
    r->body = malloc(r->len + 1);
    memcpy(r->body, eoh + 4, r->len);
    r->body[r->len] = '\0';
    free(buf);
    return 0;
}

static json_t *http_json(int port, const char *method, const char *path, const char *body,
                         int *status)
{
    resp r;
    json_t *j;
    if (http(port, method, path, body, body ? strlen(body) : 0, &r) != 0)
        return NULL;
    *status = r.status;
    j = json_loadb(r.body, r.len, 0, NULL);
    resp_free(&r);
    return j;
}

/* ------------------------------------------------------------------ */
/* the engine's answer for a spec over the same flows                  */
/* ------------------------------------------------------------------ */

typedef struct expsel {
    uint16_t lo, hi;
} expsel;

static fl_rc exp_select(void *ctx, const fl_batch *b, fl_sel *sel, fl_err *e)
{
    expsel *x = ctx;
    uint32_t k = 0;
    (void)e;
    for (uint32_t i = 0; i < sel->n; i++) {
        uint16_t id = FL_U16(b, FL_COL_EXPORTER)[sel->idx[i]];
        if (id >= x->lo && id <= x->hi)
            sel->idx[k++] = sel->idx[i];
    }
    sel->n = k;
    return FL_OK;
}

/* Render spec over the demo flows with the engine's one-pass plan (the
 * source offers no rewind: the API's topseries takes the two-pass plan,
 * so every topseries comparison checks one against the other); returns
 * malloc'd text. */
static char *engine(const fl_query_spec *spec, fl_render_fmt fmt, int flags, uint64_t skip)
{
    fl_http_backend be = fl_http_demo_backend(demo);
    fl_source src;
    uint64_t est;
    fl_qresult *res = NULL;
    fl_err e;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    fl_err_clear(&e);
    if (be.open(be.ctx, spec, NULL, NULL, &src, &est, &e) != FL_OK)
        return NULL;
    src.rewind = NULL;
    if (fl_query_run(spec, src, &res, &e) != FL_OK) {
        be.close(be.ctx, src.ctx);
        fprintf(stderr, "engine: %s\n", e.msg);
        return NULL;
    }
    be.close(be.ctx, src.ctx);
    if (skip && res->list) {
        /* rows [skip, n) as the API pages them */
        fl_batch *b = res->list;
        for (int c = 0; c < FL_COL_COUNT; c++) {
            size_t w = fl_col_get((fl_col)c)->width;
            memmove(b->col[c], (char *)b->col[c] + w * skip, w * (b->n - skip));
        }
        b->n -= (uint32_t)skip;
    }
    f = open_memstream(&out, &len);
    fl_query_render(spec, res, fmt, flags, f, &e);
    fclose(f);
    fl_qresult_free(res);
    return out;
}

/* Compare JSON a (API) with b (engine); numbers within a relative 1e-9
 * (series sums are added in thread order). */
static int json_close(json_t *a, json_t *b, char *why, size_t wl)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        if (fabs(x - y) <= 1e-9 * fmax(1.0, fmax(fabs(x), fabs(y))))
            return 1;
        snprintf(why, wl, "%.17g != %.17g", x, y);
        return 0;
    }
    if (json_typeof(a) != json_typeof(b)) {
        snprintf(why, wl, "type %d != %d", json_typeof(a), json_typeof(b));
        return 0;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            snprintf(why, wl, "array size %zu != %zu", json_array_size(a), json_array_size(b));
            return 0;
        }
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_close(json_array_get(a, i), json_array_get(b, i), why, wl))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) {
            snprintf(why, wl, "object size differs");
            return 0;
        }
        json_object_foreach(a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (w == NULL) {
                snprintf(why, wl, "key %s missing", k);
                return 0;
            }
            if (!json_close(v, w, why, wl))
                return 0;
        }
        return 1;
    }
    if (!json_equal(a, b)) {
        snprintf(why, wl, "values differ");
        return 0;
    }
    return 1;
}

/* POST body to /api/v1/query and check its "result" equals the engine's
 * JSON for spec. Returns the API response (caller decrefs). */
static json_t *check_query(const char *body, const fl_query_spec *spec, uint64_t skip)
{
    int st = 0;
    json_t *j = http_json(port_a, "POST", "/api/v1/query", body, &st);
    char *text = engine(spec, FL_FMT_JSON, FL_RENDER_UTC, skip), why[256] = "";
    json_t *want = text ? json_loads(text, 0, NULL) : NULL;

    free(text);
    if (j == NULL || st != 200 || want == NULL) {
        fprintf(stderr, "status %d for %s\n", st, body);
        json_decref(j);
        json_decref(want);
        CHECK(!"query failed");
    }
    int ok = json_close(json_object_get(j, "result"), want, why, sizeof why);
    if (!ok)
        fprintf(stderr, "result differs for %s: %s\n", body, why);
    json_decref(want);
    if (!ok)
        json_decref(j);
    CHECK(ok);
    return j;
}

static void spec_window(fl_query_spec *s, fl_time start, fl_time end)
{
    s->start = start;
    s->end = end;
}

/* ------------------------------------------------------------------ */
/* endpoints                                                           */
/* ------------------------------------------------------------------ */

TEST(server_started)
{
    CHECK(pid_a > 0);
    CHECK(port_a > 0);
    CHECK(pid_b > 0);
    CHECK(port_b > 0);
}

TEST(capabilities)
{
    int st;
    json_t *j = http_json(port_a, "GET", "/api/v1/capabilities", NULL, &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    json_t *dims = json_object_get(j, "dimensions");
    int has_srcip = 0, has_dstport = 0;
    size_t i;
    json_t *v;
    json_array_foreach(dims, i, v)
    {
        has_srcip |= strcmp(json_string_value(v), "srcip") == 0;
        has_dstport |= strcmp(json_string_value(v), "dstport") == 0;
    }
    CHECK(has_srcip && has_dstport);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "metrics")), 7);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "orders")), 8);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "window_modes")), 4);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "ops")), 6);
    CHECK_STR(json_string_value(json_object_get(j, "backend")), "demo");
    /* serve plugs the filter module in */
    CHECK(json_is_true(json_object_get(json_object_get(j, "filter"), "available")));
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "limits"), "max_body")), 65536);
    json_decref(j);
}

TEST(exporters)
{
    int st;
    uint64_t sum = 0;
    json_t *j = http_json(port_a, "GET", "/api/v1/exporters", NULL, &st), *v;
    size_t i;
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    json_t *a = json_object_get(j, "exporters");
    CHECK(json_array_size(a) >= 2);
    json_array_foreach(a, i, v)
    {
        sum += (uint64_t)json_integer_value(json_object_get(v, "flows"));
        CHECK(json_integer_value(json_object_get(v, "last_seen")) >=
              json_integer_value(json_object_get(v, "first_seen")));
        CHECK(json_string_value(json_object_get(v, "name"))[0] != '\0');
    }
    CHECK_EQ_INT(sum, DEMO_FLOWS);
    json_decref(j);
}

TEST(static_page)
{
    resp r;
    CHECK(http(port_a, "GET", "/", NULL, 0, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.ctype, "text/html") != NULL);
    CHECK(strstr(r.body, "flowlens") != NULL);
    /* works offline: no resource from another host */
    CHECK(strstr(r.body, "src=\"http") == NULL && strstr(r.body, "href=\"http") == NULL);
    resp_free(&r);
    CHECK(http(port_a, "GET", "/vendor/uPlot.iife.min.js", NULL, 0, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.body, "uPlot") != NULL);
    CHECK(r.len > 20000);
    resp_free(&r);
    CHECK(http(port_a, "GET", "/app.js", NULL, 0, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.ctype, "javascript") != NULL);
    resp_free(&r);
    CHECK(http(port_a, "GET", "/nope.html", NULL, 0, &r) == 0);
    CHECK_EQ_INT(r.status, 404);
    resp_free(&r);
    CHECK(http(port_a, "POST", "/", "x", 1, &r) == 0);
    CHECK_EQ_INT(r.status, 405);
    resp_free(&r);
}

/* ------------------------------------------------------------------ */
/* results equal the engine's for the same spec                        */
/* ------------------------------------------------------------------ */

TEST(query_stats_equals_engine)
{
    fl_query_spec s;
    fl_err e;
    char body[512];
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcip/bytes", &e) == FL_OK);
    s.element = "srcip/bytes";
    s.top = 10;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"stats\",\"stat\":\"srcip/bytes\",\"top\":10,\"start\":%lld,\"end\":%lld}",
             DEMO_END - H12, DEMO_END);
    json_t *j = check_query(body, &s, 0);
    CHECK(json_is_false(json_object_get(j, "cached")));
    CHECK(json_integer_value(json_object_get(j, "scanned")) > 0);
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(j, "result"), "rows")), 10);
    json_decref(j);
    /* the same again comes from the cache, with the same result */
    j = check_query(body, &s, 0);
    CHECK(json_is_true(json_object_get(j, "cached")));
    json_decref(j);

    /* GET with the same keys in the query string, window as text */
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "dstport:p/flows", &e) == FL_OK);
    s.element = "dstport:p/flows";
    s.top = 20;
    {
        fl_time_range tr;
        const char *w = "2024-04-30T06:00:00Z..2024-04-30T18:00:00Z";
        CHECK(fl_time_range_parse(w, strlen(w), 0, 0, &tr, &e) == FL_OK);
        spec_window(&s, tr.start, tr.end);
    }
    int st;
    json_t *g = http_json(port_a, "GET",
                          "/api/v1/query?op=stats&stat=dstport:p/flows&top=20&window="
                          "2024-04-30T06:00:00Z..2024-04-30T18:00:00Z",
                          NULL, &st);
    CHECK(g != NULL);
    CHECK_EQ_INT(st, 200);
    char *text = engine(&s, FL_FMT_JSON, FL_RENDER_UTC, 0), why[256];
    json_t *want = json_loads(text, 0, NULL);
    free(text);
    int ok = json_close(json_object_get(g, "result"), want, why, sizeof why);
    json_decref(want);
    json_decref(g);
    CHECK(ok);
}

TEST(query_aggregate_summary_equal_engine)
{
    fl_query_spec s;
    fl_err e;
    char body[512];
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_aggregate(&s, "srcip,dstport,proto", &e) == FL_OK);
    CHECK(fl_query_parse_order("bytes", &s.order, &e) == FL_OK);
    s.top = 15;
    s.limit = 15;
    spec_window(&s, DEMO_END - 2 * H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"aggregate\",\"aggregate\":\"srcip,dstport,proto\",\"order\":\"bytes\","
             "\"top\":15,\"limit\":15,\"start\":%lld,\"end\":%lld}",
             DEMO_END - 2 * H12, DEMO_END);
    json_decref(check_query(body, &s, 0));

    fl_query_spec_init(&s);
    s.op = FL_QOP_SUMMARY;
    json_t *j = check_query("{\"op\":\"summary\",\"window\":\"all\"}", &s, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "result"), "flows")),
                 DEMO_FLOWS);
    json_decref(j);
}

TEST(query_series_equal_engine)
{
    fl_query_spec s;
    fl_err e;
    char body[512];

    fl_query_spec_init(&s);
    s.op = FL_QOP_SERIES;
    s.window_mode = FL_WIN_START;
    CHECK(fl_query_parse_metric("bps", &s.metric, &e) == FL_OK);
    s.step = 300000;
    spec_window(&s, DEMO_END - 2 * H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"series\",\"metric\":\"bps\",\"step\":\"5m\",\"start\":%lld,\"end\":%lld}",
             DEMO_END - 2 * H12, DEMO_END);
    json_t *j = check_query(body, &s, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "step")), 300000);
    CHECK_EQ_INT(json_array_size(json_object_get(
                     json_array_get(json_object_get(json_object_get(j, "result"), "series"), 0),
                     "values")),
                 289);
    json_decref(j);

    /* top-N per step (FlowGraph), linear, Other */
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "dstport/bytes", &e) == FL_OK);
    s.element = "dstport/bytes";
    s.op = FL_QOP_TOPSERIES;
    s.window_mode = FL_WIN_START;
    s.metric = FL_METRIC_BYTES;
    s.top = 5;
    s.step = 3600000;
    s.per_step_top = 1;
    s.linear = 1;
    spec_window(&s, DEMO_END - 2 * H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"topseries\",\"stat\":\"dstport/bytes\",\"metric\":\"bytes\",\"top\":5,"
             "\"step\":\"1h\",\"per_step\":true,\"linear\":true,\"start\":%lld,\"end\":%lld}",
             DEMO_END - 2 * H12, DEMO_END);
    j = check_query(body, &s, 0);
    json_t *series = json_object_get(json_object_get(j, "result"), "series");
    CHECK(json_array_size(series) >= 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(series, json_array_size(series) - 1),
                                                "name")),
              "Other");
    json_decref(j);

    /* step auto: a nice step giving at most 400 points */
    snprintf(body, sizeof body, "{\"op\":\"series\",\"start\":%lld,\"end\":%lld}",
             DEMO_END - 2 * H12, DEMO_END);
    int st;
    j = http_json(port_a, "POST", "/api/v1/query", body, &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "step")), 300000);
    json_decref(j);
}

/* topseries over the window (the API: the engine's two-pass plan over a
 * rewound source) equals the engine's one pass: same keys in the same
 * order, same Other. Every case has more keys than N, so Other is drawn
 * and holds traffic. */
static void check_topseries(const char *stat, const char *metric, unsigned top, const char *step,
                            const char *extra, const expsel *exp)
{
    fl_query_spec s;
    fl_err e;
    char body[700];
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, stat, &e) == FL_OK);
    s.element = stat;
    s.op = FL_QOP_TOPSERIES;
    s.window_mode = FL_WIN_START;
    CHECK(fl_query_parse_metric(metric, &s.metric, &e) == FL_OK);
    s.top = top;
    s.step = (fl_time)atoi(step) * (strchr(step, 'h') ? 3600000 : 60000);
    if (exp) {
        s.select = exp_select;
        s.select_ctx = (void *)(uintptr_t)exp;
    }
    spec_window(&s, DEMO_END - 2 * H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"topseries\",\"stat\":\"%s\",\"metric\":\"%s\",\"top\":%u,"
             "\"step\":\"%s\",\"start\":%lld,\"end\":%lld%s}",
             stat, metric, top, step, DEMO_END - 2 * H12, DEMO_END, extra);
    json_t *j = check_query(body, &s, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "matched")),
                 json_integer_value(json_object_get(j, "total") ? json_object_get(json_object_get(j, "total"), "flows") : NULL));
    {
        json_t *series = json_object_get(json_object_get(j, "result"), "series");
        json_t *other = json_array_get(series, json_array_size(series) - 1), *v;
        double sum = 0;
        size_t i;
        CHECK_EQ_INT(json_array_size(series), top + 1);
        CHECK_STR(json_string_value(json_object_get(other, "name")), "Other");
        json_array_foreach(json_object_get(other, "values"), i, v) sum += json_number_value(v);
        CHECK(sum > 0);
    }
    json_decref(j);
}

TEST(query_topseries_two_pass_equals_one_pass)
{
    expsel x = {2, 3};
    check_topseries("srcip/bytes", "bps", 10, "5m", "", NULL);
    check_topseries("dstport/flows", "flows", 5, "1h", "", NULL);
    check_topseries("proto/packets", "pps", 3, "15m", ",\"exporters\":[2,3]", &x);
    check_topseries("dstas/bytes", "bytes", 8, "1h", "", NULL);
}

TEST(query_list_paging_equal_engine)
{
    fl_query_spec s;
    fl_err e;
    char body[512];
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_order("bytes", &s.order, &e) == FL_OK);
    s.limit = 50;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"list\",\"order\":\"bytes\",\"limit\":50,\"start\":%lld,\"end\":%lld}",
             DEMO_END - H12, DEMO_END);
    json_t *j = check_query(body, &s, 0);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "result")), 50);
    json_decref(j);
    /* page 2 of 20: rows 30..49 of the same ordering */
    snprintf(body, sizeof body,
             "{\"op\":\"list\",\"order\":\"bytes\",\"limit\":20,\"offset\":30,\"start\":%lld,"
             "\"end\":%lld}",
             DEMO_END - H12, DEMO_END);
    j = check_query(body, &s, 30);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "result")), 20);
    json_decref(j);
    /* time order (no -O), the bounded listing of the engine */
    fl_query_spec_init(&s);
    s.limit = 100;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    snprintf(body, sizeof body, "{\"op\":\"list\",\"limit\":100,\"start\":%lld,\"end\":%lld}",
             DEMO_END - H12, DEMO_END);
    json_decref(check_query(body, &s, 0));
}

/* the engine's bounded listing (-c, compacted and cut while scanning)
 * equals sorting every flow and taking the first -c: the same order values
 * row by row (rows with equal values may come from different threads in
 * either order, as in any threaded run) */
static int list_values(const fl_query_spec *s, fl_order o, uint64_t *v, size_t max, size_t *n)
{
    fl_http_backend be = fl_http_demo_backend(demo);
    fl_source src;
    uint64_t est;
    fl_qresult *res = NULL;
    fl_err e;
    if (be.open(be.ctx, s, NULL, NULL, &src, &est, &e) != FL_OK)
        return -1;
    fl_rc rc = fl_query_run(s, src, &res, &e);
    be.close(be.ctx, src.ctx);
    if (rc != FL_OK)
        return -1;
    *n = 0;
    for (uint32_t r = 0; res->list && r < res->list->n && *n < max; r++) {
        fl_qcounters c;
        memset(&c, 0, sizeof c);
        c.flows = 1;
        c.packets = FL_U64(res->list, FL_COL_PACKETS)[r];
        c.bytes = FL_U64(res->list, FL_COL_BYTES)[r];
        c.first = FL_TIMES(res->list, FL_COL_TIME_FIRST)[r];
        c.last = FL_TIMES(res->list, FL_COL_TIME_LAST)[r];
        v[(*n)++] = fl_qrow_order_value(&c, o);
    }
    fl_qresult_free(res);
    return 0;
}

static int list_cut_same(const char *order, int ascending, unsigned threads)
{
    fl_query_spec s;
    fl_err e;
    uint64_t a[40], b[40];
    size_t na = 0, nb = 0;
    fl_order o = FL_ORDER_TSTART;
    fl_query_spec_init(&s);
    if (order && fl_query_parse_order(order, &s.order, &e) != FL_OK)
        return 0;
    if (order)
        o = s.order;
    s.ascending = ascending;
    s.threads = 1;
    s.order = o; /* ORDER_NONE over several threads is restored to time order */
    if (list_values(&s, o, a, 40, &na) != 0)
        return 0;
    s.order = order ? o : FL_ORDER_NONE;
    s.limit = 40;
    s.threads = threads;
    if (list_values(&s, o, b, 40, &nb) != 0)
        return 0;
    return na == 40 && nb == 40 && memcmp(a, b, sizeof a) == 0;
}

TEST(list_compaction_matches_full_sort)
{
    CHECK(list_cut_same("packets", 0, 2));
    CHECK(list_cut_same("bytes", 0, 2));
    CHECK(list_cut_same("bytes", 1, 2));
    CHECK(list_cut_same("tstart", 0, 2));
    CHECK(list_cut_same("tend", 1, 2));
    CHECK(list_cut_same("bps", 0, 2));
    CHECK(list_cut_same(NULL, 0, 2));
    CHECK(list_cut_same("bytes", 0, 1));
}

TEST(query_exporters_select)
{
    fl_query_spec s;
    fl_err e;
    expsel x = {1, 2};
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "proto/flows", &e) == FL_OK);
    s.element = "proto/flows";
    s.select = exp_select;
    s.select_ctx = &x;
    json_t *j = check_query("{\"op\":\"stats\",\"stat\":\"proto/flows\",\"exporters\":[1,2]}", &s, 0);
    json_decref(j);
    int st;
    j = http_json(port_a, "GET", "/api/v1/query?op=summary&exporters=1,2", NULL, &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    CHECK(json_integer_value(json_object_get(j, "matched")) < DEMO_FLOWS);
    CHECK(json_integer_value(json_object_get(j, "matched")) > 0);
    json_decref(j);
}

TEST(query_csv_equals_engine)
{
    fl_query_spec s;
    fl_err e;
    resp r;
    char body[512];
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "dstip/packets", &e) == FL_OK);
    s.element = "dstip/packets";
    s.top = 25;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"stats\",\"stat\":\"dstip/packets\",\"top\":25,\"format\":\"csv\","
             "\"start\":%lld,\"end\":%lld}",
             DEMO_END - H12, DEMO_END);
    CHECK(http(port_a, "POST", "/api/v1/query", body, strlen(body), &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strstr(r.ctype, "text/csv") != NULL);
    char *want = engine(&s, FL_FMT_CSV, FL_RENDER_UTC | FL_RENDER_PLAIN, 0);
    int same = want && strcmp(r.body, want) == 0;
    free(want);
    resp_free(&r);
    CHECK(same);
}

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

/* Request; check status and error code (and param when given). */
static void expect_err(int port, const char *method, const char *path, const char *body,
                       int status, const char *code, const char *param)
{
    int st = 0;
    json_t *j = http_json(port, method, path, body, &st);
    json_t *err = j ? json_object_get(j, "error") : NULL;
    int ok = j && st == status && err &&
             strcmp(json_string_value(json_object_get(err, "code")), code) == 0 &&
             json_string_value(json_object_get(err, "message"))[0] != '\0' &&
             (param == NULL ||
              (json_object_get(err, "param") &&
               strcmp(json_string_value(json_object_get(err, "param")), param) == 0));
    if (!ok) {
        char *d = j ? json_dumps(j, 0) : NULL;
        fprintf(stderr, "%s %s %s: got %d %s, wanted %d %s\n", method, path, body ? body : "",
                st, d ? d : "(no json)", status, code);
        free(d);
    }
    json_decref(j);
    CHECK(ok);
}

TEST(errors_bad_input)
{
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"frobnicate\"}", 400, "bad_op", "op");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"stats\",\"stat\":\"nosuchdim\"}", 400,
               "unknown_dimension", "stat");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"stats\"}", 400, "missing_stat", "stat");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"aggregate\",\"aggregate\":\"srcip,bogus\"}",
               400, "unknown_dimension", "aggregate");
    expect_err(port_a, "GET", "/api/v1/query?op=topseries&stat=bogus", NULL, 400,
               "unknown_dimension", "stat");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"window\":\"yesterday-ish\"}",
               400, "bad_window", "window");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"start\":2000,\"end\":1000}",
               400, "bad_window", "window");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"start\":\"garbage\"}", 400,
               "bad_window", "start");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"window_mode\":\"sideways\"}",
               400, "bad_window", "window_mode");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"series\",\"step\":\"5x\"}", 400,
               "bad_step", "step");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"series\",\"step\":\"1s\",\"window\":\"-7d\"}",
               400, "bad_step", "step");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"series\",\"metric\":\"furlongs\"}", 400,
               "bad_metric", "metric");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"stats\",\"stat\":\"srcip\",\"order\":\"size\"}",
               400, "bad_order", "order");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"stats\",\"stat\":\"srcip\",\"top\":-3}",
               400, "bad_top", "top");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"topseries\",\"stat\":\"srcip\",\"top\":5000}",
               400, "bad_top", "top");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"exporters\":[\"x\"]}", 400,
               "bad_exporters", "exporters");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"format\":\"xml\"}", 400,
               "bad_format", "format");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"id\":\"a b\"}", 400,
               "bad_id", "id");
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"list\",\"limit\":5000000}", 413,
               "too_many_rows", "limit");
    expect_err(port_a, "POST", "/api/v1/query", "[1,2]", 400, "bad_json", NULL);
    /* bad JSON: the error carries the byte position */
    int st;
    json_t *j = http_json(port_a, "POST", "/api/v1/query", "{\"op\": stats}", &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 400);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "bad_json");
    CHECK(json_integer_value(json_object_get(json_object_get(j, "error"), "offset")) >= 7);
    json_decref(j);
}

TEST(filters)
{
    /* a valid filter */
    int st;
    json_t *j = http_json(port_a, "POST", "/api/v1/filter", "{\"filter\":\"proto tcp and dst port 443\"}", &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    CHECK(json_is_true(json_object_get(j, "valid")));
    json_decref(j);
    /* a bad one: 400 with the position of the bad word */
    j = http_json(port_a, "POST", "/api/v1/filter", "{\"filter\":\"proto tcp and dst prot 443\"}", &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 400);
    json_t *err = json_object_get(j, "error");
    CHECK_STR(json_string_value(json_object_get(err, "code")), "bad_filter");
    CHECK_STR(json_string_value(json_object_get(err, "param")), "filter");
    CHECK_EQ_INT(json_integer_value(json_object_get(err, "offset")), 18);
    CHECK(strstr(json_string_value(json_object_get(err, "message")), "prot") != NULL);
    json_decref(j);
    expect_err(port_a, "POST", "/api/v1/query", "{\"op\":\"summary\",\"filter\":\"src ip 10.0.0.300\"}",
               400, "bad_filter", "filter");
    expect_err(port_a, "GET", "/api/v1/filter", NULL, 400, "missing_filter", NULL);
    /* a query with a filter equals the engine with the filter module */
    fl_query_spec s;
    fl_filter *f = NULL;
    fl_err e;
    const char *text = "proto tcp and dst port 443";
    CHECK(fl_filter_compile(text, strlen(text), NULL, &f, &e) == FL_OK);
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "srcip/bytes", &e) == FL_OK);
    s.element = "srcip/bytes";
    s.top = 10;
    s.select = fl_filter_select;
    s.select_ctx = f;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    char body[512];
    snprintf(body, sizeof body,
             "{\"op\":\"stats\",\"stat\":\"srcip/bytes\",\"top\":10,\"filter\":\"%s\","
             "\"start\":%lld,\"end\":%lld}",
             text, DEMO_END - H12, DEMO_END);
    j = check_query(body, &s, 0);
    uint64_t matched = (uint64_t)json_integer_value(json_object_get(j, "matched"));
    json_decref(j);
    /* and the same filter through a topseries (two passes) */
    fl_query_spec_init(&s);
    CHECK(fl_query_parse_stat(&s, "dstip/bytes", &e) == FL_OK);
    s.element = "dstip/bytes";
    s.op = FL_QOP_TOPSERIES;
    s.window_mode = FL_WIN_START;
    s.metric = FL_METRIC_BYTES;
    s.top = 5;
    s.step = 3600000;
    s.select = fl_filter_select;
    s.select_ctx = f;
    spec_window(&s, DEMO_END - H12, DEMO_END);
    snprintf(body, sizeof body,
             "{\"op\":\"topseries\",\"stat\":\"dstip/bytes\",\"metric\":\"bytes\",\"top\":5,"
             "\"step\":\"1h\",\"filter\":\"%s\",\"start\":%lld,\"end\":%lld}",
             text, DEMO_END - H12, DEMO_END);
    json_decref(check_query(body, &s, 0));
    fl_filter_free(f);
    CHECK(matched > 0 && matched < DEMO_FLOWS / 2);
}

TEST(errors_oversized_and_routes)
{
    size_t n = 70 * 1024;
    char *big = malloc(n + 64);
    resp r;
    CHECK(big != NULL);
    memcpy(big, "{\"op\":\"summary\",\"filter\":\"", 27);
    memset(big + 27, 'a', n - 29);
    memcpy(big + n - 2, "\"}", 3);
    int rc = http(port_a, "POST", "/api/v1/query", big, n, &r);
    free(big);
    CHECK(rc == 0);
    CHECK_EQ_INT(r.status, 413);
    CHECK(strstr(r.body, "request_too_large") != NULL);
    resp_free(&r);
    /* a filter longer than its own limit inside a small-enough body */
    big = malloc(9000 + 64);
    memcpy(big, "{\"filter\":\"", 11);
    memset(big + 11, 'b', 9000);
    memcpy(big + 9011, "\"}", 3);
    json_t *j = NULL;
    int st;
    j = http_json(port_a, "POST", "/api/v1/filter", big, &st);
    free(big);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 413);
    json_decref(j);
    expect_err(port_a, "GET", "/api/v1/nothing", NULL, 404, "not_found", NULL);
    expect_err(port_a, "GET", "/api/v2/query", NULL, 404, "not_found", NULL);
    expect_err(port_a, "DELETE", "/api/v1/query", NULL, 405, "method_not_allowed", NULL);
    expect_err(port_a, "POST", "/api/v1/exporters", "{}", 405, "method_not_allowed", NULL);
    expect_err(port_a, "GET", "/api/v1/cancel?id=x", NULL, 405, "method_not_allowed", NULL);
    expect_err(port_a, "GET", "/api/v1/progress", NULL, 400, "missing_id", NULL);
    expect_err(port_a, "GET", "/api/v1/progress?id=nosuch", NULL, 404, "no_such_query", NULL);
    expect_err(port_a, "POST", "/api/v1/cancel", "{\"id\":\"nosuch\"}", 404, "no_such_query", NULL);
}

TEST(errors_memory_limit)
{
    /* server B runs with --memory 1: a big aggregation hits the budget */
    expect_err(port_b, "POST", "/api/v1/query",
               "{\"op\":\"aggregate\",\"aggregate\":\"srcip,dstip,srcport,dstport\",\"window\":\"all\"}",
               503, "memory_limit", NULL);
    /* and the server still answers afterwards */
    int st;
    json_t *j = http_json(port_b, "GET", "/api/v1/query?op=summary&window=all", NULL, &st);
    CHECK(j != NULL);
    CHECK_EQ_INT(st, 200);
    json_decref(j);
}

/* ------------------------------------------------------------------ */
/* in-process server over a slow source: time limit, busy, progress,   */
/* cancel                                                              */
/* ------------------------------------------------------------------ */

typedef struct slow {
    fl_source inner;
} slow;
static fl_http_backend demo_be;

static fl_rc slow_next(void *ctx, fl_batch *b, fl_err *e)
{
    slow *s = ctx;
    struct timespec ts = {0, 40 * 1000000L};
    nanosleep(&ts, NULL);
    return s->inner.next(s->inner.ctx, b, e);
}
static fl_rc slow_open(void *ctx, const fl_query_spec *spec, const uint64_t *cols, void *fctx,
                       fl_source *src, uint64_t *est, fl_err *e)
{
    slow *s = calloc(1, sizeof *s);
    (void)ctx;
    if (demo_be.open(demo_be.ctx, spec, cols, fctx, &s->inner, est, e) != FL_OK) {
        free(s);
        return FL_EIO;
    }
    memset(src, 0, sizeof *src);
    src->ctx = s;
    src->next = slow_next;
    return FL_OK;
}
static void slow_close(void *ctx, void *src_ctx)
{
    slow *s = src_ctx;
    (void)ctx;
    demo_be.close(demo_be.ctx, s->inner.ctx);
    free(s);
}

typedef struct bg {
    int port, status;
    const char *body;
    char code[64];
} bg;
static void *bg_query(void *arg)
{
    bg *b = arg;
    json_t *j = http_json(b->port, "POST", "/api/v1/query", b->body, &b->status);
    json_t *c = j ? json_object_get(json_object_get(j, "error"), "code") : NULL;
    snprintf(b->code, sizeof b->code, "%s", c ? json_string_value(c) : "");
    json_decref(j);
    return NULL;
}

TEST(limits_time_busy_progress_cancel)
{
    fl_http_config c;
    fl_http_backend be;
    fl_http *h = NULL;
    fl_err e;
    pthread_t t;
    bg q = {0, 0, "{\"op\":\"summary\",\"window\":\"all\",\"id\":\"slow-1\"}", ""};
    int st;

    demo_be = fl_http_demo_backend(demo);
    be = demo_be;
    be.open = slow_open;
    be.close = slow_close;
    fl_http_config_default(&c);
    c.port = 0;
    c.time_limit_ms = 60000;
    c.queue_wait_ms = 200;
    c.cache_entries = 0;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    q.port = fl_http_port(h);
    CHECK(q.port > 0);
    /* a slow query (49 batches x 40 ms) runs in the background */
    pthread_create(&t, NULL, bg_query, &q);
    json_t *p = NULL;
    for (int i = 0; i < 100; i++) {
        p = http_json(q.port, "GET", "/api/v1/progress?id=slow-1", NULL, &st);
        if (st == 200)
            break;
        json_decref(p);
        p = NULL;
        usleep(20000);
    }
    CHECK(p != NULL);
    CHECK(json_is_true(json_object_get(p, "running")));
    CHECK_EQ_INT(json_integer_value(json_object_get(p, "estimate")), DEMO_FLOWS);
    json_decref(p);
    /* the only slot is taken: another query waits 200 ms, then 503 busy */
    expect_err(q.port, "POST", "/api/v1/query", "{\"op\":\"summary\",\"window\":\"all\"}", 503,
               "busy", NULL);
    /* cancel the slow one: it ends with 409 canceled */
    json_t *cj = http_json(q.port, "POST", "/api/v1/cancel", "{\"id\":\"slow-1\"}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK(json_is_true(json_object_get(cj, "cancel_requested")));
    json_decref(cj);
    pthread_join(t, NULL);
    CHECK_EQ_INT(q.status, 409);
    CHECK_STR(q.code, "canceled");
    fl_http_stop(h);

    /* two slots (serve --max-queries 2): a second query runs beside the
     * slow one instead of getting 503 busy */
    c.max_queries = 2;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    q.port = fl_http_port(h);
    q.status = 0;
    pthread_create(&t, NULL, bg_query, &q);
    for (int i = 0; i < 100; i++) {
        json_t *pp = http_json(q.port, "GET", "/api/v1/progress?id=slow-1", NULL, &st);
        json_decref(pp);
        if (st == 200)
            break;
        usleep(20000);
    }
    CHECK_EQ_INT(st, 200);
    json_t *two = http_json(q.port, "POST", "/api/v1/query", "{\"op\":\"summary\",\"window\":\"all\"}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(two, "result"), "flows")), DEMO_FLOWS);
    json_decref(two);
    pthread_join(t, NULL);
    CHECK_EQ_INT(q.status, 200);
    fl_http_stop(h);
    c.max_queries = 1;

    /* a 100 ms time limit over the slow source: 504 */
    c.time_limit_ms = 100;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    expect_err(fl_http_port(h), "POST", "/api/v1/query", "{\"op\":\"summary\",\"window\":\"all\"}",
               504, "time_limit", NULL);
    fl_http_stop(h);
}

/* ------------------------------------------------------------------ */
/* the answer cache follows the backend's data version                 */
/* ------------------------------------------------------------------ */

static _Atomic uint64_t data_ver = 1;
static _Atomic int data_ver_fail;
static fl_rc ver_of(void *ctx, const fl_query_spec *spec, uint64_t *v, fl_err *e)
{
    (void)ctx;
    (void)spec;
    if (atomic_load(&data_ver_fail))
        return fl_err_set(e, FL_EIO, "version unknown");
    *v = atomic_load(&data_ver);
    return FL_OK;
}

/* cached: the answer's "cached" flag, or -1 when the request failed */
static int ask_cached(int port, const char *body)
{
    int st = 0, c;
    json_t *j = http_json(port, "POST", "/api/v1/query", body, &st);
    c = j && st == 200 ? json_is_true(json_object_get(j, "cached")) : -1;
    json_decref(j);
    return c;
}

TEST(cache_follows_data_version)
{
    fl_http_config c;
    fl_http_backend be = fl_http_demo_backend(demo);
    fl_http *h = NULL;
    fl_err e;
    /* a window long past: its answers live the full minute by TTL */
    const char *q = "{\"op\":\"stats\",\"stat\":\"dstport\",\"top\":5,"
                    "\"window\":\"2024-04-30T00:00:00Z..2024-04-30T12:00:00Z\"}";
    int port;

    be.data_version = ver_of;
    fl_http_config_default(&c);
    c.port = 0;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    port = fl_http_port(h);
    CHECK_EQ_INT(ask_cached(port, q), 0);
    CHECK_EQ_INT(ask_cached(port, q), 1);
    /* new data landed: the cached answer is not served again */
    atomic_fetch_add(&data_ver, 1);
    CHECK_EQ_INT(ask_cached(port, q), 0);
    CHECK_EQ_INT(ask_cached(port, q), 1);
    /* a version the backend cannot tell: answered, never from the cache */
    atomic_store(&data_ver_fail, 1);
    CHECK_EQ_INT(ask_cached(port, q), 0);
    CHECK_EQ_INT(ask_cached(port, q), 0);
    atomic_store(&data_ver_fail, 0);
    CHECK_EQ_INT(ask_cached(port, q), 1);
    fl_http_stop(h);
    /* the demo's own version: the batches published (live traffic) */
    be = fl_http_demo_backend(demo);
    CHECK(be.data_version != NULL);
    uint64_t v = 0;
    CHECK(be.data_version(be.ctx, NULL, &v, &e) == FL_OK);
    CHECK(v > 0);
}

/* ------------------------------------------------------------------ */
/* saved filters (/api/v1/filters) and the collector's statistics in   */
/* /api/v1/exporters, on in-process servers over the demo flows        */
/* ------------------------------------------------------------------ */

/* The filter module with the server's filters directory (as serve does). */
static fl_rc lib_compile(void *ctx, const char *text, size_t len, const char *dir,
                         fl_select_fn *fn, void **fctx, fl_err *e)
{
    fl_filter_opts o = {.filters_dir = dir};
    fl_filter *f = NULL;
    (void)ctx;
    if (fl_filter_compile(text, len, &o, &f, e) != FL_OK)
        return e->rc;
    *fn = fl_filter_select;
    *fctx = f;
    return FL_OK;
}
static void lib_free(void *ctx, void *fctx)
{
    (void)ctx;
    fl_filter_free(fctx);
}

static int temp_dir(char *buf, size_t len)
{
    snprintf(buf, len, "%s/fl-http-XXXXXX", getenv("T_TMP") ? getenv("T_TMP") : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

/* Status of a request with a raw body. */
static int req(int port, const char *method, const char *path, const char *body, json_t **out)
{
    resp r;
    if (http(port, method, path, body, body ? strlen(body) : 0, &r) != 0)
        return -1;
    if (out)
        *out = json_loadb(r.body, r.len, 0, NULL);
    int st = r.status;
    resp_free(&r);
    return st;
}

/* "matched" of a summary over all demo flows with filter f (JSON-quoted). */
static long long matched_with(int port, const char *fq)
{
    char body[600];
    json_t *j = NULL;
    long long m = -1;
    snprintf(body, sizeof body, "{\"op\":\"summary\",\"window\":\"all\",\"filter\":%s}", fq);
    if (req(port, "POST", "/api/v1/query", body, &j) == 200)
        m = json_integer_value(json_object_get(j, "matched"));
    json_decref(j);
    return m;
}

TEST(saved_filters)
{
    fl_http_config c;
    fl_http_backend be = fl_http_demo_backend(demo);
    fl_http *h = NULL;
    fl_err e;
    char root[512], dir[600], path[700], big[9000];
    json_t *j = NULL;
    int port;

    CHECK(temp_dir(root, sizeof root) == 0);
    snprintf(dir, sizeof dir, "%s/lib/filters", root); /* created on the first save */
    be.filter_compile = lib_compile;
    be.filter_free = lib_free;
    fl_http_config_default(&c);
    c.port = 0;
    c.filters_dir = dir;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    port = fl_http_port(h);

    /* empty library; queries without includes work before it exists */
    CHECK_EQ_INT(req(port, "GET", "/api/v1/filters", NULL, &j), 200);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "filters")), 0);
    json_decref(j);
    long long udp53 = matched_with(port, "\"proto udp and dst port 53\"");
    long long tcp = matched_with(port, "\"proto tcp\"");
    CHECK(udp53 > 0 && tcp > 0 && udp53 != tcp);

    /* save: 201 created, then 200 replaced */
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/dns", "proto udp and dst port 53", &j), 201);
    CHECK(json_is_true(json_object_get(j, "created")));
    json_decref(j);
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/dns", "proto udp and dst port 53", &j), 200);
    CHECK(json_is_false(json_object_get(j, "created")));
    json_decref(j);
    CHECK_EQ_INT(req(port, "GET", "/api/v1/filters/dns", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "text")), "proto udp and dst port 53");
    json_decref(j);
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/web.v2_x-1", "port in [80 443]", NULL), 201);
    CHECK_EQ_INT(req(port, "GET", "/api/v1/filters", NULL, &j), 200);
    {
        json_t *a = json_object_get(j, "filters");
        CHECK_EQ_INT(json_array_size(a), 2);
        CHECK_STR(json_string_value(json_object_get(json_array_get(a, 0), "name")), "dns");
        CHECK_STR(json_string_value(json_object_get(json_array_get(a, 0), "text")),
                  "proto udp and dst port 53");
        CHECK_STR(json_string_value(json_object_get(json_array_get(a, 1), "name")), "web.v2_x-1");
    }
    json_decref(j);
    /* the file is where @include and flowlens query --filters-dir read it */
    snprintf(path, sizeof path, "%s/dns", dir);
    {
        FILE *f = fopen(path, "r");
        char txt[100] = "";
        CHECK(f != NULL);
        if (f) {
            CHECK(fgets(txt, sizeof txt, f) != NULL);
            fclose(f);
        }
        CHECK_STR(txt, "proto udp and dst port 53");
    }
    /* queries use it; the answer follows a change of the saved filter
     * (the cache is keyed on the library) */
    CHECK_EQ_INT(matched_with(port, "\"@include dns\""), udp53);
    /* includes are textual, as in nfdump: parenthesise to negate */
    CHECK_EQ_INT(matched_with(port, "\"not (@include dns\\n)\""), DEMO_FLOWS - udp53);
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/dns", "proto tcp", NULL), 200);
    CHECK_EQ_INT(matched_with(port, "\"@include dns\""), tcp);
    /* a saved filter may include another */
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/dns2", "@include dns", NULL), 201);
    CHECK_EQ_INT(matched_with(port, "\"@include dns2\""), tcp);

    /* errors */
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/bad", "proto udp and prot 53", &j), 400);
    {
        json_t *err = json_object_get(j, "error");
        CHECK_STR(json_string_value(json_object_get(err, "code")), "bad_filter");
        CHECK_EQ_INT(json_integer_value(json_object_get(err, "offset")), 14);
    }
    json_decref(j);
    CHECK_EQ_INT(req(port, "GET", "/api/v1/filters/bad", NULL, NULL), 404);
    CHECK_EQ_INT(req(port, "PUT", "/api/v1/filters/inc", "@include nosuch", NULL), 400);
    expect_err(port, "PUT", "/api/v1/filters/.hidden", "proto tcp", 400, "bad_name", "name");
    expect_err(port, "PUT", "/api/v1/filters/a%20b", "proto tcp", 400, "bad_name", "name");
    expect_err(port, "PUT", "/api/v1/filters/..", "proto tcp", 400, "bad_name", "name");
    expect_err(port, "GET", "/api/v1/filters/a%2Fb", NULL, 400, "bad_name", "name");
    expect_err(port, "PUT",
               "/api/v1/filters/a1234567890123456789012345678901234567890123456789012345678901234",
               "proto tcp", 400, "bad_name", "name");
    expect_err(port, "PUT", "/api/v1/filters/empty", " \n", 400, "bad_filter", NULL);
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "proto tcp", 9);
    big[sizeof big - 1] = '\0';
    expect_err(port, "PUT", "/api/v1/filters/big", big, 413, "filter_too_long", "filter");
    expect_err(port, "GET", "/api/v1/filters/nosuch", NULL, 404, "no_such_filter", NULL);
    expect_err(port, "DELETE", "/api/v1/filters/nosuch", NULL, 404, "no_such_filter", NULL);
    expect_err(port, "POST", "/api/v1/filters/dns", "proto tcp", 405, "method_not_allowed", NULL);
    expect_err(port, "PUT", "/api/v1/filters", "proto tcp", 405, "method_not_allowed", NULL);
    /* an include that breaks: the error points at the @include and names the file */
    {
        FILE *f;
        snprintf(path, sizeof path, "%s/broken", dir);
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("proto tcp and\nport 99999", f);
            fclose(f);
        }
        CHECK_EQ_INT(req(port, "POST", "/api/v1/query",
                         "{\"op\":\"summary\",\"filter\":\"proto udp or @include broken\"}", &j),
                     400);
        json_t *err = json_object_get(j, "error");
        CHECK_EQ_INT(json_integer_value(json_object_get(err, "offset")), 13);
        CHECK(strstr(json_string_value(json_object_get(err, "message")), "'broken', line 2") != NULL);
        json_decref(j);
    }
    /* delete */
    CHECK_EQ_INT(req(port, "DELETE", "/api/v1/filters/dns2", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "deleted")), "dns2");
    json_decref(j);
    CHECK_EQ_INT(req(port, "GET", "/api/v1/filters/dns2", NULL, NULL), 404);
    expect_err(port, "POST", "/api/v1/query", "{\"op\":\"summary\",\"filter\":\"@include dns2\"}", 400,
               "bad_filter", "filter");
    /* atomic writes leave no temporary files behind */
    {
        DIR *d = opendir(dir);
        struct dirent *de;
        int hidden = 0;
        CHECK(d != NULL);
        while (d && (de = readdir(d)) != NULL)
            hidden += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        if (d)
            closedir(d);
        CHECK_EQ_INT(hidden, 0);
    }
    fl_http_stop(h);
    /* without a filters directory: 501 */
    c.filters_dir = NULL;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    expect_err(fl_http_port(h), "GET", "/api/v1/filters", NULL, 501, "filters_unavailable", NULL);
    fl_http_stop(h);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Exporter id's object in an /api/v1/exporters answer. */
static json_t *exporter_of(json_t *j, int id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "exporters"), i, v)
        if (json_integer_value(json_object_get(v, "id")) == id)
            return v;
    return NULL;
}

TEST(exporters_collector_stats)
{
    fl_http_config c;
    fl_http_backend be = fl_http_demo_backend(demo);
    fl_http *h = NULL;
    fl_err e;
    char root[512], path[600];
    json_t *j = NULL, *x, *col;
    int port;

    CHECK(temp_dir(root, sizeof root) == 0);
    snprintf(path, sizeof path, "%s/collector-stats.jsonl", root);
    fl_http_config_default(&c);
    c.port = 0;
    c.collector_stats = path;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    port = fl_http_port(h);

    /* no file yet: the exporters still, and a status saying so */
    CHECK_EQ_INT(req(port, "GET", "/api/v1/exporters", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "collector"), "status")),
              "missing");
    CHECK(strstr(json_string_value(json_object_get(json_object_get(j, "collector"), "message")),
                 "collector-stats.jsonl") != NULL);
    CHECK(json_array_size(json_object_get(j, "exporters")) >= 2);
    CHECK(json_is_null(json_object_get(exporter_of(j, 1), "collector")));
    json_decref(j);

    /* a hand-written file: server line, two collector exporters feeding
     * store exporter 1 (summed), counters, and one unknown to the table */
    write_text(path,
               "{\"type\":\"server\",\"started\":\"2024-05-01T00:00:00Z\",\"written\":\"2024-05-01T01:00:00Z\","
               "\"datagrams\":900,\"kernel_drops\":3,\"queue_drops\":2,\"batches\":40,\"tcp_connections\":0}\n"
               "{\"type\":\"exporter\",\"exporter\":1,\"store_id\":1,\"proto\":\"netflow9\",\"addr\":\"192.0.2.1\","
               "\"domain\":0,\"name\":\"edge-1\",\"sampling_rate\":100,\"sampling_source\":\"options\","
               "\"templates\":3,\"datagrams\":95,\"bytes\":120000,\"flows\":2000,\"option_records\":1,"
               "\"counter_samples\":0,\"templates_seen\":3,\"templates_withdrawn\":0,\"seq_lost\":5,"
               "\"seq_reorder\":1,\"missing_template_sets\":2,\"queue_drops\":0,"
               "\"malformed\":{\"short\":2,\"bad_length\":1},\"first_seen\":\"2024-05-01T00:00:05Z\","
               "\"last_seen\":\"2024-05-01T00:59:00Z\"}\n"
               "{\"type\":\"exporter\",\"exporter\":2,\"store_id\":1,\"proto\":\"netflow9\",\"addr\":\"192.0.2.1\","
               "\"domain\":0,\"name\":\"edge-1\",\"sampling_rate\":100,\"sampling_source\":\"options\","
               "\"templates\":1,\"datagrams\":5,\"bytes\":6000,\"flows\":100,\"option_records\":0,"
               "\"counter_samples\":0,\"templates_seen\":1,\"templates_withdrawn\":0,\"seq_lost\":0,"
               "\"seq_reorder\":0,\"missing_template_sets\":0,\"queue_drops\":4,"
               "\"malformed\":{\"short\":1},\"first_seen\":\"2024-05-01T00:00:01Z\","
               "\"last_seen\":\"2024-05-01T00:59:30Z\"}\n"
               "{\"type\":\"counters\",\"store_id\":1,\"ifindex\":7,\"in_octets\":1000,\"out_octets\":2000}\n"
               "{\"type\":\"exporter\",\"exporter\":3,\"store_id\":999,\"proto\":\"sflow\",\"addr\":\"198.51.100.9\","
               "\"domain\":0,\"name\":\"\",\"sampling_rate\":0,\"sampling_source\":\"unknown\",\"templates\":0,"
               "\"datagrams\":4,\"bytes\":400,\"flows\":0,\"option_records\":0,\"counter_samples\":0,"
               "\"templates_seen\":0,\"templates_withdrawn\":0,\"seq_lost\":0,\"seq_reorder\":0,"
               "\"missing_template_sets\":0,\"queue_drops\":0,\"malformed\":{\"bad_version\":4},"
               "\"first_seen\":\"2024-05-01T00:10:00Z\",\"last_seen\":\"2024-05-01T00:20:00Z\"}\n");
    CHECK_EQ_INT(req(port, "GET", "/api/v1/exporters", NULL, &j), 200);
    x = json_object_get(j, "collector");
    CHECK_STR(json_string_value(json_object_get(x, "status")), "ok");
    CHECK_EQ_INT(json_integer_value(json_object_get(x, "kernel_drops")), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(x, "queue_drops")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(x, "datagrams")), 900);
    col = json_object_get(exporter_of(j, 1), "collector");
    CHECK(json_is_object(col));
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "seq_lost")), 5);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "datagrams")), 100);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "templates")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "queue_drops")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "missing_template_sets")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "sampling_rate")), 100);
    CHECK_STR(json_string_value(json_object_get(col, "sampling_source")), "options");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(col, "malformed"), "short")), 3);
    CHECK_EQ_INT(json_integer_value(json_object_get(col, "malformed_total")), 4);
    CHECK_STR(json_string_value(json_object_get(col, "first_seen")), "2024-05-01T00:00:01Z");
    CHECK_STR(json_string_value(json_object_get(col, "last_seen")), "2024-05-01T00:59:30Z");
    /* v9 counts export packets: 5 lost of 105 */
    CHECK(fabs(json_real_value(json_object_get(col, "loss_pct")) - 100.0 * 5 / 105) < 1e-9);
    CHECK_STR(json_string_value(json_object_get(json_object_get(col, "health"), "level")), "warn");
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(col, "health"), "issues")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(
                     json_array_get(json_object_get(col, "interface_counters"), 0), "ifindex")),
                 7);
    CHECK(json_is_null(json_object_get(exporter_of(j, 2), "collector")));
    CHECK_EQ_INT(json_array_size(json_object_get(j, "unmatched")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(j, "unmatched"), 0),
                                                    "store_id")),
                 999);
    json_decref(j);

    /* a malformed file: said so, the valid lines still used, never a 5xx */
    write_text(path,
               "{\"type\":\"server\",\"written\":\"2024-05-01T01:00:00Z\",\"kernel_drops\":8}\n"
               "not json at all\n"
               "{\"type\":\"exporter\",\"seq_lost\":1}\n"
               "{\"type\":\"exporter\",\"store_id\":2,\"proto\":\"ipfix\",\"flows\":10,\"seq_lost\":0,"
               "\"malformed\":{}}\n");
    CHECK_EQ_INT(req(port, "GET", "/api/v1/exporters", NULL, &j), 200);
    x = json_object_get(j, "collector");
    CHECK_STR(json_string_value(json_object_get(x, "status")), "malformed");
    CHECK(strstr(json_string_value(json_object_get(x, "message")), "2 of 4 lines") != NULL);
    CHECK(strstr(json_string_value(json_object_get(x, "message")), "line 2") != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(x, "kernel_drops")), 8);
    col = json_object_get(exporter_of(j, 2), "collector");
    CHECK_STR(json_string_value(json_object_get(json_object_get(col, "health"), "level")), "ok");
    json_decref(j);
    /* an empty file (no server line) and binary junk */
    write_text(path, "");
    CHECK_EQ_INT(req(port, "GET", "/api/v1/exporters", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "collector"), "status")),
              "malformed");
    json_decref(j);
    write_text(path, "\x01\x02\xff\xfe{{{\n\n[1,2]\n");
    CHECK_EQ_INT(req(port, "GET", "/api/v1/exporters", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "collector"), "status")),
              "malformed");
    json_decref(j);
    fl_http_stop(h);
    /* no collector (the in-memory demo): "unavailable" */
    c.collector_stats = NULL;
    CHECK(fl_http_start(&c, &be, &h, &e) == FL_OK);
    CHECK_EQ_INT(req(fl_http_port(h), "GET", "/api/v1/exporters", NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "collector"), "status")),
              "unavailable");
    json_decref(j);
    fl_http_stop(h);
    unlink(path);
}

int main(void)
{
    fl_err e;
    signal(SIGPIPE, SIG_IGN);
    fl_log_set_level(FL_LOG_WARN);
    if (fl_http_demo_new(DEMO_FLOWS, DEMO_END, 86400000, DEMO_SEED, &demo, &e) != FL_OK) {
        printf("FAIL demo: %s\n", e.msg);
        return 1;
    }
    pid_a = start_server(NULL, &port_a);
    pid_b = start_server("--memory=1", &port_b);
    RUN(server_started);
    RUN(capabilities);
    RUN(exporters);
    RUN(static_page);
    RUN(query_stats_equals_engine);
    RUN(query_aggregate_summary_equal_engine);
    RUN(query_series_equal_engine);
    RUN(query_topseries_two_pass_equals_one_pass);
    RUN(query_list_paging_equal_engine);
    RUN(list_compaction_matches_full_sort);
    RUN(query_exporters_select);
    RUN(query_csv_equals_engine);
    RUN(errors_bad_input);
    RUN(filters);
    RUN(errors_oversized_and_routes);
    RUN(errors_memory_limit);
    RUN(limits_time_busy_progress_cancel);
    RUN(cache_follows_data_version);
    RUN(saved_filters);
    RUN(exporters_collector_stats);
    stop_server(pid_a);
    stop_server(pid_b);
    fl_http_demo_free(demo);
    TEST_EXIT();
}
