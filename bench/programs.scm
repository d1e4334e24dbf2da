; Benchmark programs: jitscope bench runs each interpreted, JIT-compiled, and as C (bench/reference.c).
; Each "; bench: NAME CALL [xTIMES]" line names a program and the call that is timed (TIMES
; times over, for a short one: the table shows the time per call).

; bench: fib (fib 30)
(define (fib n)
  (if (< n 2)
      n
      (+ (fib (- n 1)) (fib (- n 2)))))

; bench: tak (tak 18 12 6) x20
(define (tak x y z)
  (if (not (< y x))
      z
      (tak (tak (- x 1) y z)
           (tak (- y 1) z x)
           (tak (- z 1) x y))))

; bench: loop (sum-to 10000000)
(define (sum-loop i acc)
  (if (> i 0)
      (sum-loop (- i 1) (+ acc i))
      acc))
(define (sum-to n) (sum-loop n 0))

; bench: lists (list-work 100000 10)
(define (build n acc)
  (if (= n 0) acc (build (- n 1) (cons n acc))))
(define (rev l acc)
  (if (null? l) acc (rev (cdr l) (cons (car l) acc))))
(define (sum l acc)
  (if (null? l) acc (sum (cdr l) (+ acc (car l)))))
(define (list-work n times)
  (let loop ((k times) (total 0))
    (if (= k 0)
        total
        (loop (- k 1) (+ total (sum (rev (build n '()) '()) 0))))))

; bench: higher-order (closure-work 100000 10)
(define (map1 f l)
  (let loop ((l l) (acc '()))
    (if (null? l) (rev acc '()) (loop (cdr l) (cons (f (car l)) acc)))))
(define (fold f acc l)
  (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
(define (closure-work n times)
  (let ((l (build n '())))
    (let loop ((k times) (total 0))
      (if (= k 0)
          total
          (loop (- k 1)
                (+ total (fold (lambda (a x) (+ a x)) 0
                               (map1 (lambda (x) (* x k)) l))))))))

; The r7rs-benchmarks kernels that allocate and make closures (written here anew).

; bench: cpstak (cpstak 18 12 6) x5
(define (cpstak x y z)
  (define (tak x y z k)
    (if (not (< y x))
        (k z)
        (tak (- x 1) y z
             (lambda (v1)
               (tak (- y 1) z x
                    (lambda (v2)
                      (tak (- z 1) x y
                           (lambda (v3) (tak v1 v2 v3 k)))))))))
  (tak x y z (lambda (a) a)))

; bench: takl (takl 18 12 6) x5
(define (listn n) (if (= n 0) '() (cons n (listn (- n 1)))))
(define (shorter? x y)
  (and (not (null? y)) (or (null? x) (shorter? (cdr x) (cdr y)))))
(define (mas x y z)
  (if (not (shorter? y x))
      z
      (mas (mas (cdr x) y z) (mas (cdr y) z x) (mas (cdr z) x y))))
(define (takl a b c) (length (mas (listn a) (listn b) (listn c))))

; bench: nqueens (nqueens 8) x5
(define (nqueens n)
  (define (one-to k) (let loop ((k k) (acc '())) (if (= k 0) acc (loop (- k 1) (cons k acc)))))
  (define (safe? row dist placed)
    (or (null? placed)
        (and (not (= (car placed) (+ row dist)))
             (not (= (car placed) (- row dist)))
             (safe? row (+ dist 1) (cdr placed)))))
  (define (try left tried placed)
    (if (null? left)
        (if (null? tried) 1 0)
        (+ (if (safe? (car left) 1 placed)
               (try (append (cdr left) tried) '() (cons (car left) placed))
               0)
           (try (cdr left) (cons (car left) tried) placed))))
  (try (one-to n) '() '()))

; bench: primes (primes 1000) x5
(define (interval m n) (if (> m n) '() (cons m (interval (+ m 1) n))))
(define (remove-multiples p l)
  (cond ((null? l) '())
        ((= (remainder (car l) p) 0) (remove-multiples p (cdr l)))
        (else (cons (car l) (remove-multiples p (cdr l))))))
(define (sieve l) (if (null? l) '() (cons (car l) (sieve (remove-multiples (car l) (cdr l))))))
(define (primes n) (length (sieve (interval 2 n))))
