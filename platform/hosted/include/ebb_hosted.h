/* Hosted-only services: file descriptors in the core's epoll loop, and starting the runtime from
 * a program's own main(). */
#pragma once
#include <stdint.h>

/* Watches fd on this core: fn(arg, events) runs as an event when epoll reports `events`
 * (EPOLLIN, EPOLLOUT, ...; level-triggered). Returns 0 or -errno. */
typedef void (*ebb_fd_fn)(void *arg, uint32_t events);
int ebb_fd_watch(int fd, uint32_t events, ebb_fd_fn fn, void *arg);
int ebb_fd_modify(int fd, uint32_t events);
int ebb_fd_unwatch(int fd);

/* The library's main() (weak) calls this: parses argv as key=value (cores=N: how many pinned
 * threads, default all CPUs), starts the cores, runs app_main() on core 0, and returns the code
 * given to ebb_exit(). A program with its own main() may call it too. */
int ebb_hosted_run(int argc, char **argv);
