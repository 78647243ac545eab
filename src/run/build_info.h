/* build_info.h: what --version prints: the program's version and the libraries it runs on (the BLAS
 * and its thread model, the decoder kernels this CPU uses, SQLite, cairo). */
#ifndef AW_BUILD_INFO_H
#define AW_BUILD_INFO_H

/* A new malloc'd text of several lines, the first "PROG VERSION"; NULL when out of memory. */
char *aw_build_info(const char *prog);

#endif
