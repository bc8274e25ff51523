/* errmsg.h: the one-line reasons that host-side checks hand back to main,
 * which prints them after "wisp: ". */
#ifndef WISP_ERRMSG_H
#define WISP_ERRMSG_H

#include <stddef.h>

/* Formats a reason into err (errlen bytes) and returns -1, so that a check
 * can `return errmsg(err, errlen, "...", ...);`. */
int errmsg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
