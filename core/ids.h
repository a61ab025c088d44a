/* Static Ebb ids, in one place. Node 0's id space (core/ebb.h: EBB_ID(node, index)) is split:
 *   index 1 .. EBB_FIRST_APP_ID-1         the system Ebbs below (ebbs/, ebbs/default.manifest)
 *   index EBB_FIRST_APP_ID .. EBB_FIRST_DYNAMIC-1   an application's static ids (its manifest)
 *   index EBB_FIRST_DYNAMIC ..            dynamic ids (ebb_id_alloc), on every node
 * An image's manifest may bind a system id to a root of its own (replacing a system Ebb), but only
 * by the id's name; any other static id it binds must lie in the applications' range, and no two
 * of its bindings may share an id. The table ebbgen generates from the manifest checks both when
 * it is compiled (EBB_SYSTEM_<name> marks the system ids' names). */
#pragma once

#define EBB_FIRST_APP_ID  64u
#define EBB_FIRST_DYNAMIC 256u

enum ebb_system_index {
    EBB_SYS_MESSENGER = 8,   /* the Messenger (ebbs/messenger.ebb.h) */
    EBB_SYS_NODE_ALLOCATOR = 9, /* the NodeAllocator (ebbs/node_allocator.ebb.h), hosted */
    EBB_SYS_GLOBALIDMAP = 10, /* the GlobalIdMap (ebbs/globalidmap.ebb.h) */
    EBB_SYS_MALLOC = 16,     /* the malloc family (ebbs/malloc.ebb.h) */
    EBB_SYS_PAGES = 17,      /* the page allocator (ebbs/page_allocator.ebb.h) */
};

#define EBB_ID_MESSENGER EBB_ID(0, EBB_SYS_MESSENGER)
#define EBB_ID_NODE_ALLOCATOR EBB_ID(0, EBB_SYS_NODE_ALLOCATOR)
#define EBB_ID_GLOBALIDMAP EBB_ID(0, EBB_SYS_GLOBALIDMAP)
#define EBB_ID_MALLOC    EBB_ID(0, EBB_SYS_MALLOC)
#define EBB_ID_PAGES     EBB_ID(0, EBB_SYS_PAGES)
#define EBB_SYSTEM_EBB_ID_MESSENGER 1
#define EBB_SYSTEM_EBB_ID_NODE_ALLOCATOR 1
#define EBB_SYSTEM_EBB_ID_GLOBALIDMAP 1
#define EBB_SYSTEM_EBB_ID_MALLOC    1
#define EBB_SYSTEM_EBB_ID_PAGES     1

#define EBB_ID_IS_APP(id) ((id) >= EBB_ID(0, EBB_FIRST_APP_ID) && (id) < EBB_ID(0, EBB_FIRST_DYNAMIC))
