# An image whose manifest binds the malloc Ebb to the TLSF rep (reps/tlsf.c), and checks that
# its mallocs really come from it (tests/mem_custom.t runs it hosted and native).
HOSTED_APPS += tlsf_demo
tlsf_demo_SRCS := apps/tlsf_demo/main.c reps/tlsf.c
tlsf_demo_MANIFEST := apps/tlsf_demo/ebb.manifest
# A hosted image asks for the malloc family to go to the malloc Ebb by linking the front (native
# images always have it).
$(B)/hosted/tlsf_demo: $(B)/hosted/obj/mem/malloc.c.o
TEST_SCRIPTS += tests/mem_custom.t
HOSTED_TESTS += tlsf
tlsf_SRCS := tests/tlsf.c reps/tlsf.c
