#!/bin/sh
# tests/memcached_clients.t against the native image (QEMU, virtio-net on user networking).
MC_PLATFORM=native exec "$(dirname "$0")/memcached_clients.t"
