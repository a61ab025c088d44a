#!/bin/sh
# Writes an assembly file with the code symbols of a linked kernel, sorted by address, for the
# backtraces of trap.c: native_ksym_count, native_ksym_addr[], native_ksym_name[] (offsets into
# native_ksym_strs). Usage: ksyms.sh kernel.elf > ksyms.S
set -e
nm -n --defined-only "$1" | awk 'BEGIN { n = 0 }
$2 ~ /^[tTwW]$/ && $3 !~ /^\./ { addr[n] = $1; name[n] = $3; n++ }
END {
    print "\t.section .ksyms, \"a\""
    print "\t.balign 8"
    print "\t.globl native_ksym_count, native_ksym_addr, native_ksym_name, native_ksym_strs"
    print "native_ksym_count:\n\t.quad " n
    print "native_ksym_addr:"
    for (i = 0; i < n; i++) print "\t.quad 0x" addr[i]
    print "native_ksym_name:"
    off = 0
    for (i = 0; i < n; i++) { print "\t.long " off; off += length(name[i]) + 1 }
    print "native_ksym_strs:"
    for (i = 0; i < n; i++) print "\t.asciz \"" name[i] "\""
    print "\t.section .note.GNU-stack, \"\", @progbits"
}'
