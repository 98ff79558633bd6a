#ifndef SPACEPORT_CNCURSES_SHIM_H
#define SPACEPORT_CNCURSES_SHIM_H
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

/* Swift cannot import function-like macros or read curses' globals safely: these wrap them. */

static inline SCREEN *spaceport_newterm(void) { return newterm(NULL, stdout, stdin); }
static inline WINDOW *spaceport_stdscr(void) { return stdscr; }
static inline WINDOW *spaceport_curscr(void) { return curscr; }
static inline int spaceport_lines(void) { return LINES; }
static inline int spaceport_cols(void) { return COLS; }
static inline int spaceport_colors(void) { return COLORS; }
static inline int spaceport_color_pairs(void) { return COLOR_PAIRS; }
static inline int spaceport_color_pair(int n) { return COLOR_PAIR(n); }

static inline attr_t spaceport_a_normal(void) { return A_NORMAL; }
static inline attr_t spaceport_a_bold(void) { return A_BOLD; }
static inline attr_t spaceport_a_dim(void) { return A_DIM; }
static inline attr_t spaceport_a_underline(void) { return A_UNDERLINE; }
static inline attr_t spaceport_a_reverse(void) { return A_REVERSE; }
static inline attr_t spaceport_a_italic(void) { return A_ITALIC; }

static inline int spaceport_key_code_yes(void) { return KEY_CODE_YES; }
static inline int spaceport_key_up(void) { return KEY_UP; }
static inline int spaceport_key_down(void) { return KEY_DOWN; }
static inline int spaceport_key_left(void) { return KEY_LEFT; }
static inline int spaceport_key_right(void) { return KEY_RIGHT; }
static inline int spaceport_key_home(void) { return KEY_HOME; }
static inline int spaceport_key_end(void) { return KEY_END; }
static inline int spaceport_key_npage(void) { return KEY_NPAGE; }
static inline int spaceport_key_ppage(void) { return KEY_PPAGE; }
static inline int spaceport_key_btab(void) { return KEY_BTAB; }
static inline int spaceport_key_backspace(void) { return KEY_BACKSPACE; }
static inline int spaceport_key_dc(void) { return KEY_DC; }
static inline int spaceport_key_enter(void) { return KEY_ENTER; }
static inline int spaceport_key_resize(void) { return KEY_RESIZE; }
static inline int spaceport_key_mouse(void) { return KEY_MOUSE; }

static inline mmask_t spaceport_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t spaceport_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t spaceport_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t spaceport_button5_pressed(void) { return BUTTON5_PRESSED; }

/* The C library's idea of a character's width, which curses follows (declared here since
   wchar.h hides it without _XOPEN_SOURCE). */
extern int wcwidth(wchar_t c);
static inline int spaceport_wcwidth(wchar_t c) { return wcwidth(c); }

/* The codeset setlocale chose, to know whether line-drawing characters will show. */
static inline const char *spaceport_codeset(void) { return nl_langinfo(CODESET); }

#endif
