/* Runs a command under an allocator and prints its wall time and peak RSS, after whatever the
 * command printed:  allocrun: time=<seconds> rss_kb=<KiB>
 * Usage: allocrun LIB|- COMMAND [ARG...]. LIB is put in the command's LD_PRELOAD only ("-": none,
 * the C library's malloc); the exit status is the command's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: allocrun LIB|- COMMAND [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("allocrun: fork");
        return 1;
    }
    if (pid == 0) {
        if (argv[1][0] != '-' && setenv("LD_PRELOAD", argv[1], 1) != 0)
            _exit(127);
        execvp(argv[2], argv + 2);
        perror("allocrun: exec");
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) {
        perror("allocrun: wait4");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fflush(stdout);
    printf("allocrun: time=%.4f rss_kb=%ld\n", s, ru.ru_maxrss);
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "allocrun: %s killed by signal %d\n", argv[2], WTERMSIG(st));
        return 128 + WTERMSIG(st);
    }
    return WEXITSTATUS(st);
}
