// The primitive procedures: ids, names and one arity table.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Primitive procedures.

enum Prim {
  P_ADD, P_SUB, P_MUL, P_QUOTIENT, P_REMAINDER, P_MODULO, P_NUM_EQ, P_LT, P_GT, P_LE, P_GE,
  P_NOT, P_EQ, P_EQV, P_EQUAL, P_CONS, P_CAR, P_CDR, P_LIST, P_NULLP, P_PAIRP, P_DISPLAY,
  P_WRITE, P_NEWLINE, P_ZEROP, P_POSITIVEP, P_NEGATIVEP, P_EVENP, P_ODDP, P_ABS, P_MIN, P_MAX,
  P_NUMBERP, P_PROCEDUREP, P_BOOLEANP, P_SYMBOLP, P_STRINGP, P_SET_CAR, P_SET_CDR,
  // Calls its first argument: compiled as a call, spread by apply() (see spreadApply).
  P_APPLY,
  P_VECTORP, P_MAKE_VECTOR, P_VECTOR, P_VECTOR_LENGTH, P_VECTOR_REF, P_VECTOR_SET,
  P_VECTOR_TO_LIST, P_LIST_TO_VECTOR, P_VECTOR_FILL,
  P_STRING_LENGTH, P_STRING_REF, P_SUBSTRING, P_STRING_APPEND, P_STRING_EQ, P_STRING_LT,
  P_STRING_GT, P_STRING, P_MAKE_STRING, P_STRING_TO_LIST, P_LIST_TO_STRING, P_STRING_TO_SYMBOL,
  P_SYMBOL_TO_STRING, P_NUMBER_TO_STRING, P_STRING_TO_NUMBER,
  P_CHARP, P_CHAR_TO_INTEGER, P_INTEGER_TO_CHAR, P_CHAR_EQ, P_CHAR_LT, P_CHAR_GT,
  P_CHAR_UPCASE, P_CHAR_DOWNCASE, P_CHAR_ALPHABETICP, P_CHAR_NUMERICP, P_CHAR_WHITESPACEP,
  P_LISTP, P_INTEGERP, P_ERROR,
  P_CAAR, P_CADR, P_CDAR, P_CDDR, P_CAAAR, P_CAADR, P_CADAR, P_CADDR, P_CDAAR, P_CDADR,
  P_CDDAR, P_CDDDR, P_CAAAAR, P_CAAADR, P_CAADAR, P_CAADDR, P_CADAAR, P_CADADR, P_CADDAR,
  P_CADDDR, P_CDAAAR, P_CDAADR, P_CDADAR, P_CDADDR, P_CDDAAR, P_CDDADR, P_CDDDAR, P_CDDDDR,
  P_DIV, P_SQRT, P_EXP, P_LOG, P_SIN, P_COS, P_TAN, P_ASIN, P_ACOS, P_ATAN, P_FLOOR, P_CEILING,
  P_ROUND, P_TRUNCATE, P_EXACT, P_INEXACT, P_EXACT_TO_INEXACT, P_INEXACT_TO_EXACT, P_EXACTP,
  P_INEXACTP, P_EXACT_INTEGERP, P_NANP, P_INFINITEP, P_FINITEP, P_EXPT, P_CALLCC,
  P_STRING_SET, P_STRING_FILL, P_STRING_COPY, P_CHAR_LE, P_CHAR_GE, P_CHAR_CI_EQ, P_CHAR_CI_LT,
  P_CHAR_CI_GT, P_CHAR_CI_LE, P_CHAR_CI_GE, P_STRING_LE, P_STRING_GE, P_STRING_CI_EQ,
  P_STRING_CI_LT, P_STRING_CI_GT, P_STRING_CI_LE, P_STRING_CI_GE, P_CHAR_UPPER_CASEP,
  P_CHAR_LOWER_CASEP, P_DIGIT_VALUE, P_STRING_UPCASE, P_STRING_DOWNCASE, P_WRITE_CHAR,
  P_WRITE_STRING, P_CURRENT_OUTPUT_PORT, P_CURRENT_INPUT_PORT, P_OPEN_INPUT_STRING,
  P_OPEN_OUTPUT_STRING, P_GET_OUTPUT_STRING, P_OPEN_INPUT_FILE, P_FILE_EXISTSP, P_CLOSE_PORT,
  P_READ_CHAR, P_PEEK_CHAR, P_CHAR_READYP, P_READ_LINE, P_READ, P_EOF_OBJECT, P_EOF_OBJECTP,
  P_PORTP, P_INPUT_PORTP, P_OUTPUT_PORTP, P_FLUSH_OUTPUT, P_SET_CURRENT_INPUT,
  P_SET_CURRENT_OUTPUT, P_OPEN_OUTPUT_FILE, P_DELETE_FILE,
  P_WITH_EXCEPTION_HANDLER, P_RAISE, P_RAISE_CONTINUABLE, P_ERROR_OBJECTP,
  P_ERROR_OBJECT_MESSAGE, P_ERROR_OBJECT_IRRITANTS, P_BYTEVECTORP, P_MAKE_BYTEVECTOR, P_BYTEVECTOR,
  P_BYTEVECTOR_LENGTH, P_BYTEVECTOR_U8_REF, P_BYTEVECTOR_U8_SET, P_BYTEVECTOR_COPY,
  P_BYTEVECTOR_COPY_TO, P_BYTEVECTOR_APPEND, P_UTF8_TO_STRING, P_STRING_TO_UTF8, P_APPEND,
  // For the prelude and for quasiquote: not meant to be called by name.
  P_APPEND2, P_TYPE_ERROR, P_RANGE_ERROR, P_RECORD_TYPE, P_MAKE_RECORD, P_RECORDP, P_RECORD_REF,
  P_RECORD_SET, P_MAKE_VALUES, P_VALUES_TO_LIST,
  P_COUNT
};

struct PrimInfo { const char *name; int minArgs, maxArgs; };  // maxArgs -1: any number
static const PrimInfo primInfo[] = {
  {"+", 0, -1}, {"-", 1, -1}, {"*", 0, -1}, {"quotient", 2, 2}, {"remainder", 2, 2},
  {"modulo", 2, 2}, {"=", 1, -1}, {"<", 1, -1}, {">", 1, -1}, {"<=", 1, -1}, {">=", 1, -1},
  {"not", 1, 1}, {"eq?", 2, 2}, {"eqv?", 2, 2}, {"equal?", 2, 2}, {"cons", 2, 2},
  {"car", 1, 1}, {"cdr", 1, 1}, {"list", 0, -1}, {"null?", 1, 1}, {"pair?", 1, 1},
  {"display", 1, 2}, {"write", 1, 2}, {"newline", 0, 1}, {"zero?", 1, 1}, {"positive?", 1, 1},
  {"negative?", 1, 1}, {"even?", 1, 1}, {"odd?", 1, 1}, {"abs", 1, 1}, {"min", 1, -1},
  {"max", 1, -1}, {"number?", 1, 1}, {"procedure?", 1, 1}, {"boolean?", 1, 1},
  {"symbol?", 1, 1}, {"string?", 1, 1}, {"set-car!", 2, 2}, {"set-cdr!", 2, 2},
  {"apply", 2, -1},
  {"vector?", 1, 1}, {"make-vector", 1, 2}, {"vector", 0, -1}, {"vector-length", 1, 1},
  {"vector-ref", 2, 2}, {"vector-set!", 3, 3}, {"vector->list", 1, 1}, {"list->vector", 1, 1},
  {"vector-fill!", 2, 2},
  {"string-length", 1, 1}, {"string-ref", 2, 2}, {"substring", 2, 3}, {"string-append", 0, -1},
  {"string=?", 1, -1}, {"string<?", 1, -1}, {"string>?", 1, -1}, {"string", 0, -1},
  {"make-string", 1, 2}, {"string->list", 1, 1}, {"list->string", 1, 1},
  {"string->symbol", 1, 1}, {"symbol->string", 1, 1}, {"number->string", 1, 2},
  {"string->number", 1, 2},
  {"char?", 1, 1}, {"char->integer", 1, 1}, {"integer->char", 1, 1}, {"char=?", 1, -1},
  {"char<?", 1, -1}, {"char>?", 1, -1}, {"char-upcase", 1, 1}, {"char-downcase", 1, 1},
  {"char-alphabetic?", 1, 1}, {"char-numeric?", 1, 1}, {"char-whitespace?", 1, 1},
  {"list?", 1, 1}, {"integer?", 1, 1}, {"error", 1, -1},
  {"caar", 1, 1}, {"cadr", 1, 1}, {"cdar", 1, 1}, {"cddr", 1, 1}, {"caaar", 1, 1},
  {"caadr", 1, 1}, {"cadar", 1, 1}, {"caddr", 1, 1}, {"cdaar", 1, 1}, {"cdadr", 1, 1},
  {"cddar", 1, 1}, {"cdddr", 1, 1}, {"caaaar", 1, 1}, {"caaadr", 1, 1}, {"caadar", 1, 1},
  {"caaddr", 1, 1}, {"cadaar", 1, 1}, {"cadadr", 1, 1}, {"caddar", 1, 1}, {"cadddr", 1, 1},
  {"cdaaar", 1, 1}, {"cdaadr", 1, 1}, {"cdadar", 1, 1}, {"cdaddr", 1, 1}, {"cddaar", 1, 1},
  {"cddadr", 1, 1}, {"cdddar", 1, 1}, {"cddddr", 1, 1},
  {"/", 1, -1}, {"sqrt", 1, 1}, {"exp", 1, 1}, {"log", 1, 2}, {"sin", 1, 1}, {"cos", 1, 1},
  {"tan", 1, 1}, {"asin", 1, 1}, {"acos", 1, 1}, {"atan", 1, 2}, {"floor", 1, 1},
  {"ceiling", 1, 1}, {"round", 1, 1}, {"truncate", 1, 1}, {"exact", 1, 1}, {"inexact", 1, 1},
  {"exact->inexact", 1, 1}, {"inexact->exact", 1, 1}, {"exact?", 1, 1}, {"inexact?", 1, 1},
  {"exact-integer?", 1, 1}, {"nan?", 1, 1}, {"infinite?", 1, 1}, {"finite?", 1, 1},
  {"expt", 2, 2}, {"call-with-current-continuation", 1, 1},
  {"string-set!", 3, 3}, {"string-fill!", 2, 4}, {"string-copy", 1, 3}, {"char<=?", 1, -1},
  {"char>=?", 1, -1}, {"char-ci=?", 1, -1}, {"char-ci<?", 1, -1}, {"char-ci>?", 1, -1},
  {"char-ci<=?", 1, -1}, {"char-ci>=?", 1, -1}, {"string<=?", 1, -1}, {"string>=?", 1, -1},
  {"string-ci=?", 1, -1}, {"string-ci<?", 1, -1}, {"string-ci>?", 1, -1},
  {"string-ci<=?", 1, -1}, {"string-ci>=?", 1, -1}, {"char-upper-case?", 1, 1},
  {"char-lower-case?", 1, 1}, {"digit-value", 1, 1}, {"string-upcase", 1, 1},
  {"string-downcase", 1, 1}, {"write-char", 1, 2}, {"write-string", 1, 2},
  {"current-output-port", 0, 0}, {"current-input-port", 0, 0}, {"open-input-string", 1, 1},
  {"open-output-string", 0, 0}, {"get-output-string", 1, 1}, {"open-input-file", 1, 1},
  {"file-exists?", 1, 1}, {"close-port", 1, 1}, {"read-char", 0, 1}, {"peek-char", 0, 1},
  {"char-ready?", 0, 1}, {"read-line", 0, 1}, {"read", 0, 1}, {"eof-object", 0, 0},
  {"eof-object?", 1, 1}, {"port?", 1, 1}, {"input-port?", 1, 1}, {"output-port?", 1, 1},
  {"flush-output-port", 0, 1}, {"%set-current-input-port!", 1, 1},
  {"%set-current-output-port!", 1, 1}, {"open-output-file", 1, 1}, {"delete-file", 1, 1},
  {"with-exception-handler", 2, 2}, {"raise", 1, 1}, {"raise-continuable", 1, 1},
  {"error-object?", 1, 1}, {"error-object-message", 1, 1}, {"error-object-irritants", 1, 1},
  {"bytevector?", 1, 1}, {"make-bytevector", 1, 2}, {"bytevector", 0, -1},
  {"bytevector-length", 1, 1}, {"bytevector-u8-ref", 2, 2}, {"bytevector-u8-set!", 3, 3},
  {"bytevector-copy", 1, 3}, {"bytevector-copy!", 3, 5}, {"bytevector-append", 0, -1},
  {"utf8->string", 1, 3}, {"string->utf8", 1, 3}, {"append", 0, -1},
  {"%append", 2, 2}, {"%type-error", 3, 3}, {"%range-error", 3, 3}, {"%record-type", 2, 2},
  {"%make-record", 1, -1}, {"%record?", 2, 2}, {"%record-ref", 4, 4}, {"%record-set!", 5, 5},
  {"%make-values", 1, 1}, {"%values->list", 1, 1},
};
static_assert(sizeof primInfo / sizeof primInfo[0] == P_COUNT, "one PrimInfo per primitive");

// Whether primitive `pi` accepts `argc` arguments; if not, writes the one message both the
// compiler (a call it can see) and the runtime (apply, calls through variables) give.
static bool primArityOk(const PrimInfo &pi, long argc, char *msg, size_t size) {
  if (argc >= pi.minArgs && (pi.maxArgs < 0 || argc <= pi.maxArgs)) return true;
  const char *s = pi.minArgs == 1 ? "" : "s";
  if (pi.maxArgs < 0) snprintf(msg, size, "%s: expects at least %d argument%s, got %ld", pi.name, pi.minArgs, s, argc);
  else if (pi.minArgs == pi.maxArgs) snprintf(msg, size, "%s: expects %d argument%s, got %ld", pi.name, pi.minArgs, s, argc);
  else snprintf(msg, size, "%s: expects %d to %d arguments, got %ld", pi.name, pi.minArgs, pi.maxArgs, argc);
  return false;
}
