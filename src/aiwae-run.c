/* aiwae-run: trains and evaluates the runs of an experiment spec. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("aiwae-run: not built yet\n", stderr);
    return 1;
}
