HOSTED_TESTS += core_ebb core_event core_future
core_ebb_SRCS    := tests/core_ebb.c
core_event_SRCS  := tests/core_event.c
core_future_SRCS := tests/core_future.c
CPPFLAGS += -Itests
TEST_SCRIPTS += tests/helloworld.t tests/pkgconfig.t tests/valgrind.t
