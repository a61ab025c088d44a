m4_divert(-1)
# The image's static binding table, from its manifest(s): which root serves each static Ebb id
# when nothing was bound at run time (EG_TABLE: image, or default for the library's own table of
# the system Ebbs, which core/ebb.c consults after the image's). A binding for one platform only
# is inside #ifdef.
m4_define(«EG_NOTHING», «»)
m4_define(«EG_INC», «#include $1
»)
m4_define(«EG_IF», «m4_ifelse(«$1», «», «$2», «#ifdef $1
$2«»#endif
»)»)
m4_define(«EG_ROOT_DECL», «EG_IF(«$3», «extern struct ebb_root $2;
»)»)
m4_define(«EG_ROW», «EG_IF(«$3», «    { $1, &$2 },
»)»)
m4_define(«EG_CASE», «EG_IF(«$3», «    case $1:
»)»)
m4_define(«EG_RANGE», «#ifndef EBB_SYSTEM_$1
#define EBB_SYSTEM_$1 0
#endif
_Static_assert(EBB_SYSTEM_$1 || EBB_ID_IS_APP($1),
               "$1: neither a system id's name nor an application's static id "
               "(core/ids.h: node 0, index in [EBB_FIRST_APP_ID, EBB_FIRST_DYNAMIC))");
»)
m4_define(«EG_ONLY», «EG_WITH(«EG_INCLUDE», «$1», «EG_WITH(«EG_BIND», «$2», «EG_ALL»)»)»)
m4_divert(0)m4_dnl
EG_BANNER(EG_SRC)
#include <stddef.h>
#include "core/ebb.h"
EG_ONLY(«EG_INC», «EG_NOTHING»)m4_dnl

EG_ONLY(«EG_NOTHING», «EG_ROOT_DECL»)m4_dnl

m4_ifelse(EG_TABLE, «image», «EG_ONLY(«EG_NOTHING», «EG_RANGE»)
»)m4_dnl
/* Two bindings of one id fail to compile here ("duplicate case value"). */
__attribute__((unused)) static void ebb_«»EG_TABLE«»_bindings_distinct_(ebb_id_t id)
{
    switch (id) {
EG_ONLY(«EG_NOTHING», «EG_CASE»)m4_dnl
    default:
        break;
    }
}

const struct ebb_static_binding ebb_«»EG_TABLE«»_bindings[] = {
EG_ONLY(«EG_NOTHING», «EG_ROW»)m4_dnl
    { 0, NULL } /* keeps the array non-empty; not counted */
};
const size_t ebb_«»EG_TABLE«»_nbindings =
    sizeof ebb_«»EG_TABLE«»_bindings / sizeof ebb_«»EG_TABLE«»_bindings[0] - 1;
