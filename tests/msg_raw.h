/* A raw TCP peer of the Messenger for tests: the wire format by hand, including the handshake
 * (net/msg_tcp.c, docs/security.md), with or without the cluster key. */
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core/messenger.h"
#include "core/sha256.h"

/* A loopback port free now, below Linux's ephemeral range (32768-60999), and not `avoid`: the
 * nodes bind it later, and a port the kernel hands out for bind(0) could meanwhile be taken by
 * any outgoing connection (or handed out again by the next bind(0)). Other tests pick from a
 * random start too (tests/lib.sh). */
static inline uint16_t free_port(uint16_t avoid)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned start = (unsigned)(ts.tv_nsec ^ getpid()) % 12000;
    for (unsigned i = 0; i < 12000; i++) {
        uint16_t port = (uint16_t)(20000 + (start + i) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        int free = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (fd >= 0)
            close(fd);
        if (free && port != avoid)
            return port;
    }
    return 0;
}

static inline int send_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}
static inline int recv_all(int fd, void *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p = (char *)p + r;
        n -= (size_t)r;
    }
    return 0;
}
/* Reads one frame; returns its error (0 for a reply), -1 on a broken stream, -2 for another
 * call's reply, -3 for a frame that is neither. */
static inline int recv_frame(int fd, uint32_t want_seq, uint64_t *value)
{
    struct ebb_msg_hdr h;
    uint8_t payload[64];
    if (recv_all(fd, &h, sizeof h) < 0 || h.len > sizeof payload || recv_all(fd, payload, h.len) < 0)
        return -1;
    if (h.seq != want_seq)
        return -2;
    if (h.type == EBB_MSG_REPLY && h.len == 8 && value)
        memcpy(value, payload, 8);
    return h.type == EBB_MSG_ERROR ? h.err : h.type == EBB_MSG_REPLY ? 0 : -3;
}

#define RAW_HELLO (sizeof(struct ebb_msg_hdr) + 40)
static inline void raw_proof(const uint8_t *key, size_t klen, const uint8_t *a, const uint8_t *b,
                      uint8_t out[SHA256_LEN])
{
    struct hmac_sha256 m;
    hmac_sha256_init(&m, key, klen);
    hmac_sha256_update(&m, "ebbrt-msg-proof", 15);
    hmac_sha256_update(&m, a, RAW_HELLO);
    hmac_sha256_update(&m, b, RAW_HELLO);
    hmac_sha256_final(&m, out);
}

/* The handshake as node `node` with key (klen 0: none): 0 once both sides are proven, -1 if the
 * node closed the connection or its proof is wrong. */
static inline int raw_handshake(int fd, unsigned node, const uint8_t *key, size_t klen)
{
    uint8_t mine[RAW_HELLO], theirs[RAW_HELLO], mac[SHA256_LEN], want[SHA256_LEN];
    struct ebb_msg_hdr h = {.len = 40, .type = EBB_MSG_HELLO, .version = EBB_MSG_VERSION,
                            .src = (uint16_t)node};
    memcpy(mine, &h, sizeof h);
    memcpy(mine + sizeof h, "EBBRTMSG", 8);
    for (int i = 0; i < 32; i++)
        mine[sizeof h + 8 + i] = (uint8_t)(rand() ^ i);
    if (send_all(fd, mine, sizeof mine) < 0 || recv_all(fd, theirs, sizeof theirs) < 0)
        return -1;
    raw_proof(key, klen, mine, theirs, mac);
    struct ebb_msg_hdr p = {.len = SHA256_LEN, .type = EBB_MSG_PROOF, .version = EBB_MSG_VERSION,
                            .src = (uint16_t)node};
    if (send_all(fd, &p, sizeof p) < 0 || send_all(fd, mac, sizeof mac) < 0)
        return -1;
    if (recv_all(fd, &p, sizeof p) < 0 || p.type != EBB_MSG_PROOF || p.len != SHA256_LEN ||
        recv_all(fd, mac, sizeof mac) < 0)
        return -1;
    raw_proof(key, klen, theirs, mine, want);
    return memcmp(mac, want, sizeof mac) ? -1 : 0;
}
