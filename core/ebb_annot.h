/* Annotations for Ebb interfaces (x.ebb.h), read by ebbgen (see docs/ebbgen.md).
 *
 * They expand to clang `annotate` attributes, which ebbgen sees through libclang; gcc compiles
 * the same header with the annotations expanded to nothing (it would warn about `annotate`).
 *
 *   struct EBB_INTERFACE(per_core) counter {
 *       void (*add)(void *self, uint64_t n);
 *       uint64_t (*get)(void *self) EBB_REMOTE;
 *       size_t (*read)(void *self, uint8_t *EBB_OUT(len) buf, size_t len) EBB_REMOTE;
 *   };
 */
#pragma once

#if defined(__clang__)
#define EBB_ANNOT_(s) __attribute__((annotate(s)))
#else
#define EBB_ANNOT_(s)
#endif

/* On the struct, between `struct` and its name: marks an interface; kind (shared, per_core or
 * per_node) is the kind of root the generated NAME_ROOT() macro defines. */
#define EBB_INTERFACE(kind) EBB_ANNOT_("ebb:interface:" #kind)
/* After a method's declarator: the method is callable from another node through the Messenger. */
#define EBB_REMOTE EBB_ANNOT_("ebb:remote")
/* Between a pointer parameter's `*` and its name: the buffer holds `len` elements (len: another,
 * integer, parameter of the method), sent to the callee (IN), filled by it (OUT), or both. */
#define EBB_IN(len) EBB_ANNOT_("ebb:in:" #len)
#define EBB_OUT(len) EBB_ANNOT_("ebb:out:" #len)
#define EBB_INOUT(len) EBB_ANNOT_("ebb:inout:" #len)
/* A NUL-terminated string sent to the callee. */
#define EBB_STRING EBB_ANNOT_("ebb:string")
