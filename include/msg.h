/* msg.h - the one family of messages to the user, on standard error.
 *
 * Every message vbatch prints about a run (not its reports or the
 * summary, which go where the command sends them) goes through here: one
 * prefix ("vbatch: "), verbosity honoured in one place, and one
 * sanitiser, so a file name holding a newline or an escape sequence never
 * reaches the terminal raw. While a live status line is drawn on stderr
 * (msg_live), a message first erases it.
 *
 * Levels: msg_error always (errors that stop something, also under
 * --quiet); msg_warn and msg_note at the normal verbosity and above;
 * msg_verbose with --verbose only. */
#ifndef VB_MSG_H
#define VB_MSG_H

#include "vbatch.h"

#include <stdio.h>

void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line of its own (no prefix) at the normal verbosity: the per-item
 * lines of a batch. */
void msg_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A per-item line, lead (a fixed text: "[12] ") then tag ("FAIL"), in
 * colour when stderr is a terminal and NO_COLOR is not set, then the
 * sanitised message; at the normal verbosity. */
enum msg_colour_name { MSG_PLAIN, MSG_RED, MSG_YELLOW, MSG_MAGENTA };
void msg_tagged(const char *lead, int colour, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Does stderr take colour: a terminal (not TERM=dumb), NO_COLOR unset or
 * empty. Decided once. */
bool msg_colour(void);

/* A live status line is on stderr (true) or not: messages erase it
 * first. */
void msg_live(bool on);
bool msg_is_live(void);
/* "\r\033[K": back to column 0, the line cleared. */
#define MSG_ERASE_LINE "\r\033[K"

/* Control characters (below 0x20, 0x7f, and C1 as UTF-8) of s made '?', in place;
 * returns s. The one sanitiser for what goes to a terminal. */
char *msg_printable(char *s);
/* The same into a new string (caller frees). */
char *msg_printable_dup(const char *s);

#endif
