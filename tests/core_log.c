/* The log facility: which levels each log= setting shows, that the default is quiet, and that a
 * bad log= value is refused with a message. Lines go to the console (stderr hosted): the test
 * catches them in a file. */
#include "core/config.h"
#include "core/log.h"
#include "tap.h"
#include <stdio.h>
#include <unistd.h>

static FILE *cap;

/* Parses the words, logs one line of each level tagged with `tag`, returns what came out. */
static const char *run(const char *word, const char *tag)
{
    static char out[1024];
    char *argv[] = {(char *)word, NULL};
    char err[128];
    ebb_config_parse(word ? 1 : 0, argv, err, sizeof err);
    rewind(cap);
    if (ftruncate(fileno(cap), 0) < 0)
        return "";
    ebb_debug("debug %s", tag);
    ebb_info("info %s", tag);
    ebb_warn("warn %s", tag);
    fflush(stderr);
    rewind(cap);
    size_t n = fread(out, 1, sizeof out - 1, cap);
    out[n] = 0;
    return out;
}

int main(void)
{
    tap_plan(6);
    cap = tmpfile();
    int saved = dup(2);
    dup2(fileno(cap), 2);
    const char *dflt = run(NULL, "d");
    char quiet[64], warn[64], info[128], debug[128];
    snprintf(quiet, sizeof quiet, "%s", dflt);
    snprintf(warn, sizeof warn, "%s", run("log=warn", "w"));
    snprintf(info, sizeof info, "%s", run("log=info", "i"));
    snprintf(debug, sizeof debug, "%s", run("log=debug", "x"));
    char *bad[] = {"log=loud", NULL};
    char err[128];
    ebb_config_parse(1, bad, err, sizeof err);
    rewind(cap);
    if (ftruncate(fileno(cap), 0) < 0)
        return 1;
    int rc = ebb_log_configure();
    fflush(stderr);
    rewind(cap);
    char msg[256];
    size_t n = fread(msg, 1, sizeof msg - 1, cap);
    msg[n] = 0;
    dup2(saved, 2);

    ok(strcmp(quiet, "warn d\n") == 0, "by default only warnings show (got '%s')", quiet);
    ok(strcmp(warn, "warn w\n") == 0, "log=warn: warnings only");
    ok(strcmp(info, "info i\nwarn i\n") == 0, "log=info: info and warnings");
    ok(strcmp(debug, "debug x\ninfo x\nwarn x\n") == 0, "log=debug: every level");
    is(rc, -1, "log=loud is refused");
    ok(strstr(msg, "log=loud") && strstr(msg, "debug, info or warn"),
       "with a message naming the value and the choices (got '%s')", msg);
    return tap_done(1);
}
