#pragma once
__attribute__((noreturn)) void native_assert_fail(const char *expr, const char *file, int line,
                                                  const char *func);
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : native_assert_fail(#e, __FILE__, __LINE__, __func__))
#endif
#define static_assert _Static_assert
