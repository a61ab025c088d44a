/* netpipe: the receiving side of NetPIPE's TCP test, for Debian's `NPtcp -h HOST` (ping-pong
 * mode, the default). NPtcp's receiver answers each message with one of the same length and the
 * synchronisation strings with the same string, so this server echoes, except for the 4-byte
 * repeat count that starts each message size: that one it reads and keeps. To know where those
 * counts fall it walks the same sequence of sizes as NPtcp (np_start= and np_pert= must match
 * the client's -l and -p; defaults 1 and 3). port= defaults to NetPIPE's 5002. */
#include <stdio.h>
#include <stdlib.h>
#include "core/config.h"
#include "core/event.h"
#include "net/net.h"

#define SYNC_LEN 6 /* "SyncMe" */
#define TRIALS 3
#define LATENCY_REPS 100

enum np_state { ECHO, ITER_START, REPEAT };

struct np {
    enum np_state state, after;
    uint64_t left;             /* ECHO: bytes still to echo */
    uint8_t rep[4];
    unsigned rep_have;
    long pert_cfg, inc, nq, len, pert, pstep;
};

static long np_start, np_pert;

static void sizes_outer(struct np *p)
{
    if (p->nq > 2)
        p->inc = (p->nq % 2) ? p->inc + p->inc : p->inc;
    bool spread = p->pert_cfg > 0 && p->inc > p->pert_cfg + 1;
    p->pert = spread ? -p->pert_cfg : 0;
    p->pstep = spread ? p->pert_cfg : p->pert_cfg + 1;
}

/* The next message size, in NPtcp's order. */
static uint64_t next_size(struct np *p)
{
    uint64_t size = (uint64_t)(p->len + p->pert);
    p->pert += p->pstep;
    if (p->pert > p->pert_cfg) {
        p->len += p->inc;
        p->nq++;
        sizes_outer(p);
    }
    return size;
}

static void on_receive(void *arg, struct tcp_conn *c, struct iobuf *data)
{
    struct np *p = arg;
    while (data) {
        size_t avail = iobuf_chain_len(data);
        if (avail == 0) {
            iobuf_free(data);
            return;
        }
        switch (p->state) {
        case ECHO: {
            uint64_t k = p->left < avail ? p->left : avail;
            struct iobuf *rest;
            struct iobuf *part = iobuf_chain_split(data, k, &rest);
            data = rest;
            tcp_send_buffered(c, part);
            p->left -= k;
            if (p->left == 0)
                p->state = p->after;
            break;
        }
        case ITER_START: {
            uint8_t first;
            iobuf_copy_out(data, 0, &first, 1);
            p->state = ECHO;
            if (first == 'Q') { /* "QUIT": the client is done; echo it and whatever follows */
                p->left = UINT64_MAX;
                p->after = ECHO;
            } else {
                p->left = SYNC_LEN;
                p->after = REPEAT;
            }
            break;
        }
        case REPEAT: {
            size_t k = 4 - p->rep_have < avail ? 4 - p->rep_have : avail;
            iobuf_copy_out(data, 0, p->rep + p->rep_have, k);
            p->rep_have += (unsigned)k;
            data = iobuf_chain_trim_front(data, k);
            if (p->rep_have == 4) {
                uint64_t nrepeat = (uint64_t)p->rep[0] << 24 | p->rep[1] << 16 | p->rep[2] << 8 |
                                   p->rep[3];
                p->rep_have = 0;
                p->state = ECHO;
                p->left = TRIALS * (SYNC_LEN + nrepeat * next_size(p));
                p->after = ITER_START;
            }
            break;
        }
        }
    }
}

static void on_closed(void *arg, struct tcp_conn *c)
{
    free(arg);
    tcp_close(c);
}

static void on_aborted(void *arg, struct tcp_conn *c, int err)
{
    (void)c;
    (void)err;
    free(arg);
}

static const struct tcp_handlers np_handlers = {
    .receive = on_receive, .closed = on_closed, .aborted = on_aborted,
};

static void on_accept(void *arg, struct tcp_conn *c)
{
    (void)arg;
    struct np *p = calloc(1, sizeof *p);
    if (!p) {
        tcp_abort(c);
        return;
    }
    p->pert_cfg = np_pert;
    tcp_set_send_limit(c, 256u << 20); /* echoes one message at a time: NPtcp's largest fits */
    p->inc = np_start > 1 ? np_start / 2 : 1;
    p->nq = np_start > 1 ? 1 : 0;
    p->len = np_start;
    sizes_outer(p);
    /* Sync, the latency ping-pong of np_start-byte messages, Sync: all echoed. */
    p->state = ECHO;
    p->left = SYNC_LEN + LATENCY_REPS * (uint64_t)np_start + SYNC_LEN;
    p->after = ITER_START;
    tcp_set_handlers(c, &np_handlers, p);
}

static ebb_future_t up(void *arg, int err, uint64_t v)
{
    (void)arg;
    if (err) {
        fprintf(stderr, "netpipe: no network (error %d)\n", err);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    struct net *n = (struct net *)(uintptr_t)v;
    uint16_t port = (uint16_t)ebb_config_int("port", 5002, 1, 65535);
    np_start = ebb_config_int("np_start", 1, 1, 1 << 30);
    np_pert = ebb_config_int("np_pert", 3, 0, 1000);
    if (!tcp_listen(n, port, on_accept, NULL)) {
        fprintf(stderr, "netpipe: port %u is taken\n", port);
        ebb_exit(1);
        return ebb_future_ready(0);
    }
    char ip[16];
    printf("netpipe: ready on %s port %u\n", ip4_format(net_addr(n), ip), port);
    fflush(stdout);
    return ebb_future_ready(0);
}

void app_main(void)
{
    ebb_future_drop(ebb_future_then_full(net_start_from_config(), up, NULL));
}
