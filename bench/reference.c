// The benchmark programs of bench/programs.scm written in C: compiled to wasm by the project's
// toolchain at -O2 and run in the same wasmtime engine, they are the practical limit for code
// generated into wasm.  Lists are malloc'd cells freed after each round, as a collector would.
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static int64_t fib_(int64_t n) { return n < 2 ? n : fib_(n - 1) + fib_(n - 2); }
EXPORT(fib) int64_t fib(int64_t n) { return fib_(n); }

static int64_t tak_(int64_t x, int64_t y, int64_t z) {
  return !(y < x) ? z : tak_(tak_(x - 1, y, z), tak_(y - 1, z, x), tak_(z - 1, x, y));
}
EXPORT(tak) int64_t tak(int64_t x, int64_t y, int64_t z) { return tak_(x, y, z); }

EXPORT(sum_to) int64_t sum_to(int64_t n) {
  int64_t acc = 0;
  for (int64_t i = n; i > 0; i--) {
    acc += i;
    // Keep the loop a loop: without this clang replaces it by n(n+1)/2, which is not the
    // algorithm the Scheme version runs.
    __asm__ volatile("" : "+r"(acc));
  }
  return acc;
}

typedef struct Cell { int64_t car; struct Cell *cdr; } Cell;

static Cell *cons(int64_t car, Cell *cdr) {
  Cell *c = malloc(sizeof *c);
  c->car = car;
  c->cdr = cdr;
  return c;
}
static void free_list(Cell *l) {
  while (l) { Cell *next = l->cdr; free(l); l = next; }
}
static Cell *build(int64_t n) {
  Cell *acc = 0;
  for (; n > 0; n--) acc = cons(n, acc);
  return acc;
}
static Cell *rev(Cell *l) {
  Cell *acc = 0;
  for (; l; l = l->cdr) acc = cons(l->car, acc);
  return acc;
}
static int64_t sum(Cell *l) {
  int64_t acc = 0;
  for (; l; l = l->cdr) acc += l->car;
  return acc;
}

EXPORT(list_work) int64_t list_work(int64_t n, int64_t times) {
  int64_t total = 0;
  for (int64_t k = times; k > 0; k--) {
    Cell *a = build(n), *b = rev(a);
    total += sum(b);
    free_list(a);
    free_list(b);
  }
  return total;
}

typedef struct Closure { int64_t (*fn)(struct Closure *, int64_t, int64_t); int64_t k; } Closure;

static int64_t add(Closure *self, int64_t a, int64_t x) { (void)self; return a + x; }
static int64_t scale(Closure *self, int64_t x, int64_t unused) { (void)unused; return x * self->k; }

static Cell *map1(Closure *f, Cell *l) {
  Cell *acc = 0;
  for (; l; l = l->cdr) acc = cons(f->fn(f, l->car, 0), acc);
  Cell *r = rev(acc);
  free_list(acc);
  return r;
}
static int64_t fold(Closure *f, int64_t acc, Cell *l) {
  for (; l; l = l->cdr) acc = f->fn(f, acc, l->car);
  return acc;
}

EXPORT(closure_work) int64_t closure_work(int64_t n, int64_t times) {
  Cell *l = build(n);
  int64_t total = 0;
  for (int64_t k = times; k > 0; k--) {
    Closure sc = {scale, k}, ad = {add, 0};
    Cell *m = map1(&sc, l);
    total += fold(&ad, 0, m);
    free_list(m);
  }
  free_list(l);
  return total;
}
