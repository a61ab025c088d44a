/* Hosted-only services: file descriptors in the core's epoll loop. */
#pragma once
#include <stdint.h>

/* Watches fd on this core: fn(arg, events) runs as an event when epoll reports `events`
 * (EPOLLIN, EPOLLOUT, ...; level-triggered). Returns 0 or -errno. */
typedef void (*ebb_fd_fn)(void *arg, uint32_t events);
int ebb_fd_watch(int fd, uint32_t events, ebb_fd_fn fn, void *arg);
int ebb_fd_modify(int fd, uint32_t events);
int ebb_fd_unwatch(int fd);
