/* cluster_hello: a hosted front end (front.c) boots native nodes (node.c); each core of each node
 * says hello through the printer Ebb (printer.c), which the front end serves. */
#pragma once
#include "apps/cluster_hello/printer.gen.h"
#include "core/future.h"

/* A future that completes once n hellos have been printed (call before the nodes start). */
ebb_future_t printer_expect(unsigned n);
/* Registers this node (the front end) as the printer's home in the GlobalIdMap, where each node's
 * first call to the printer looks it up. 0 or an errno value. */
int printer_publish(void);
