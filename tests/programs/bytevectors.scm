; Bytevectors: literals, construction, bytes in and out, copying and appending, and the UTF-8
; conversions to and from strings (a round trip of random ASCII bytes, as bv2string does).

(define bv (make-bytevector 6 0))
(do ((i 0 (+ i 1))) ((= i 6)) (bytevector-u8-set! bv i (* i i)))
bv
(bytevector-length bv)
(bytevector-u8-ref bv 5)
#u8(1 2 255)
(bytevector 10 20 30)
(bytevector-copy bv 2 5)
(define target (make-bytevector 8 255))
(bytevector-copy! target 2 bv 1 4)
target
(bytevector-append #u8(1 2) #u8() (bytevector 3))
(equal? (bytevector 1 2 3) #u8(1 2 3))
(list (bytevector? bv) (bytevector? "no") (vector? bv))

(define (sum-bytes b)
  (let loop ((i 0) (acc 0))
    (if (= i (bytevector-length b)) acc (loop (+ i 1) (+ acc (bytevector-u8-ref b i))))))
(sum-bytes bv)

(utf8->string #u8(104 101 108 108 111))
(string->utf8 "ASCII")
(utf8->string (string->utf8 "abcdef") 2 4)

(define seed 7)
(define (next-byte)
  (set! seed (modulo (+ (* seed 701) 743483) 524288))
  (modulo (quotient seed 8) 128))
(define (random-bytes n)
  (let ((b (make-bytevector n)))
    (do ((i 0 (+ i 1))) ((= i n) b) (bytevector-u8-set! b i (next-byte)))))
(define (round-trips? n)
  (let* ((b (random-bytes n)) (s (utf8->string b)))
    (and (string=? s (utf8->string (string->utf8 s))) (equal? b (string->utf8 s)))))
(list (round-trips? 0) (round-trips? 10) (round-trips? 1000))
