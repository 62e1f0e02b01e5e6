/*
 * collect/server.c — the listeners: UDP over IPv4 and IPv6 on several
 * addresses, N receiver threads per address sharing the port through
 * SO_REUSEPORT, recvmmsg batches, a large SO_RCVBUF, kernel drop counts
 * from SO_RXQ_OVFL, IPFIX over TCP, and one writer thread behind a
 * bounded queue.
 *
 * Receivers never block on storage: each decodes into its own worker and,
 * when a batch is full (or has waited flush_ms), swaps it for a free one
 * from a pool (grown on demand up to the queue size) and queues it. No free batch means the queue is full:
 * the batch's flows are dropped and counted per exporter. The writer
 * thread pops batches, calls the sink, and returns them to the pool as
 * they are; the receiver clears the batch it takes (so its decoder writes
 * into memory already in its own cache).
 * Receivers take datagrams in batches (recvmmsg, and a 1 ms pause after a
 * batch that came back short, so a steady stream costs one wake-up per
 * dozen datagrams, not one each). The
 * kernel hashes each exporter (source address and port) to one of the
 * sockets sharing a port, so an exporter's datagrams stay in order on one
 * thread while different exporters spread over the threads.
 */
#include "collect_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RX_BATCH 64
/* After a recvmmsg that did not fill its batch, a receiver waits this long
 * before the next one, so datagrams are taken some dozen at a time rather
 * than one wake-up each (wake-ups were a third of the receiver's CPU at
 * 250 k flows/s). The socket buffer holds far more than arrives meanwhile:
 * 4 MiB is ~1,800 full-size datagrams, 1 ms is ~15 of them at 250 k
 * flows/s. A full batch loops at once. */
#define RX_COALESCE_NS 1000000L
#define RX_BUF 65536
#define MAX_SOCKS 64
#define MAX_TCP_CONN 64
#define TCP_BUF (65535 + 16)

typedef struct rx_thread {
    struct fl_collect_server *s;
    int fd;
    pthread_t th;
    int started;
    uint32_t ovfl;          /* last SO_RXQ_OVFL value seen */
    fl_collect_worker *w;
} rx_thread;

typedef struct tcp_conn {
    int fd;
    fl_addr peer;
    uint16_t port;
    size_t n;
    uint8_t *buf;
} tcp_conn;

struct fl_collect_server {
    fl_collect *c;
    fl_collect_server_config cfg;
    rx_thread rx[MAX_SOCKS];
    unsigned nrx;
    uint16_t ports[MAX_SOCKS]; /* per listen address */
    int tcp_fd[MAX_SOCKS];
    unsigned ntcp;
    pthread_t tcp_th;
    int tcp_started;
    pthread_t wr_th;
    int wr_started;
    volatile int stop_rx, stop_wr;
    /* queue */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    fl_batch **pool; /* free batches */
    unsigned npool;
    unsigned nalloc; /* batches allocated for pool + queue, <= qcap */
    fl_batch **q;    /* ring of full batches */
    unsigned qcap, qhead, qlen;
    fl_collect_server_stats st;
};

static void st_add(uint64_t *v, uint64_t d)
{
    __atomic_fetch_add(v, d, __ATOMIC_RELAXED);
}

/* emit hook of receiver workers: queue w->b, take a free batch */
static fl_rc queue_push(void *ctx, fl_collect_worker *w)
{
    struct fl_collect_server *s = ctx;
    fl_rc rc = FL_OK;

    pthread_mutex_lock(&s->qmu);
    if (s->npool == 0 && s->nalloc < s->qcap) {
        /* the pool grows on demand up to the queue's size, so an idle
         * collector does not hold qcap batches of memory */
        fl_batch *nb = fl_batch_new(0);
        if (nb != NULL) {
            s->pool[s->npool++] = nb;
            s->nalloc++;
        }
    }
    if (s->npool == 0 || s->qlen == s->qcap) {
        rc = FL_ELIMIT;
        st_add(&s->st.queue_drops, w->b->n);
    } else {
        fl_batch *fresh = s->pool[--s->npool];
        s->q[(s->qhead + s->qlen) % s->qcap] = w->b;
        s->qlen++;
        w->b = fresh;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    /* the writer returns batches as it used them: clearing here brings
     * the fresh batch into this core's cache before the decoder's
     * scattered stores land in it */
    if (rc == FL_OK)
        fl_batch_clear(w->b);
    return rc;
}

static void *writer_main(void *arg)
{
    struct fl_collect_server *s = arg;

    pthread_mutex_lock(&s->qmu);
    for (;;) {
        while (s->qlen == 0 && !s->stop_wr) {
            /* wake every flush_ms even with nothing queued: the sink's
             * time-based work (publishing the store's open slot) must not
             * wait for the next datagram */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)(s->cfg.flush_ms % 1000) * 1000000L;
            until.tv_sec += s->cfg.flush_ms / 1000 + until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            if (pthread_cond_timedwait(&s->qcv, &s->qmu, &until) == ETIMEDOUT && s->qlen == 0 &&
                !s->stop_wr && s->c->sink.on_idle != NULL) {
                pthread_mutex_unlock(&s->qmu);
                s->c->sink.on_idle(s->c->sink.ctx);
                pthread_mutex_lock(&s->qmu);
            }
        }
        if (s->qlen == 0 && s->stop_wr)
            break;
        fl_batch *b = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        pthread_mutex_unlock(&s->qmu);
        if (s->c->sink.on_batch != NULL) {
            if (s->c->sink.on_batch(s->c->sink.ctx, b) != FL_OK) {
                const uint16_t *ex = FL_U16(b, FL_COL_EXPORTER);
                for (uint32_t i = 0; i < b->n; i++)
                    fl_collect_count_drops(s->c, ex[i], 1);
            }
        }
        st_add(&s->st.batches, 1);
        pthread_mutex_lock(&s->qmu);
        s->pool[s->npool++] = b;
    }
    pthread_mutex_unlock(&s->qmu);
    return NULL;
}

static fl_addr sa_addr(const struct sockaddr_storage *ss, uint16_t *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        *port = ntohs(a->sin_port);
        return fl_addr_from_v4(ntohl(a->sin_addr.s_addr));
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        *port = ntohs(a->sin6_port);
        return fl_addr_from_v6(a->sin6_addr.s6_addr);
    }
    *port = 0;
    return (fl_addr){0, 0};
}

static void *rx_main(void *arg)
{
    rx_thread *t = arg;
    struct fl_collect_server *s = t->s;
    struct mmsghdr *mm = calloc(RX_BATCH, sizeof *mm);
    struct iovec *iov = calloc(RX_BATCH, sizeof *iov);
    struct sockaddr_storage *from = calloc(RX_BATCH, sizeof *from);
    uint8_t *bufs = malloc((size_t)RX_BATCH * RX_BUF);
    char (*ctl)[CMSG_SPACE(sizeof(uint32_t))] = calloc(RX_BATCH, sizeof *ctl);
    fl_time last_flush = fl_time_now();

    if (mm == NULL || iov == NULL || from == NULL || bufs == NULL || ctl == NULL) {
        fl_log_error("collect: receiver thread out of memory");
        goto out;
    }
    if (s->cfg.test_pause_ms > 0) {
        /* tests only: let the socket buffer overflow before reading */
        struct timespec ts = {(time_t)(s->cfg.test_pause_ms / 1000),
                              (long)(s->cfg.test_pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    while (!s->stop_rx) {
        int n;
        for (int i = 0; i < RX_BATCH; i++) {
            iov[i].iov_base = bufs + (size_t)i * RX_BUF;
            iov[i].iov_len = RX_BUF;
            memset(&mm[i].msg_hdr, 0, sizeof mm[i].msg_hdr);
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            mm[i].msg_hdr.msg_name = &from[i];
            mm[i].msg_hdr.msg_namelen = sizeof from[i];
            mm[i].msg_hdr.msg_control = ctl[i];
            mm[i].msg_hdr.msg_controllen = sizeof ctl[i];
        }
        n = recvmmsg(t->fd, mm, RX_BATCH, MSG_WAITFORONE, NULL);
        fl_time now = fl_time_now();
        if (n > 0) {
            st_add(&s->st.datagrams, (uint64_t)n);
            for (int i = 0; i < n; i++) {
                uint16_t port;
                fl_addr src = sa_addr(&from[i], &port);
                fl_err e;
                struct cmsghdr *cm;
                for (cm = CMSG_FIRSTHDR(&mm[i].msg_hdr); cm != NULL;
                     cm = CMSG_NXTHDR(&mm[i].msg_hdr, cm)) {
                    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                        uint32_t v;
                        memcpy(&v, CMSG_DATA(cm), sizeof v);
                        if (v > t->ovfl) {
                            st_add(&s->st.kernel_drops, v - t->ovfl);
                            t->ovfl = v;
                        }
                    }
                }
                fl_err_clear(&e);
                fl_collect_datagram(t->w, src, port, iov[i].iov_base, mm[i].msg_len, now, &e);
            }
        }
        if (t->w->b->n > 0 && now - last_flush >= s->cfg.flush_ms) {
            fl_collect_worker_flush(t->w);
            last_flush = now;
        } else if (t->w->b->n == 0) {
            last_flush = now;
        }
        if (n > 0 && n < RX_BATCH) {
            struct timespec ts = {0, RX_COALESCE_NS};
            nanosleep(&ts, NULL);
        }
    }
out:
    fl_collect_worker_flush(t->w);
    free(mm);
    free(iov);
    free(from);
    free(bufs);
    free(ctl);
    return NULL;
}

/* ---- TCP (IPFIX over TCP, RFC 7011 section 10.4) ----------------------- */

static void tcp_close(tcp_conn *c)
{
    close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
    c->n = 0;
}

static void *tcp_main(void *arg)
{
    struct fl_collect_server *s = arg;
    struct pollfd pf[MAX_SOCKS + MAX_TCP_CONN];
    tcp_conn conn[MAX_TCP_CONN];
    fl_collect_worker *w = fl_collect_worker_new(s->c);
    fl_time last_flush = fl_time_now();

    if (w == NULL)
        return NULL;
    w->emit = queue_push;
    w->emit_ctx = s;
    for (int i = 0; i < MAX_TCP_CONN; i++)
        conn[i].fd = -1;
    while (!s->stop_rx) {
        unsigned np = 0;
        int map[MAX_TCP_CONN];
        for (unsigned i = 0; i < s->ntcp; i++) {
            pf[np].fd = s->tcp_fd[i];
            pf[np++].events = POLLIN;
        }
        for (int i = 0; i < MAX_TCP_CONN; i++) {
            map[i] = -1;
            if (conn[i].fd >= 0) {
                map[i] = (int)np;
                pf[np].fd = conn[i].fd;
                pf[np++].events = POLLIN;
            }
        }
        int r = poll(pf, np, 100);
        fl_time now = fl_time_now();
        if (r > 0) {
            for (unsigned i = 0; i < s->ntcp; i++) {
                if (!(pf[i].revents & POLLIN))
                    continue;
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                int fd = accept(pf[i].fd, (struct sockaddr *)&ss, &sl);
                int slot = -1;
                if (fd < 0)
                    continue;
                for (int j = 0; j < MAX_TCP_CONN; j++)
                    if (conn[j].fd < 0) {
                        slot = j;
                        break;
                    }
                if (slot < 0 || (conn[slot].buf = malloc(TCP_BUF)) == NULL) {
                    fl_log_warn("collect: too many IPFIX/TCP connections, refusing one");
                    close(fd);
                    continue;
                }
                conn[slot].fd = fd;
                conn[slot].n = 0;
                conn[slot].peer = sa_addr(&ss, &conn[slot].port);
                st_add(&s->st.tcp_connections, 1);
            }
            for (int j = 0; j < MAX_TCP_CONN; j++) {
                tcp_conn *c = &conn[j];
                if (map[j] < 0 || !(pf[map[j]].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(c->fd, c->buf + c->n, TCP_BUF - c->n);
                if (got <= 0) {
                    tcp_close(c);
                    continue;
                }
                c->n += (size_t)got;
                size_t off = 0;
                while (c->n - off >= 16) {
                    size_t ml = cl_be16(c->buf + off + 2);
                    fl_err e;
                    if (cl_be16(c->buf + off) != 10 || ml < 16) {
                        fl_log_warn("collect: IPFIX/TCP stream out of sync, closing it");
                        off = c->n;
                        tcp_close(c);
                        break;
                    }
                    if (c->n - off < ml)
                        break;
                    fl_err_clear(&e);
                    st_add(&s->st.datagrams, 1);
                    fl_collect_datagram(w, c->peer, c->port, c->buf + off, ml, now, &e);
                    off += ml;
                }
                if (c->fd >= 0 && off > 0) {
                    memmove(c->buf, c->buf + off, c->n - off);
                    c->n -= off;
                }
            }
        }
        if (w->b->n > 0 && now - last_flush >= s->cfg.flush_ms) {
            fl_collect_worker_flush(w);
            last_flush = now;
        } else if (w->b->n == 0) {
            last_flush = now;
        }
    }
    for (int i = 0; i < MAX_TCP_CONN; i++)
        if (conn[i].fd >= 0)
            tcp_close(&conn[i]);
    fl_collect_worker_free(w);
    return NULL;
}

/* ---- setup --------------------------------------------------------------- */

/* "ADDR:PORT", "[V6]:PORT", ":PORT"; tcp:// prefix sets *tcp */
static fl_rc parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sl, int *tcp,
                          fl_err *e)
{
    const char *s = spec, *colon;
    char *end;
    long port;
    fl_addr a = fl_addr_from_v4(0);
    int any6 = 0;

    *tcp = 0;
    if (strncmp(s, "tcp://", 6) == 0) {
        *tcp = 1;
        s += 6;
    } else if (strncmp(s, "udp://", 6) == 0) {
        s += 6;
    }
    colon = strrchr(s, ':');
    if (colon == NULL)
        return fl_err_at(e, FL_EINVAL, spec, 0, -1, "listen address needs ADDR:PORT");
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return fl_err_at(e, FL_EINVAL, spec, 0, colon + 1 - spec, "bad port");
    if (colon > s) {
        const char *as = s;
        size_t al = (size_t)(colon - s);
        if (al == 2 && strncmp(as, "[]", 2) == 0)
            al = 0;
        if (al == 4 && strncmp(as, "[::]", 4) == 0)
            any6 = 1;
        if (al > 0 && fl_addr_parse(as, al, &a, e) != FL_OK)
            return e ? e->rc : FL_EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    if (fl_addr_is_v4(a) && !any6) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(fl_addr_v4(a));
        *sl = sizeof *in;
    } else {
        struct sockaddr_in6 *in = (struct sockaddr_in6 *)ss;
        in->sin6_family = AF_INET6;
        in->sin6_port = htons((uint16_t)port);
        if (!any6)
            fl_addr_to_v6(a, in->sin6_addr.s6_addr);
        *sl = sizeof *in;
    }
    return FL_OK;
}

static int open_sock(const struct sockaddr_storage *ss, socklen_t sl, int tcp, int rcvbuf,
                     const char *spec, fl_err *e)
{
    int fd = socket(ss->ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    int one = 1;

    if (fd < 0) {
        fl_err_at(e, FL_EIO, spec, 0, -1, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!tcp) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
        /* FORCE needs CAP_NET_ADMIN; fall back to the capped variant */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        struct timeval tv = {0, 100000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&in->sin6_addr);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0) {
        fl_err_at(e, FL_EIO, spec, 0, -1, "bind: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (tcp && listen(fd, 16) != 0) {
        fl_err_at(e, FL_EIO, spec, 0, -1, "listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    uint16_t port = 0;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sa_addr(&ss, &port);
    return port;
}

fl_collect_server *fl_collect_server_start(fl_collect *c, const fl_collect_server_config *cfg,
                                           fl_err *e)
{
    struct fl_collect_server *s = calloc(1, sizeof *s);
    unsigned threads;

    if (s == NULL) {
        fl_err_set(e, FL_ENOMEM, "out of memory starting the listeners");
        return NULL;
    }
    s->c = c;
    s->cfg = *cfg;
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    threads = cfg->threads ? cfg->threads : 1;
    if (s->cfg.rcvbuf <= 0)
        s->cfg.rcvbuf = 32 << 20;
    if (s->cfg.queue_batches == 0)
        s->cfg.queue_batches = 64;
    if (s->cfg.flush_ms <= 0)
        s->cfg.flush_ms = 200;
    if (cfg->nlisten == 0 || cfg->nlisten > MAX_SOCKS) {
        fl_err_set(e, FL_EINVAL, "between 1 and %d listen addresses", MAX_SOCKS);
        goto fail;
    }
    s->qcap = s->cfg.queue_batches;
    s->q = calloc(s->qcap, sizeof *s->q);
    s->pool = calloc(s->qcap, sizeof *s->pool);
    if (s->q == NULL || s->pool == NULL)
        goto nomem;
    for (unsigned i = 0; i < 2 && i < s->qcap; i++) {
        s->pool[i] = fl_batch_new(0);
        if (s->pool[i] == NULL)
            goto nomem;
        s->npool++;
        s->nalloc++;
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = 0;
        int tcp = 0;
        if (parse_listen(cfg->listen[i], &ss, &sl, &tcp, e) != FL_OK)
            goto fail;
        if (tcp) {
            int fd = open_sock(&ss, sl, 1, 0, cfg->listen[i], e);
            if (fd < 0)
                goto fail;
            s->tcp_fd[s->ntcp++] = fd;
            s->ports[i] = bound_port(fd);
            continue;
        }
        for (unsigned t = 0; t < threads; t++) {
            int fd;
            if (s->nrx >= MAX_SOCKS) {
                fl_err_set(e, FL_ELIMIT, "more than %d receiver sockets", MAX_SOCKS);
                goto fail;
            }
            if (t > 0 && ss.ss_family == AF_INET) /* port 0: join the first's */
                ((struct sockaddr_in *)&ss)->sin_port = htons(s->ports[i]);
            else if (t > 0)
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->ports[i]);
            fd = open_sock(&ss, sl, 0, s->cfg.rcvbuf, cfg->listen[i], e);
            if (fd < 0)
                goto fail;
            if (t == 0)
                s->ports[i] = bound_port(fd);
            s->rx[s->nrx].s = s;
            s->rx[s->nrx].fd = fd;
            s->rx[s->nrx].w = fl_collect_worker_new(c);
            if (s->rx[s->nrx].w == NULL) {
                close(fd);
                goto nomem;
            }
            s->rx[s->nrx].w->emit = queue_push;
            s->rx[s->nrx].w->emit_ctx = s;
            s->nrx++;
        }
    }
    if (pthread_create(&s->wr_th, NULL, writer_main, s) != 0)
        goto nomem;
    s->wr_started = 1;
    for (unsigned i = 0; i < s->nrx; i++) {
        if (pthread_create(&s->rx[i].th, NULL, rx_main, &s->rx[i]) != 0)
            goto nomem;
        s->rx[i].started = 1;
    }
    if (s->ntcp > 0) {
        if (pthread_create(&s->tcp_th, NULL, tcp_main, s) != 0)
            goto nomem;
        s->tcp_started = 1;
    }
    return s;
nomem:
    fl_err_set(e, FL_ENOMEM, "out of resources starting the listeners");
fail:
    fl_collect_server_stop(s);
    return NULL;
}

uint16_t fl_collect_server_port(const fl_collect_server *s, size_t i)
{
    return i < s->cfg.nlisten && i < MAX_SOCKS ? s->ports[i] : 0;
}

void fl_collect_server_get_stats(const fl_collect_server *s, fl_collect_server_stats *out)
{
    out->datagrams = __atomic_load_n(&s->st.datagrams, __ATOMIC_RELAXED);
    out->kernel_drops = __atomic_load_n(&s->st.kernel_drops, __ATOMIC_RELAXED);
    out->queue_drops = __atomic_load_n(&s->st.queue_drops, __ATOMIC_RELAXED);
    out->batches = __atomic_load_n(&s->st.batches, __ATOMIC_RELAXED);
    out->tcp_connections = __atomic_load_n(&s->st.tcp_connections, __ATOMIC_RELAXED);
}

void fl_collect_server_stop(fl_collect_server *s)
{
    if (s == NULL)
        return;
    s->stop_rx = 1;
    for (unsigned i = 0; i < s->nrx; i++) {
        if (s->rx[i].started)
            pthread_join(s->rx[i].th, NULL);
    }
    if (s->tcp_started)
        pthread_join(s->tcp_th, NULL);
    /* receivers flushed into the queue; now drain it */
    pthread_mutex_lock(&s->qmu);
    s->stop_wr = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    if (s->wr_started)
        pthread_join(s->wr_th, NULL);
    for (unsigned i = 0; i < s->nrx; i++) {
        /* rows a worker still holds were counted as dropped by its flush */
        fl_collect_worker *w = s->rx[i].w;
        if (w != NULL) {
            w->emit = NULL;
            fl_batch_clear(w->b);
            fl_collect_worker_free(w);
        }
        close(s->rx[i].fd);
    }
    for (unsigned i = 0; i < s->ntcp; i++)
        close(s->tcp_fd[i]);
    for (unsigned i = 0; i < s->npool; i++)
        fl_batch_free(s->pool[i]);
    for (unsigned i = 0; i < s->qlen; i++)
        fl_batch_free(s->q[(s->qhead + i) % s->qcap]);
    free(s->pool);
    free(s->q);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    free(s);
}
