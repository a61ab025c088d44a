/* Deliberately broken tests for tests/harness.t, which checks that prove, tests/tap.h and
 * tests/timelimit report each as a failure with its reason. Not run by prove directly.
 *   harness_broken pass|fail|exit-early|dropped|no-done|deadline|hang */
#include <string.h>
#include <unistd.h>
#include "tests/tap.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "pass")) { /* the control: a sound test passes */
        tap_plan(2);
        ok(1, "one");
        ok(1, "two");
        return tap_done();
    }
    if (!strcmp(mode, "fail")) {
        tap_plan(1);
        is(1 + 1, 3, "arithmetic");
        return tap_done();
    }
    if (!strcmp(mode, "exit-early")) { /* exit(0) in the middle: the plan is not met */
        tap_plan(3);
        ok(1, "one");
        exit(0);
    }
    if (!strcmp(mode, "dropped")) { /* an assertion that never ran, e.g. in a branch not taken */
        tap_plan(3);
        ok(1, "one");
        ok(1, "two");
        return tap_done();
    }
    if (!strcmp(mode, "no-done")) { /* no plan, and main returns without tap_done() */
        ok(1, "one");
        return 0;
    }
    if (!strcmp(mode, "deadline")) { /* a hang past the test's own deadline */
        tap_plan(2);
        tap_deadline(1);
        ok(1, "one");
        for (;;)
            pause();
    }
    if (!strcmp(mode, "hang")) { /* a hang with no deadline of its own: tests/timelimit stops it */
        tap_plan(2);
        ok(1, "one");
        for (;;)
            pause();
    }
    fprintf(stderr, "harness_broken: unknown mode '%s'\n", mode);
    return 2;
}
