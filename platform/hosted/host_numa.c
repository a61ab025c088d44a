/* Host NUMA nodes for a child process (include/host_numa.h): its CPUs from
 * /sys/devices/system/node/nodeN/cpulist, its memory through set_mempolicy(MPOL_BIND), a raw
 * system call (no libnuma). Both are set between fork and exec, so every thread of the child
 * (a QEMU's vCPUs) and all its memory (the guest's RAM) stay on the nodes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "host_numa.h"

#define NODE_DIR "/sys/devices/system/node"
#define WORD_BITS (8 * sizeof(unsigned long))

/* Sets in bits (max of them) the numbers of list, as sysfs writes them ("0-3,8"): 0, -EINVAL
 * (malformed) or -ERANGE (a number >= max). */
static int parse_list(const char *s, unsigned long *bits, unsigned max)
{
    for (;;) {
        char *end;
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                return -EINVAL;
            b = strtoul(end + 1, &end, 10);
        }
        if (a > b)
            return -EINVAL;
        if (b >= max)
            return -ERANGE;
        for (unsigned long i = a; i <= b; i++)
            bits[i / WORD_BITS] |= 1ul << i % WORD_BITS;
        if (!*end)
            return 0;
        if (*end != ',')
            return -EINVAL;
        s = end + 1;
    }
}

/* A sysfs file's first line, without its newline: its length, or -1. */
static ssize_t read_line(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t l = read(fd, buf, n - 1);
    close(fd);
    if (l < 0)
        return -1;
    buf[l] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return (ssize_t)strlen(buf);
}

int host_numa_parse(const char *list, struct host_numa *b, char *msg, size_t msglen)
{
    memset(b, 0, sizeof *b);
    CPU_ZERO(&b->cpus);
    int err = parse_list(list, b->nodes, HOST_NUMA_MAX);
    if (err) {
        snprintf(msg, msglen, err == -ERANGE ? "no host has NUMA node numbers that large"
                 : "expected host NUMA node numbers as 0 or 0-1,3");
        return err == -ERANGE ? -ENODEV : err;
    }
    for (unsigned node = 0; node < HOST_NUMA_MAX; node++) {
        if (!(b->nodes[node / WORD_BITS] >> node % WORD_BITS & 1))
            continue;
        char path[64], line[8192], online[256];
        snprintf(path, sizeof path, NODE_DIR "/node%u/cpulist", node);
        if (read_line(path, line, sizeof line) < 0) {
            if (read_line(NODE_DIR "/online", online, sizeof online) < 0)
                strcpy(online, "none: this kernel has no NUMA support");
            snprintf(msg, msglen, "this host has no NUMA node %u (its nodes: %s)", node, online);
            return -ENODEV;
        }
        unsigned long cpus[CPU_SETSIZE / WORD_BITS] = { 0 };
        if (!line[0] || parse_list(line, cpus, CPU_SETSIZE) < 0) {
            snprintf(msg, msglen, "host NUMA node %u has no CPUs (cpulist \"%s\")",
                     node, line);
            return -EINVAL;
        }
        for (unsigned c = 0; c < CPU_SETSIZE; c++)
            if (cpus[c / WORD_BITS] >> c % WORD_BITS & 1)
                CPU_SET(c, &b->cpus);
    }
    b->on = true;
    return 0;
}

int host_numa_apply(const struct host_numa *b)
{
    if (!b->on) {
        const cpu_set_t *all = hosted_start_cpus();
        return CPU_COUNT(all) && sched_setaffinity(0, sizeof *all, all) < 0 ? -errno : 0;
    }
    if (sched_setaffinity(0, sizeof b->cpus, &b->cpus) < 0)
        return -errno;
    /* maxnode counts one more than the mask's bits (the kernel drops the last). */
    if (syscall(SYS_set_mempolicy, MPOL_BIND, b->nodes, (unsigned long)HOST_NUMA_MAX + 1) < 0)
        return -errno;
    return 0;
}
