# An image whose manifest binds the malloc Ebb to the TLSF rep (reps/tlsf.c), and checks that
# its mallocs really come from it (tests/mem_custom.t runs it hosted and native).
HOSTED_APPS += tlsf_demo
tlsf_demo_SRCS := apps/tlsf_demo/main.c reps/tlsf.c
tlsf_demo_MANIFEST := apps/tlsf_demo/ebb.manifest
