/* aiwae-report: tables, curves and exports from the results database. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("aiwae-report: not built yet\n", stderr);
    return 1;
}
