/* The cluster test's native node: joins the cluster (node=, cluster=, key_file= from the
 * NodeAllocator) and serves the test's Ebb. */
#include "core/event.h"
#include "core/messenger.h"
#include "tests/cluster/ctest.gen.h"

static void start(void *arg)
{
    (void)arg;
    if (ctest_bind_top() < 0 || ebb_messenger_configure() < 0)
        ebb_exit(2);
}

void app_main(void) { ebb_spawn(start, NULL); }
