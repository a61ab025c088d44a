/* The key=value configuration: the native kernel's command-line splitter, the parser's errors and
 * its rules (the last value of a key wins, bounded key count), and whole-number checks. */
#include "core/config.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

int main(void)
{
    tap_plan(12);
    tap_deadline(30);

    char line[] = "  kernel  cores=2 ip=10.0.0.2/24   ";
    char *argv[8];
    int argc = ebb_config_split(line, argv, 8);
    ok(argc == 3 && !strcmp(argv[0], "kernel") && !strcmp(argv[1], "cores=2") &&
           !strcmp(argv[2], "ip=10.0.0.2/24") && argv[3] == NULL,
       "split: runs of spaces separate words, leading and trailing ones vanish (argc %d)", argc);
    char empty[] = "   ";
    ok(ebb_config_split(empty, argv, 8) == 0 && argv[0] == NULL, "split: a blank line has no words");
    char many[] = "a b c d e f g h i j";
    argc = ebb_config_split(many, argv, 4);
    ok(argc == 3 && argv[3] == NULL, "split: at most max-1 words, and argv stays NULL-terminated");

    char err[128] = "";
    char *good[] = {"cores=2", "port=7000", "cores=3", NULL};
    ok(ebb_config_parse(3, good, err, sizeof err) == 0, "parse: key=value words are accepted");
    ok(!strcmp(ebb_config_str("cores", "?"), "3"), "parse: the last value of a repeated key wins");
    ok(ebb_config_get("absent") == NULL && !strcmp(ebb_config_str("absent", "d"), "d"),
       "an absent key reads as NULL, or the given default");
    char *bad[] = {"cores", NULL};
    ok(ebb_config_parse(1, bad, err, sizeof err) < 0 && strstr(err, "'cores'") &&
           strstr(err, "key=value"),
       "parse: a word without '=' is refused, naming it (%s)", err);
    char *nokey[] = {"=5", NULL};
    ok(ebb_config_parse(1, nokey, err, sizeof err) < 0, "parse: an empty key is refused");

    ebb_config_clear();
    static char words[70][16];
    char *lots[70];
    for (int i = 0; i < 70; i++) {
        snprintf(words[i], sizeof words[i], "k%d=1", i);
        lots[i] = words[i];
    }
    ok(ebb_config_parse(70, lots, err, sizeof err) < 0 && strstr(err, "too many"),
       "parse: more distinct keys than the table holds is an error, not an overflow (%s)", err);

    long v = 0;
    ok(ebb_config_parse_int("0x10", 0, 100, &v) == 0 && v == 16, "whole numbers: hex accepted");
    ok(ebb_config_parse_int("101", 0, 100, &v) < 0 && ebb_config_parse_int("-1", 0, 100, &v) < 0,
       "whole numbers: out of range refused");
    ok(ebb_config_parse_int("", 0, 100, &v) < 0 && ebb_config_parse_int("12x", 0, 100, &v) < 0 &&
           ebb_config_parse_int("99999999999999999999", 0, 100, &v) < 0,
       "whole numbers: empty, trailing junk and overflow refused");
    return tap_done();
}
