/* The zazen> shell on the host console: the management verbs
 * (vmm/mgmt.c) for a person at the keyboard, with line editing, history
 * and help. The host console is either attached to a domain (what is
 * typed goes to its COM1 and keyboard, as xl console does) or to the
 * shell; Ctrl-A three times switches (as Xen's serial console switches
 * between Xen and dom0). All of it runs on CPU 0, in the console's duties
 * (vmm/console_service.c). */
#include "shell.h"
#include "console.h"
#include "domain.h"
#include "format.h"
#include "mgmt.h"
#include "string.h"
#include "x86.h"

#define LINE_MAX 200
#define HISTORY 16
#define CTRL_A 0x01
#define CTRL_C 0x03
#define CTRL_L 0x0c
#define CTRL_U 0x15
#define ESC 0x1b
#define SWITCH_PRESSES 3

static struct {
    bool in_shell;            /* input goes to the shell, not to a domain */
    char attached[32];        /* the domain the console was last attached to */
    char line[LINE_MAX];
    unsigned len, cursor;
    char history[HISTORY][LINE_MAX];
    unsigned history_count;   /* lines kept, the newest last */
    unsigned history_pos;     /* while browsing: how far back; 0: the line being typed */
    char saved[LINE_MAX];     /* the line being typed, while browsing */
    unsigned ctrl_a;          /* Ctrl-A presses in a row */
    char esc[4];
    unsigned esc_len;         /* an escape sequence being read: ESC, [, ... */
    struct mgmt_front front;
} sh = {.front = {.interactive = true}};

static const char prompt[] = "zazen> ";

static void console_out(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    console_write(s, n);
}

static struct mgmt_out text_out = {.json = false, .write = console_out};

/* The prompt and the line being typed, kept at the bottom of the console
 * (console_prompt: lines from the domains go above it), the cursor where
 * the user is editing. */
static void show_prompt(void)
{
    char text[LINE_MAX + 32];
    int n = snprintf(text, sizeof(text), "%s%.*s", prompt, (int)sh.len, sh.line);
    if (sh.len > sh.cursor)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "\033[%uD", sh.len - sh.cursor);
    console_prompt(text, (size_t)n);
}

static void redraw(void) { show_prompt(); }

static void hide_prompt(void) { console_prompt("", 0); }

static void enter_shell(void)
{
    sh.in_shell = true;
    domain_set_console_focus(NULL);
    kprintf("zazen: the zazen> shell (help lists the verbs; Ctrl-A three times returns to the console)\n");
    show_prompt();
}

/* The console goes to the domain called name; false if it is not there. */
static bool attach(const char *name)
{
    domains_lock();
    struct domain *d = domain_find(name);
    bool ok = d && !d->ended && !d->preserved;
    if (ok) {
        strlcpy(sh.attached, d->name, sizeof(sh.attached));
        domain_set_console_focus(d);
        sh.in_shell = false;
        hide_prompt();
        kprintf("zazen: the console is %s's (id %u); Ctrl-A three times for the zazen> shell\n", d->name, d->id);
    }
    domains_unlock();
    return ok;
}

void shell_start(void)
{
    /* One domain: its console, as Zazen always did. Several: the shell. */
    domains_lock();
    struct domain *only = domains_first();
    bool one = only && !only->next;
    char name[32] = "";
    if (only)
        strlcpy(name, only->name, sizeof(name));
    domains_unlock();
    if (!one || !attach(name))
        enter_shell();
}

/* ---- running a line ---- */

static void remember(const char *line)
{
    if (!*line || (sh.history_count && strcmp(sh.history[(sh.history_count - 1) % HISTORY], line) == 0))
        return;
    strlcpy(sh.history[sh.history_count % HISTORY], line, LINE_MAX);
    sh.history_count++;
}

static void run_line(void)
{
    sh.line[sh.len] = 0;
    hide_prompt();
    kprintf("%s%s\n", prompt, sh.line); /* what was run stays on the screen */
    remember(sh.line);
    char copy[LINE_MAX];
    strlcpy(copy, sh.line, sizeof(copy));
    sh.len = sh.cursor = 0;
    sh.history_pos = 0;
    char *argv[MGMT_MAX_ARGS];
    const char *why = "";
    int argc = mgmt_split(copy, argv, &why);
    if (argc < 0) {
        mgmt_error(&text_out, "%s", why);
    } else if (argc > 0) {
        enum mgmt_status st = mgmt_exec(&sh.front, argc, argv, &text_out);
        if (st == MGMT_PENDING)
            return; /* the prompt comes back when it is done (shell_poll) */
        if (st == MGMT_ATTACH && attach(sh.front.attach))
            return;
    }
    show_prompt();
}

/* ---- history ---- */

static void history_step(int delta)
{
    unsigned available = MIN(sh.history_count, (unsigned)HISTORY);
    unsigned pos = sh.history_pos;
    if (delta > 0 && pos < available)
        pos++;
    else if (delta < 0 && pos > 0)
        pos--;
    else
        return;
    if (sh.history_pos == 0) {
        sh.line[sh.len] = 0;
        strlcpy(sh.saved, sh.line, sizeof(sh.saved));
    }
    sh.history_pos = pos;
    const char *text = pos ? sh.history[(sh.history_count - pos) % HISTORY] : sh.saved;
    strlcpy(sh.line, text, sizeof(sh.line));
    sh.len = sh.cursor = (unsigned)strlen(sh.line);
    redraw();
}

/* ---- editing ---- */

static void insert_char(char c)
{
    if (sh.len + 1 >= LINE_MAX)
        return;
    memmove(sh.line + sh.cursor + 1, sh.line + sh.cursor, sh.len - sh.cursor);
    sh.line[sh.cursor++] = c;
    sh.len++;
    redraw();
}

static void delete_at(unsigned at)
{
    if (at >= sh.len)
        return;
    memmove(sh.line + at, sh.line + at + 1, sh.len - at - 1);
    sh.len--;
    if (sh.cursor > at)
        sh.cursor--;
    redraw();
}

static void move_cursor(unsigned to)
{
    sh.cursor = MIN(to, sh.len);
    redraw();
}

/* ESC [ A/B/C/D (arrows), H/F or 1~/4~ (Home/End), 3~ (Delete): the
 * VT100/xterm keys a serial terminal sends. */
static void escape_done(void)
{
    const char *e = sh.esc;
    if (e[1] == '[' && e[2] == 'A')
        history_step(1);
    else if (e[1] == '[' && e[2] == 'B')
        history_step(-1);
    else if (e[1] == '[' && e[2] == 'C')
        move_cursor(sh.cursor + 1);
    else if (e[1] == '[' && e[2] == 'D')
        move_cursor(sh.cursor ? sh.cursor - 1 : 0);
    else if ((e[1] == '[' && e[2] == 'H') || (e[1] == '[' && e[2] == '1' && e[3] == '~'))
        move_cursor(0);
    else if ((e[1] == '[' && e[2] == 'F') || (e[1] == '[' && e[2] == '4' && e[3] == '~'))
        move_cursor(sh.len);
    else if (e[1] == '[' && e[2] == '3' && e[3] == '~')
        delete_at(sh.cursor);
    sh.esc_len = 0;
}

static void escape_byte(u8 c)
{
    sh.esc[sh.esc_len++] = (char)c;
    bool final = sh.esc_len == 4 || (sh.esc_len == 3 && (c < '0' || c > '9')) || (sh.esc_len == 2 && c != '[');
    if (final) {
        if (sh.esc_len < 4)
            sh.esc[sh.esc_len] = 0;
        escape_done();
    }
}

static void shell_byte(u8 c)
{
    if (sh.front.pending.active) {
        /* Anything typed stops top; Ctrl-C stops a wait. */
        if (c == 'q' || c == CTRL_C) {
            sh.front.pending.cancel(&sh.front.pending, &text_out);
            sh.front.pending.active = false;
            show_prompt();
        }
        return;
    }
    if (sh.esc_len) {
        escape_byte(c);
        return;
    }
    switch (c) {
    case ESC: sh.esc[0] = ESC; sh.esc_len = 1; break;
    case '\r': case '\n': run_line(); break;
    case 0x7f: case '\b':
        if (sh.cursor)
            delete_at(sh.cursor - 1);
        break;
    case CTRL_C:
        hide_prompt();
        kprintf("%s%.*s^C\n", prompt, (int)sh.len, sh.line);
        sh.len = sh.cursor = 0;
        show_prompt();
        break;
    case CTRL_U:
        sh.len = sh.cursor = 0;
        redraw();
        break;
    case CTRL_L: redraw(); break;
    default:
        if (c >= 0x20 && c < 0x7f)
            insert_char((char)c);
        break;
    }
}

/* Ctrl-A three times in a row switches; fewer, followed by anything else,
 * are passed on as typed. */
void shell_input(const u8 *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        u8 c = bytes[i];
        if (c == CTRL_A) {
            if (++sh.ctrl_a < SWITCH_PRESSES)
                continue;
            sh.ctrl_a = 0;
            if (sh.in_shell && sh.attached[0] && attach(sh.attached))
                continue;
            if (!sh.in_shell)
                enter_shell();
            continue;
        }
        if (sh.ctrl_a && !sh.in_shell) {
            u8 held[SWITCH_PRESSES];
            memset(held, CTRL_A, sizeof(held));
            domain_console_input(held, sh.ctrl_a);
        }
        sh.ctrl_a = 0;
        if (sh.in_shell)
            shell_byte(c);
        else
            domain_console_input(&c, 1);
    }
}

void shell_poll(u64 now)
{
    struct mgmt_pending *p = &sh.front.pending;
    if (p->active && !p->poll(p, &text_out, now)) {
        p->active = false;
        show_prompt();
    }
    /* The attached domain ended: the shell has the console. */
    if (!sh.in_shell && !domain_console_focus())
        enter_shell();
}
