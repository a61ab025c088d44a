/* Image configuration: key=value pairs from the kernel command line (native) or argv (hosted),
 * the same keys on both, e.g. cores=2 ip=10.0.2.15/24 gw=10.0.2.2 port=11211. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Parses "k=v" words; returns 0, or -1 with a message in err (a word without '=', an empty key,
 * too many words). Later words override earlier ones. */
/* A command line "word word ..." split in place on spaces into argv[0..max-2], NULL-terminated
 * (the native kernel gets its arguments as one string). Returns argc. */
int ebb_config_split(char *s, char **argv, int max);
int ebb_config_parse(int argc, char **argv, char *err, unsigned errlen);
const char *ebb_config_get(const char *key);                   /* NULL if absent */
const char *ebb_config_str(const char *key, const char *dflt);
/* Integer value; a value that is not a whole number in [min,max] ends the program (status 2)
 * with a message naming the key. */
long ebb_config_int(const char *key, long dflt, long min, long max);
/* The same check on a string: 0 and *out, or -1 (not a whole number in [min,max]). */
int ebb_config_parse_int(const char *v, long min, long max, long *out);
/* Forgets every key (the fuzz target parses many command lines in one process). */
void ebb_config_clear(void);
