; Deep non-tail recursion: 100,000 frames interpreted and in JIT code alike (the wasm stack
; has room for them), and the naive list functions that recurse once per element.

(define (count-up n) (if (= n 0) '() (cons n (count-up (- n 1)))))
(define big (count-up 100000))
(length big)

(define (sum-list l) (if (null? l) 0 (+ (car l) (sum-list (cdr l)))))
(sum-list big)

(define (my-map f l) (if (null? l) '() (cons (f (car l)) (my-map f (cdr l)))))
(sum-list (my-map (lambda (x) (* 2 x)) big))

(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))
(depth 100000)

(define (ack m n)
  (cond ((= m 0) (+ n 1))
        ((= n 0) (ack (- m 1) 1))
        (else (ack (- m 1) (ack m (- n 1))))))
(ack 2 2000)
