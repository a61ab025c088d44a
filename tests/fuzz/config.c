/* Fuzz target: the key=value command line (core/config.c), the integer and address checks on
 * values, and the Messenger's peers= list. */
#include <string.h>
#include "core/config.h"
#include "core/messenger.h"
#include "net/net.h"
#include "tests/fuzz/harness.h"

void fuzz_init(void) {}

static int count_peer(void *arg, unsigned node, const char *addr, uint16_t port)
{
    (void)node, (void)port;
    (*(unsigned *)arg) += (unsigned)strlen(addr) > 0;
    return 0;
}

int fuzz_one(const uint8_t *data, size_t n)
{
    /* The input as a command line, split as the native kernel splits its own (a copy lives
     * through the parse). */
    static char buf[4096];
    static char *argv[256];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = 0;
    int argc = ebb_config_split(buf, argv, 256);
    char err[128];
    ebb_config_clear();
    if (ebb_config_parse(argc, argv, err, sizeof err) < 0)
        return 0;
    static const char *keys[] = {"cores", "node", "listen", "ip", "gw", "peers", "netif", "x"};
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = ebb_config_get(keys[i]);
        if (!v)
            continue;
        long l;
        ebb_config_parse_int(v, -5, 70000, &l);
        ip4_t a;
        unsigned prefix;
        char out[16];
        if (ip4_parse(v, &a) == 0)
            ip4_format(a, out);
        ip4_parse_cidr(v, &a, &prefix);
        unsigned peers = 0;
        ebb_msg_parse_peers(v, count_peer, &peers);
    }
    return 0;
}
