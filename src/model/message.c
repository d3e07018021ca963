#include "model/message.h"

#include <stdio.h>
#include <string.h>

static int is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* Escapes at most max_in bytes of src into dst (size > 0); returns the bytes of src used. */
static size_t escape_some(char *dst, size_t size, const char *src, size_t max_in) {
  size_t in = 0, out = 0;
  for (; in < max_in && src[in]; in++) {
    const unsigned char c = (unsigned char)src[in];
    const size_t need = is_control(c) ? 4 : 1;
    if (out + need >= size) break;
    if (is_control(c))
      snprintf(dst + out, 5, "\\x%02x", c);
    else
      dst[out] = (char)c;
    out += need;
  }
  dst[out] = '\0';
  return in;
}

void tfl_message_escape(char *dst, size_t size, const char *src) {
  escape_some(dst, size, src, (size_t)-1);
}

const char *tfl_message_name(const char *name, char buf[TFL_MESSAGE_NAME_BUF]) {
  if (!name) name = "";
  const size_t used = escape_some(buf, TFL_MESSAGE_NAME_BUF - 3, name, TFL_MESSAGE_NAME_MAX);
  if (name[used]) strcat(buf, "...");
  return buf;
}
