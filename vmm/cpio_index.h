/* cpio_index.h: the initramfs index (include/wisp/abi.h) of a newc archive. */
#ifndef WISP_CPIO_INDEX_H
#define WISP_CPIO_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* Parses every entry of the archive up to its trailer into an index in a
 * heap buffer (*out, *outlen; caller frees). Returns -1 if the archive is
 * malformed, -1 with errno ENOMEM if memory ran out. */
int cpio_index_build(const uint8_t *archive, size_t len, uint8_t **out, size_t *outlen);

#endif
