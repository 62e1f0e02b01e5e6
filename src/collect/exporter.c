/*
 * collect/exporter.c — the exporter table: who sends, what templates they
 * use, how they sample, what their interfaces are called, and how much
 * of what they sent was lost or broken.
 *
 * An exporter is (protocol, address, observation domain / source id); it
 * gets a small id (1..) that the flows' exporter column carries. Lookups
 * go through one open-addressing hash under the table mutex; the entry
 * then has its own mutex held while one datagram of it is decoded, so
 * receiver threads decoding different exporters never contend. Lock
 * order: an entry's mutex may be held while taking the table's, never the
 * reverse (readers copy the entry pointer out under the table lock, drop
 * it, then lock the entry). Entries live until the collector is freed.
 *
 * Templates sit in a sorted array per exporter (binary search per set).
 * Bad input is counted by reason and logged at most once per 10 s per
 * exporter, with the number of lines suppressed since.
 */
#include "collect_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_INTERVAL_MS 10000

static const char *const bad_names[FL_BAD_COUNT] = {
    "short", "version", "length", "set", "template", "record", "sample", "limit", "rejected"};

const char *fl_collect_bad_name(fl_collect_bad b)
{
    return (unsigned)b < FL_BAD_COUNT ? bad_names[b] : "unknown";
}

const char *fl_collect_sampling_src_name(fl_collect_sampling_src s)
{
    static const char *const n[] = {"unknown", "v5 header", "options", "sflow", "config"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "unknown";
}

/* The configuration of (addr, domain) in *out: the rule for every domain
 * of the address, then the one naming the domain, whose settings win.
 * 0 when no rule names the exporter. */
static int find_rule(const fl_collect *c, fl_addr addr, uint32_t domain, fl_collect_rule *out)
{
    const fl_collect_rule *any = NULL, *exact = NULL;

    for (size_t i = 0; i < c->cfg.nrules; i++) {
        const fl_collect_rule *r = &c->cfg.rules[i];
        if (fl_addr_cmp(r->addr, addr) != 0)
            continue;
        if (!r->any_domain && r->domain == domain && exact == NULL)
            exact = r;
        if (r->any_domain && any == NULL)
            any = r;
    }
    memset(out, 0, sizeof *out);
    for (int k = 0; k < 2; k++) {
        const fl_collect_rule *r = k ? exact : any;
        if (r == NULL)
            continue;
        if (r->name[0])
            memcpy(out->name, r->name, sizeof out->name);
        if (r->default_sampling)
            out->default_sampling = r->default_sampling;
        if (r->override_sampling)
            out->override_sampling = r->override_sampling;
    }
    out->name[sizeof out->name - 1] = '\0';
    return any != NULL || exact != NULL;
}

/* Is an exporter without a rule allowed? */
static int allowed(const fl_collect *c, fl_addr addr)
{
    int reject = c->cfg.unknown == FL_UNKNOWN_REJECT ||
                 (c->cfg.unknown == FL_UNKNOWN_DEFAULT && c->cfg.nallow > 0);

    if (!reject)
        return 1;
    for (size_t i = 0; i < c->cfg.nallow; i++)
        if (fl_prefix_contains(&c->allow[i], addr))
            return 1;
    return 0;
}

static uint64_t key_hash(fl_collect_proto proto, fl_addr a, uint32_t domain)
{
    uint64_t h = 1469598103934665603ULL;
    uint64_t v[4] = {(uint64_t)proto, a.hi, a.lo, domain};
    for (int i = 0; i < 4; i++) {
        h ^= v[i];
        h *= 1099511628211ULL;
        h ^= h >> 29;
    }
    return h;
}

static int key_eq(const cl_exporter *x, fl_collect_proto proto, fl_addr a, uint32_t domain)
{
    return x->x.proto == proto && x->x.domain == domain && fl_addr_cmp(x->x.addr, a) == 0;
}

static fl_rc table_grow(fl_collect *c)
{
    uint32_t ncap = c->hcap ? c->hcap * 2 : 64;
    uint32_t *h = calloc(ncap, sizeof *h);

    if (h == NULL)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < c->nexp; i++) {
        cl_exporter *x = c->exp[i];
        uint64_t k = key_hash(x->x.proto, x->x.addr, x->x.domain);
        uint32_t j = (uint32_t)k & (ncap - 1);
        while (h[j] != 0)
            j = (j + 1) & (ncap - 1);
        h[j] = i + 1;
    }
    free(c->hash);
    c->hash = h;
    c->hcap = ncap;
    return FL_OK;
}

static void snapshot_locked(cl_exporter *x, fl_collect_exporter *out)
{
    *out = x->x;
}

/* Find or create; returns NULL (e set) when rejected or over a limit.
 * Called with the table mutex held. */
static cl_exporter *find_create(fl_collect *c, fl_collect_proto proto, fl_addr addr,
                                uint32_t domain, fl_time now, int *created, fl_err *e)
{
    cl_exporter *x;
    fl_collect_rule rule;
    int ruled;
    uint64_t k = key_hash(proto, addr, domain);
    uint32_t j;

    *created = 0;
    if (c->hcap) {
        j = (uint32_t)k & (c->hcap - 1);
        while (c->hash[j] != 0) {
            x = c->exp[c->hash[j] - 1];
            if (key_eq(x, proto, addr, domain))
                return x;
            j = (j + 1) & (c->hcap - 1);
        }
    }
    ruled = find_rule(c, addr, domain, &rule);
    if (!ruled && !allowed(c, addr)) {
        char a[FL_ADDR_STRLEN];
        fl_addr_format(addr, a, sizeof a);
        c->rejected++;
        fl_err_at(e, FL_EINVAL, a, 0, -1,
                  "%s: exporter %s domain %u is not in the allowed networks",
                  fl_collect_bad_name(FL_BAD_REJECTED), a, domain);
        return NULL;
    }
    if (c->nexp >= c->cfg.max_exporters || c->nexp >= 65535) {
        fl_err_set(e, FL_ELIMIT, "exporter table full (%u exporters)", c->nexp);
        return NULL;
    }
    if ((c->nexp + 1) * 2 > c->hcap && table_grow(c) != FL_OK)
        goto nomem;
    if (c->nexp == c->expcap) {
        uint32_t ncap = c->expcap ? c->expcap * 2 : 16;
        cl_exporter **n = realloc(c->exp, ncap * sizeof *n);
        if (n == NULL)
            goto nomem;
        c->exp = n;
        c->expcap = ncap;
    }
    x = calloc(1, sizeof *x);
    if (x == NULL)
        goto nomem;
    pthread_mutex_init(&x->mu, NULL);
    x->x.id = (uint16_t)(c->nexp + 1);
    x->x.proto = proto;
    x->x.addr = addr;
    x->x.domain = domain;
    x->x.stats.first_seen = now;
    x->eff_default = rule.default_sampling ? rule.default_sampling : c->cfg.default_sampling;
    x->eff_override = rule.override_sampling ? rule.override_sampling
                                             : c->cfg.override_sampling;
    memcpy(x->x.name, rule.name, sizeof x->x.name);
    if (x->eff_override) {
        x->x.sampling_rate = x->eff_override;
        x->x.sampling_source = FL_SAMPLING_SRC_CONFIG;
    }
    c->exp[c->nexp++] = x;
    j = (uint32_t)k & (c->hcap - 1);
    while (c->hash[j] != 0)
        j = (j + 1) & (c->hcap - 1);
    c->hash[j] = x->x.id;
    *created = 1;
    return x;
nomem:
    fl_err_set(e, FL_ENOMEM, "out of memory adding an exporter");
    return NULL;
}

cl_exporter *cl_exporter_get(fl_collect *c, fl_collect_proto proto, fl_addr addr,
                             uint32_t domain, fl_time now, fl_err *e)
{
    cl_exporter *x;
    int created = 0;

    fl_err local;

    if (e == NULL) {
        fl_err_clear(&local);
        e = &local;
    }
    pthread_mutex_lock(&c->mu);
    x = find_create(c, proto, addr, domain, now, &created, e);
    if (x == NULL) {
        c->unattributed++;
        if (c->last_log == 0 || now - c->last_log >= LOG_INTERVAL_MS) {
            c->last_log = now;
            fl_log_warn("collect: datagram dropped: %s", e->msg);
        }
    } else if (created && c->sink.on_exporter) {
        fl_collect_exporter snap;
        snapshot_locked(x, &snap);
        c->sink.on_exporter(c->sink.ctx, &snap);
    }
    pthread_mutex_unlock(&c->mu);
    if (x != NULL) {
        pthread_mutex_lock(&x->mu);
        x->x.stats.last_seen = now;
    }
    return x;
}

void cl_exporter_unlock(fl_collect *c, cl_exporter *x)
{
    fl_collect_exporter snap;
    int announce = x->announce;

    x->announce = 0;
    if (announce)
        snapshot_locked(x, &snap);
    pthread_mutex_unlock(&x->mu);
    if (announce && c->sink.on_exporter) {
        pthread_mutex_lock(&c->mu);
        c->sink.on_exporter(c->sink.ctx, &snap);
        pthread_mutex_unlock(&c->mu);
    }
}

/* index of the first template with id >= id */
static uint32_t tpl_pos(const cl_exporter *x, uint16_t id)
{
    uint32_t lo = 0, hi = x->x.templates;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (x->tpl[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const cl_template *cl_tpl_find(const cl_exporter *x, uint16_t id)
{
    uint32_t i = tpl_pos(x, id);
    return i < x->x.templates && x->tpl[i]->id == id ? x->tpl[i] : NULL;
}

/* Takes ownership of t (frees it on failure). A template with the same id
 * is replaced: template refresh and redefinition are the same here. */
fl_rc cl_tpl_put(fl_collect *c, cl_exporter *x, cl_template *t)
{
    uint32_t i = tpl_pos(x, t->id);

    if (i < x->x.templates && x->tpl[i]->id == t->id) {
        free(x->tpl[i]);
        x->tpl[i] = t;
        return FL_OK;
    }
    if (x->x.templates >= c->cfg.max_templates) {
        free(t);
        return FL_ELIMIT;
    }
    if (x->x.templates == x->tpl_cap) {
        uint32_t ncap = x->tpl_cap ? x->tpl_cap * 2 : 8;
        cl_template **n = realloc(x->tpl, ncap * sizeof *n);
        if (n == NULL) {
            free(t);
            return FL_ENOMEM;
        }
        x->tpl = n;
        x->tpl_cap = ncap;
    }
    memmove(x->tpl + i + 1, x->tpl + i, (x->x.templates - i) * sizeof *x->tpl);
    x->tpl[i] = t;
    x->x.templates++;
    return FL_OK;
}

int cl_tpl_withdraw(cl_exporter *x, uint16_t id)
{
    uint32_t i = tpl_pos(x, id);

    if (i >= x->x.templates || x->tpl[i]->id != id)
        return 0;
    free(x->tpl[i]);
    memmove(x->tpl + i, x->tpl + i + 1, (x->x.templates - i - 1) * sizeof *x->tpl);
    x->x.templates--;
    return 1;
}

uint32_t cl_tpl_withdraw_all(cl_exporter *x, int options)
{
    uint32_t kept = 0, gone = 0;

    for (uint32_t i = 0; i < x->x.templates; i++) {
        if ((x->tpl[i]->options != 0) == (options != 0)) {
            free(x->tpl[i]);
            gone++;
        } else {
            x->tpl[kept++] = x->tpl[i];
        }
    }
    x->x.templates = kept;
    return gone;
}

void cl_set_sampler(cl_exporter *x, int have_id, uint32_t id, uint32_t rate)
{
    if (!have_id) {
        if (x->rate_default != rate)
            x->announce = 1;
        x->rate_default = rate;
    } else {
        uint32_t i;
        for (i = 0; i < x->nsamplers; i++)
            if (x->samplers[i].id == id)
                break;
        if (i == x->nsamplers) {
            if (x->nsamplers >= CL_MAX_SAMPLERS)
                return;
            x->nsamplers++;
            x->samplers[i].id = id;
        }
        if (x->samplers[i].rate != rate)
            x->announce = 1;
        x->samplers[i].rate = rate;
    }
    if (x->eff_override)
        return; /* the configured rate stays the exporter's */
    x->x.sampling_rate = rate;
    x->x.sampling_source = FL_SAMPLING_SRC_OPTIONS;
}

uint32_t cl_rate(cl_exporter *x, uint32_t stated, fl_collect_sampling_src src)
{
    uint32_t rate;

    if (x->eff_override) {
        rate = x->eff_override;
        src = FL_SAMPLING_SRC_CONFIG;
    } else if (stated) {
        return stated;
    } else if (x->eff_default) {
        rate = x->eff_default;
        src = FL_SAMPLING_SRC_CONFIG;
    } else {
        return 0;
    }
    if (x->x.sampling_rate != rate || x->x.sampling_source != src) {
        x->x.sampling_rate = rate;
        x->x.sampling_source = (uint8_t)src;
        x->announce = 1;
    }
    return rate;
}

/* The rate for a flow naming sampler `id` (when have_id); 0 = unknown. A
 * flow without a sampler id takes the exporter-wide rate, or the only
 * sampler's when the exporter announced exactly one. */
uint32_t cl_lookup_sampler(const cl_exporter *x, int have_id, uint32_t id)
{
    if (have_id) {
        for (uint32_t i = 0; i < x->nsamplers; i++)
            if (x->samplers[i].id == id)
                return x->samplers[i].rate;
        return x->rate_default;
    }
    if (x->rate_default)
        return x->rate_default;
    if (x->nsamplers == 1)
        return x->samplers[0].rate;
    return 0;
}

void cl_set_name(cl_exporter *x, int vrf, uint32_t key, const uint8_t *s, size_t len)
{
    cl_name **tab = vrf ? &x->vrfnames : &x->ifnames;
    uint32_t *n = vrf ? &x->nvrfnames : &x->nifnames;
    char name[CL_NAME_LEN];
    size_t k = 0;
    uint32_t i;

    for (size_t j = 0; j < len && k + 1 < sizeof name; j++) {
        if (s[j] == 0)
            break;
        name[k++] = (s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\') ? (char)s[j]
                                                                                  : '?';
    }
    name[k] = 0;
    while (k > 0 && name[k - 1] == ' ')
        name[--k] = 0;
    for (i = 0; i < *n; i++)
        if ((*tab)[i].key == key)
            break;
    if (i == *n) {
        if (*n >= CL_MAX_NAMES)
            return;
        if (*tab == NULL) {
            *tab = calloc(CL_MAX_NAMES, sizeof **tab);
            if (*tab == NULL)
                return;
        }
        (*n)++;
        (*tab)[i].key = key;
    } else if (strcmp((*tab)[i].name, name) == 0) {
        return;
    }
    memcpy((*tab)[i].name, name, k + 1);
    x->announce = 1;
}

void cl_set_ifcounters(fl_collect *c, cl_exporter *x, const fl_collect_ifcounters *ic)
{
    uint32_t i;

    for (i = 0; i < x->nifc; i++)
        if (x->ifc[i].ifindex == ic->ifindex)
            break;
    if (i == x->nifc && x->nifc < CL_MAX_IFCOUNTERS) {
        if (x->ifc == NULL)
            x->ifc = calloc(CL_MAX_IFCOUNTERS, sizeof *x->ifc);
        if (x->ifc != NULL)
            x->nifc++;
    }
    if (x->ifc != NULL && i < x->nifc)
        x->ifc[i] = *ic;
    if (c->sink.on_counters) {
        pthread_mutex_lock(&c->mu);
        c->sink.on_counters(c->sink.ctx, ic);
        pthread_mutex_unlock(&c->mu);
    }
}

#define REORDER_WINDOW 0x100000u

void cl_seq(cl_exporter *x, uint32_t seq, uint32_t advance)
{
    uint32_t d;

    if (!x->have_seq) {
        x->have_seq = 1;
        x->next_seq = seq + advance;
        return;
    }
    d = seq - x->next_seq;
    if (d == 0) {
        x->next_seq = seq + advance;
    } else if (d < 0x80000000u) {
        x->x.stats.seq_lost += d;
        x->next_seq = seq + advance;
    } else if ((uint32_t)-d <= REORDER_WINDOW) {
        /* a late datagram fills a gap counted before */
        x->x.stats.seq_reorder++;
        x->x.stats.seq_lost -= x->x.stats.seq_lost < advance ? x->x.stats.seq_lost : advance;
    } else {
        /* exporter restart: start counting again */
        x->x.stats.seq_reorder++;
        x->next_seq = seq + advance;
    }
}

/*
 * IPFIX numbers the data records sent before a message. Some exporters
 * (softflowd 1.1.0) send the count including the message itself; such an
 * exporter is recognised when a message's number is the previous one plus
 * its own records, and is then checked by that rule.
 */
void cl_seq_ipfix(cl_exporter *x, uint32_t seq, uint32_t nrec)
{
    if (x->have_seq && !x->seq_post && seq != x->next_seq && seq == x->last_seq + nrec) {
        x->seq_post = 1;
        x->next_seq = x->last_seq;
    }
    if (x->seq_post) {
        /* the number of this message is what the standard rule expects
         * of the next one: check it minus this message's records */
        cl_seq(x, seq - nrec, nrec);
    } else {
        cl_seq(x, seq, nrec);
    }
    x->last_seq = seq;
}

fl_rc cl_bad(cl_ctx *k, fl_collect_bad why, int tid, size_t off, const char *fmt, ...)
{
    char msg[400], where[96], a[FL_ADDR_STRLEN] = "?";
    fl_rc rc = why == FL_BAD_LIMIT ? FL_ELIMIT
               : (why == FL_BAD_SHORT || why == FL_BAD_RECORD) ? FL_ETRUNCATED
               : why == FL_BAD_REJECTED ? FL_EINVAL : FL_EPARSE;
    va_list ap;
    int log = 0;
    uint64_t suppressed = 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k->x != NULL) {
        cl_exporter *x = k->x;
        x->x.stats.malformed[why]++;
        fl_addr_format(x->x.addr, a, sizeof a);
        if (tid >= 0)
            snprintf(where, sizeof where, "exporter %s domain %u template %d", a, x->x.domain,
                     tid);
        else
            snprintf(where, sizeof where, "exporter %s domain %u", a, x->x.domain);
        if (x->last_log == 0 || k->now - x->last_log >= LOG_INTERVAL_MS) {
            log = 1;
            suppressed = x->log_suppressed;
            x->log_suppressed = 0;
            x->last_log = k->now;
        } else {
            x->log_suppressed++;
        }
    } else {
        snprintf(where, sizeof where, "unknown exporter");
        pthread_mutex_lock(&k->c->mu);
        k->c->unattributed++;
        if (k->c->last_log == 0 || k->now - k->c->last_log >= LOG_INTERVAL_MS) {
            log = 1;
            k->c->last_log = k->now;
        }
        pthread_mutex_unlock(&k->c->mu);
    }
    fl_err_at(k->e, rc, where, 0, (long long)off, "%s: %s", fl_collect_bad_name(why), msg);
    if (log)
        fl_log_warn("collect: %s: offset %zu: %s: %s%s", where, off, fl_collect_bad_name(why),
                    msg, suppressed ? " (more suppressed)" : "");
    return rc;
}

/* ---- queries --------------------------------------------------------- */

static cl_exporter *entry(const fl_collect *c, size_t i)
{
    cl_exporter *x = NULL;
    fl_collect *m = (fl_collect *)(uintptr_t)c;

    pthread_mutex_lock(&m->mu);
    if (i < c->nexp)
        x = c->exp[i];
    pthread_mutex_unlock(&m->mu);
    return x;
}

size_t fl_collect_exporter_count(const fl_collect *c)
{
    size_t n;
    fl_collect *m = (fl_collect *)(uintptr_t)c;

    pthread_mutex_lock(&m->mu);
    n = c->nexp;
    pthread_mutex_unlock(&m->mu);
    return n;
}

fl_rc fl_collect_exporter_get(const fl_collect *c, size_t i, fl_collect_exporter *out)
{
    cl_exporter *x = entry(c, i);

    if (x == NULL)
        return FL_ENOTFOUND;
    pthread_mutex_lock(&x->mu);
    snapshot_locked(x, out);
    pthread_mutex_unlock(&x->mu);
    return FL_OK;
}

static fl_rc name_get(const fl_collect *c, uint16_t exporter, int vrf, uint32_t key, char *buf,
                      size_t len)
{
    cl_exporter *x = exporter ? entry(c, (size_t)exporter - 1) : NULL;
    fl_rc rc = FL_ENOTFOUND;

    if (x == NULL || len == 0)
        return FL_ENOTFOUND;
    pthread_mutex_lock(&x->mu);
    {
        const cl_name *t = vrf ? x->vrfnames : x->ifnames;
        uint32_t n = vrf ? x->nvrfnames : x->nifnames;
        for (uint32_t i = 0; i < n; i++)
            if (t[i].key == key) {
                snprintf(buf, len, "%s", t[i].name);
                rc = FL_OK;
                break;
            }
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

fl_rc fl_collect_ifname(const fl_collect *c, uint16_t exporter, uint32_t ifindex, char *buf,
                        size_t len)
{
    return name_get(c, exporter, 0, ifindex, buf, len);
}

fl_rc fl_collect_vrfname(const fl_collect *c, uint16_t exporter, uint32_t vrf, char *buf,
                         size_t len)
{
    return name_get(c, exporter, 1, vrf, buf, len);
}

/* Atomic, without the entry's mutex: drops are counted from inside a
 * decode (a worker's batch fills while some exporter is locked) and a
 * batch holds rows of many exporters. */
void fl_collect_count_drops(fl_collect *c, uint16_t exporter, uint64_t q_drops)
{
    cl_exporter *x = exporter ? entry(c, (size_t)exporter - 1) : NULL;

    if (x == NULL)
        return;
    __atomic_fetch_add(&x->x.stats.queue_drops, q_drops, __ATOMIC_RELAXED);
}

fl_rc fl_collect_name_at(const fl_collect *c, uint16_t exporter, int vrf, uint32_t i,
                         uint32_t *key, char *buf, size_t len)
{
    cl_exporter *x = exporter ? entry(c, (size_t)exporter - 1) : NULL;
    fl_rc rc = FL_ENOTFOUND;

    if (x == NULL || len == 0)
        return FL_ENOTFOUND;
    pthread_mutex_lock(&x->mu);
    if (i < (vrf ? x->nvrfnames : x->nifnames)) {
        const cl_name *t = vrf ? &x->vrfnames[i] : &x->ifnames[i];
        *key = t->key;
        snprintf(buf, len, "%s", t->name);
        rc = FL_OK;
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

fl_rc fl_collect_ifcounters_at(const fl_collect *c, uint16_t exporter, uint32_t i,
                               fl_collect_ifcounters *out)
{
    cl_exporter *x = exporter ? entry(c, (size_t)exporter - 1) : NULL;
    fl_rc rc = FL_ENOTFOUND;

    if (x == NULL)
        return FL_ENOTFOUND;
    pthread_mutex_lock(&x->mu);
    if (i < x->nifc && x->ifc != NULL) {
        *out = x->ifc[i];
        rc = FL_OK;
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

uint64_t fl_collect_rejected(const fl_collect *c)
{
    uint64_t n;
    fl_collect *m = (fl_collect *)(uintptr_t)c;

    pthread_mutex_lock(&m->mu);
    n = c->rejected;
    pthread_mutex_unlock(&m->mu);
    return n;
}

uint64_t fl_collect_unattributed(const fl_collect *c)
{
    uint64_t n;
    fl_collect *m = (fl_collect *)(uintptr_t)c;

    pthread_mutex_lock(&m->mu);
    n = c->unattributed;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void cl_exporters_free(fl_collect *c)
{
    for (uint32_t i = 0; i < c->nexp; i++) {
        cl_exporter *x = c->exp[i];
        for (uint32_t j = 0; j < x->x.templates; j++)
            free(x->tpl[j]);
        free(x->tpl);
        free(x->ifnames);
        free(x->vrfnames);
        free(x->ifc);
        pthread_mutex_destroy(&x->mu);
        free(x);
    }
    free(c->exp);
    free(c->hash);
}

/* ---- persistence ----------------------------------------------------- */
/*
 * File: "FLCTPL01", then per exporter 'E' proto(1) addr(16) domain(4)
 * rate_default(4) sys_init(8) nsamplers(2) {id(4) rate(4)}
 * ntemplates(2) {id(2) options(1) nscope(2) nfields(2) {ie(2) len(2)
 * pen(4)}} nifnames(2) {key(4) len(1) bytes} nvrfnames(2) {...}; then 'Z'
 * and an FNV-1a 64 checksum of everything before it. Big-endian.
 */

#define TPL_MAGIC "FLCTPL01"
#define TPL_FILE_MAX (64u << 20)

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int fail;
} wbuf;

static void wb_put(wbuf *b, const void *d, size_t n)
{
    if (b->fail)
        return;
    if (b->n + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->n + n)
            ncap *= 2;
        if (ncap > TPL_FILE_MAX) {
            b->fail = 1;
            return;
        }
        uint8_t *q = realloc(b->p, ncap);
        if (q == NULL) {
            b->fail = 1;
            return;
        }
        b->p = q;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void wb_u(wbuf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    wb_put(b, t, (size_t)bytes);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void save_names(wbuf *b, const cl_name *t, uint32_t n)
{
    wb_u(b, n, 2);
    for (uint32_t i = 0; i < n; i++) {
        size_t l = strlen(t[i].name);
        wb_u(b, t[i].key, 4);
        wb_u(b, l, 1);
        wb_put(b, t[i].name, l);
    }
}

fl_rc fl_collect_save(fl_collect *c, const char *path, fl_err *e)
{
    wbuf b = {0};
    char tmp[4200];
    FILE *f = NULL;
    fl_rc rc = FL_OK;
    size_t n;

    if (path == NULL)
        path = c->cfg.template_file;
    if (path == NULL)
        return fl_err_set(e, FL_EINVAL, "no template file configured");
    wb_put(&b, TPL_MAGIC, 8);
    n = fl_collect_exporter_count(c);
    for (size_t i = 0; i < n; i++) {
        cl_exporter *x = entry(c, i);
        uint8_t a[16];
        pthread_mutex_lock(&x->mu);
        fl_addr_to_v6(x->x.addr, a);
        wb_u(&b, 'E', 1);
        wb_u(&b, (uint64_t)x->x.proto, 1);
        wb_put(&b, a, 16);
        wb_u(&b, x->x.domain, 4);
        wb_u(&b, x->rate_default, 4);
        wb_u(&b, (uint64_t)x->sys_init_ms, 8);
        wb_u(&b, x->nsamplers, 2);
        for (uint32_t j = 0; j < x->nsamplers; j++) {
            wb_u(&b, x->samplers[j].id, 4);
            wb_u(&b, x->samplers[j].rate, 4);
        }
        wb_u(&b, x->x.templates, 2);
        for (uint32_t j = 0; j < x->x.templates; j++) {
            const cl_template *t = x->tpl[j];
            wb_u(&b, t->id, 2);
            wb_u(&b, t->options, 1);
            wb_u(&b, t->nscope, 2);
            wb_u(&b, t->nfields, 2);
            for (uint16_t k = 0; k < t->nfields; k++) {
                wb_u(&b, t->f[k].ie, 2);
                wb_u(&b, t->f[k].len, 2);
                wb_u(&b, t->f[k].pen, 4);
            }
        }
        save_names(&b, x->ifnames, x->nifnames);
        save_names(&b, x->vrfnames, x->nvrfnames);
        pthread_mutex_unlock(&x->mu);
    }
    wb_u(&b, 'Z', 1);
    wb_u(&b, fnv(b.p, b.n), 8);
    if (b.fail) {
        rc = fl_err_set(e, FL_ENOMEM, "template file would exceed %u bytes", TPL_FILE_MAX);
        goto out;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        rc = fl_err_set(e, FL_EINVAL, "template file path too long");
        goto out;
    }
    f = fopen(tmp, "wb");
    if (f == NULL || fwrite(b.p, 1, b.n, f) != b.n || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        rc = fl_err_at(e, FL_EIO, tmp, 0, -1, "cannot write the template file");
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = fl_err_at(e, FL_EIO, tmp, 0, -1, "cannot write the template file");
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        rc = fl_err_at(e, FL_EIO, path, 0, -1, "cannot rename %s into place", tmp);
out:
    if (f != NULL)
        fclose(f);
    if (rc != FL_OK)
        remove(tmp);
    free(b.p);
    return rc;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t n, off;
    int fail;
} rbuf;

static uint64_t rb_u(rbuf *r, int bytes)
{
    uint64_t v = 0;
    if (r->fail || r->n - r->off < (size_t)bytes) {
        r->fail = 1;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->p[r->off++];
    return v;
}

static void load_names(rbuf *r, cl_exporter *x, int vrf)
{
    uint32_t n = (uint32_t)rb_u(r, 2);
    for (uint32_t i = 0; i < n && !r->fail; i++) {
        uint32_t key = (uint32_t)rb_u(r, 4);
        size_t l = (size_t)rb_u(r, 1);
        if (r->fail || r->n - r->off < l) {
            r->fail = 1;
            return;
        }
        cl_set_name(x, vrf, key, r->p + r->off, l);
        r->off += l;
    }
}

static fl_rc load_buf(fl_collect *c, const uint8_t *p, size_t n, const char *path, fl_err *e)
{
    rbuf r = {p, n - 9, 8, 0};
    cl_field *fields = NULL;
    fl_rc rc = FL_OK;

    if (n < 17 || memcmp(p, TPL_MAGIC, 8) != 0)
        return fl_err_at(e, FL_ECORRUPT, path, 0, 0, "not a flowlens template file");
    if (p[n - 9] != 'Z' || fnv(p, n - 8) != cl_be64(p + n - 8))
        return fl_err_at(e, FL_ECORRUPT, path, 0, (long long)n - 8, "template file checksum mismatch");
    fields = malloc(CL_MAX_FIELDS * sizeof *fields);
    if (fields == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory loading templates");
    while (r.off < r.n && !r.fail) {
        size_t at = r.off;
        fl_collect_proto proto;
        uint8_t a[16];
        uint32_t domain, nt, ns;
        cl_exporter *x;
        cl_ctx k;
        int scratch;

        if (rb_u(&r, 1) != 'E' || r.n - r.off < 17) {
            r.fail = 1;
            break;
        }
        proto = (fl_collect_proto)rb_u(&r, 1);
        memcpy(a, r.p + r.off, 16);
        r.off += 16;
        domain = (uint32_t)rb_u(&r, 4);
        memset(&k, 0, sizeof k);
        x = cl_exporter_get(c, proto, fl_addr_from_v6(a), domain, 0, e);
        scratch = 0;
        if (x == NULL && e != NULL && e->rc == FL_EINVAL) {
            /* not allowed by the configuration now: read its entry into a
             * scratch exporter and drop it (the rest of the file loads) */
            pthread_mutex_lock(&c->mu);
            c->rejected--;
            c->unattributed--;
            pthread_mutex_unlock(&c->mu);
            fl_err_clear(e);
            x = calloc(1, sizeof *x);
            if (x == NULL) {
                rc = fl_err_set(e, FL_ENOMEM, "out of memory loading templates");
                goto out;
            }
            x->x.proto = proto;
            scratch = 1;
        }
        if (x == NULL) {
            rc = e ? e->rc : FL_ELIMIT;
            goto out;
        }
        x->rate_default = (uint32_t)rb_u(&r, 4);
        x->sys_init_ms = (int64_t)rb_u(&r, 8);
        ns = (uint32_t)rb_u(&r, 2);
        for (uint32_t i = 0; i < ns && !r.fail; i++) {
            uint32_t id = (uint32_t)rb_u(&r, 4), rate = (uint32_t)rb_u(&r, 4);
            cl_set_sampler(x, 1, id, rate);
        }
        if (x->rate_default && !x->eff_override) {
            x->x.sampling_rate = x->rate_default;
            x->x.sampling_source = FL_SAMPLING_SRC_OPTIONS;
        }
        nt = (uint32_t)rb_u(&r, 2);
        for (uint32_t i = 0; i < nt && !r.fail; i++) {
            uint16_t id = (uint16_t)rb_u(&r, 2);
            int options = (int)rb_u(&r, 1);
            uint16_t nscope = (uint16_t)rb_u(&r, 2), nf = (uint16_t)rb_u(&r, 2);
            cl_template *t;
            if (nf > CL_MAX_FIELDS || nscope > nf) {
                r.fail = 1;
                break;
            }
            for (uint16_t j = 0; j < nf; j++) {
                fields[j].ie = (uint16_t)rb_u(&r, 2);
                fields[j].len = (uint16_t)rb_u(&r, 2);
                fields[j].pen = (uint32_t)rb_u(&r, 4);
                cl_field_bind(&fields[j], proto == FL_PROTO_NF9 && options && j < nscope);
            }
            if (r.fail)
                break;
            t = cl_tpl_build(id, options, nscope, fields, nf);
            if (t == NULL || cl_tpl_put(c, x, t) != FL_OK)
                break;
        }
        load_names(&r, x, 0);
        load_names(&r, x, 1);
        if (scratch) {
            for (uint32_t j = 0; j < x->x.templates; j++)
                free(x->tpl[j]);
            free(x->tpl);
            free(x->ifnames);
            free(x->vrfnames);
            free(x);
        } else {
            x->announce = 1;
            cl_exporter_unlock(c, x);
        }
        if (r.fail) {
            rc = fl_err_at(e, FL_ECORRUPT, path, 0, (long long)at, "damaged exporter entry");
            goto out;
        }
    }
    if (r.fail)
        rc = fl_err_at(e, FL_ECORRUPT, path, 0, (long long)r.off, "damaged template file");
out:
    free(fields);
    return rc;
}

fl_rc fl_collect_load(fl_collect *c, const char *path, fl_err *e)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;
    fl_rc rc;

    if (f == NULL)
        return fl_err_at(e, FL_ENOTFOUND, path, 0, -1, "cannot open the template file");
    buf = malloc(TPL_FILE_MAX);
    if (buf == NULL) {
        fclose(f);
        return fl_err_set(e, FL_ENOMEM, "out of memory loading templates");
    }
    n = fread(buf, 1, TPL_FILE_MAX, f);
    fclose(f);
    rc = load_buf(c, buf, n, path, e);
    free(buf);
    return rc;
}
