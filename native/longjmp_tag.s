# The exception tag that setjmp/longjmp lowered to wasm exception handling throws and
# catches (LLVM's -wasm-enable-sjlj expects the C library to define it; zig's does not).
.globl __c_longjmp
.tagtype __c_longjmp i32
__c_longjmp:
