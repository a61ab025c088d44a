# The Python workload of tests/bench/alloc.sh (run with PYTHONMALLOC=malloc, so every object goes
# through malloc): builds and discards dicts, lists and strings of many sizes, a JSON round trip
# and a sort, as a data-processing script does. Deterministic; prints a checksum.
import json
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
total = 0
for rnd in range(2):
    table = {}
    for i in range(25000):
        key = "k%d-%s" % (i, "x" * random.randrange(1, 40))
        table[key] = [random.random() for _ in range(random.randrange(1, 12))]
    text = json.dumps(table)
    back = json.loads(text)
    words = sorted(back, key=lambda k: (len(k), k))
    total += len(text) + len(words[0])
    for k in words[::2]:
        del back[k]
    total += sum(len(v) for v in back.values())
print(total)
