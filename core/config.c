/* key=value configuration from argv (hosted) or the kernel command line (native). */
#include "core/config.h"
#include "core/ebb.h"
#include "core/platform.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 64

static struct { const char *key; unsigned klen; const char *val; } kv[MAX_KEYS];
static unsigned nkv;

int ebb_config_parse(int argc, char **argv, char *err, unsigned errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        const char *eq = strchr(w, '=');
        if (!eq || eq == w) {
            snprintf(err, errlen, "bad argument '%s': expected key=value", w);
            return -1;
        }
        unsigned klen = (unsigned)(eq - w), j;
        for (j = 0; j < nkv; j++)
            if (kv[j].klen == klen && !strncmp(kv[j].key, w, klen))
                break;
        if (j == nkv) {
            if (nkv == MAX_KEYS) {
                snprintf(err, errlen, "too many arguments (at most %d keys)", MAX_KEYS);
                return -1;
            }
            nkv++;
        }
        kv[j].key = w;
        kv[j].klen = klen;
        kv[j].val = eq + 1;
    }
    return 0;
}

void ebb_config_clear(void) { nkv = 0; }

const char *ebb_config_get(const char *key)
{
    size_t klen = strlen(key);
    for (unsigned j = 0; j < nkv; j++)
        if (kv[j].klen == klen && !strncmp(kv[j].key, key, klen))
            return kv[j].val;
    return NULL;
}

const char *ebb_config_str(const char *key, const char *dflt)
{
    const char *v = ebb_config_get(key);
    return v ? v : dflt;
}

int ebb_config_parse_int(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 0);
    if (!*v || *end || errno || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

long ebb_config_int(const char *key, long dflt, long min, long max)
{
    const char *v = ebb_config_get(key);
    long n;
    if (!v)
        return dflt;
    if (ebb_config_parse_int(v, min, max, &n) < 0) {
        char msg[200];
        int len = snprintf(msg, sizeof msg, "config: %s=%s: expected a whole number from %ld to %ld\n",
                           key, v, min, max);
        platform_console_write(msg, len > 0 && len < (int)sizeof msg ? (size_t)len : sizeof msg - 1);
        platform_halt(2);
    }
    return n;
}

int ebb_config_split(char *s, char **argv, int max)
{
    int argc = 0;
    while (*s && argc < max - 1) {
        while (*s == ' ')
            *s++ = 0;
        if (!*s)
            break;
        argv[argc++] = s;
        while (*s && *s != ' ')
            s++;
    }
    argv[argc] = NULL;
    return argc;
}
