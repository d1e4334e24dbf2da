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
