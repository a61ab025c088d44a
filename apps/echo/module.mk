HOSTED_APPS += echo
echo_SRCS := apps/echo/echo.c
