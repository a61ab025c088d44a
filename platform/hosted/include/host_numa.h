/* Running a child process (a node's QEMU) on host NUMA nodes: the NodeAllocator's numa= option
 * (platform/hosted/host_numa.c, docs/cluster.md). */
#pragma once
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/* Node numbers are below this (the kernel's largest MAX_NUMNODES on x86_64). */
#define HOST_NUMA_MAX 1024

struct host_numa {
    bool on;
    cpu_set_t cpus; /* the CPUs of the nodes */
    unsigned long nodes[HOST_NUMA_MAX / (8 * sizeof(unsigned long))];
};

/* Reads list, host NUMA node numbers written as in sysfs ("0", "0-1,3"), and the CPUs of those
 * nodes into b: 0, or -EINVAL (a malformed list; a node without CPUs) or -ENODEV (a node this
 * host does not have), with why in msg. */
int host_numa_parse(const char *list, struct host_numa *b, char *msg, size_t msglen);

/* The process's CPU affinity from before its core threads pinned themselves (main.c). */
const cpu_set_t *hosted_start_cpus(void);

/* Without nodes in b, gives the calling process back hosted_start_cpus(). With them, puts it on
 * b's nodes: its CPU affinity is their CPUs and its memory policy
 * MPOL_BIND to them, both inherited by the threads it starts and kept across exec. Only
 * async-signal-safe calls (for a child between fork and exec). 0 or -errno. */
int host_numa_apply(const struct host_numa *b);
