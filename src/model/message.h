/* Error messages are one line of printable text, but they quote names (tensors, ops,
 * signatures, metadata) straight from the model file, which may hold any bytes. The places
 * that record a message pass it through tfl_message_escape; the runtime's own messages cap a
 * quoted name with tfl_message_name so that what follows it survives. */
#ifndef TFL_MODEL_MESSAGE_H
#define TFL_MODEL_MESSAGE_H

#include <stddef.h>

/* The longest name, in bytes before escaping, that tfl_message_name quotes in full. */
#define TFL_MESSAGE_NAME_MAX 64

/* Copies src into dst (size > 0), writing each control byte (below 0x20, and 0x7f) as \xNN.
 * Cuts the result at size - 1 bytes, never inside an escape; dst is always terminated. */
void tfl_message_escape(char *dst, size_t size, const char *src);

/* name escaped and cut after TFL_MESSAGE_NAME_MAX bytes (then "..." marks the cut), in buf
 * (TFL_MESSAGE_NAME_BUF bytes); returns buf. NULL reads as "". */
#define TFL_MESSAGE_NAME_BUF (4 * TFL_MESSAGE_NAME_MAX + 4)
const char *tfl_message_name(const char *name, char buf[TFL_MESSAGE_NAME_BUF]);

#endif
