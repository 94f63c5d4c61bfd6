"""scripts/function-lengths, the report of the longest C functions: it finds every
definition and only definitions (braces in comments, strings and macros, initializers,
struct bodies and attributes do not fool it), counts from the line that names the
function to its closing brace, and fails above the limit."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "function-lengths"

SOURCE = r'''/* A comment with a brace { and a fake() { definition. */
#include <stdio.h>
#define BLOCK(x) do { x; } while (0)
#define LONG_MACRO(a) \
        static int in_macro(void) { \
                return a; \
        }

struct point {
        int x, y;
};

static const struct point origin = { 0, 0 };
static const char *braces[] = { "{", "}", "{{" };

__attribute__((noreturn)) static void stop(int code) {
        _exit(code);
}

static int two_line_signature(int a,
                              int b) {
        const char *s = "} not the end";
        char c = '}';
        if (a) {
                return b;
        }
        return c + (s != NULL);
}

int
gnu_style(void)
{
        // a brace in a line comment }
        return 0;
}

static int printf_like(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int printf_like(const char *fmt, ...) {
        return fmt != NULL;
}
'''


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def rows(out):
    return {line.split()[2]: (int(line.split()[0]), line.split()[1]) for line in out.splitlines()}


def test_definitions_only_counted_from_their_name_to_their_closing_brace(tmp_path):
    src = tmp_path / "a.c"
    src.write_text(SOURCE)
    r = run("--top", "0", src)
    assert r.returncode == 0, r.stderr
    got = rows(r.stdout)
    assert set(got) == {"stop", "two_line_signature", "gnu_style", "printf_like"}, r.stdout
    assert got["two_line_signature"] == (9, f"{src}:20")
    assert got["stop"] == (3, f"{src}:16")
    assert got["gnu_style"][0] == 5          # from "gnu_style(void)" to its "}"
    assert r.stdout.splitlines()[0].startswith("9 ")   # longest first


def test_a_function_over_the_limit_fails_and_is_named(tmp_path):
    src = tmp_path / "long.c"
    src.write_text("static int long_one(void) {\n" + "        x++;\n" * 81 + "        return 0;\n}\n")
    r = run("--limit", "80", tmp_path)
    assert r.returncode == 1
    assert f"{src}:1 long_one is 84 lines, more than 80" in r.stderr
    assert run("--limit", "84", tmp_path).returncode == 0


def test_it_reads_the_whole_tree_by_default():
    r = run("--top", "3")
    assert len(r.stdout.splitlines()) == 3
    assert all(" installer/" in line or "/installer/" in line for line in r.stdout.splitlines()), r.stdout
