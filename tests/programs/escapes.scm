; call/cc for escapes: early exits from loops and from deep recursion, the continuation
; passed down through calls, and ctak (every call escapes through its continuation).

(define (list-index pred l)
  (call-with-current-continuation
   (lambda (return)
     (let loop ((l l) (i 0))
       (cond ((null? l) #f)
             ((pred (car l)) (return i))
             (else (loop (cdr l) (+ i 1))))))))

(list-index even? '(1 3 5 6 7))
(list-index even? '(1 3 5))

; The product of a tree's leaves, leaving at the first zero without multiplying.
(define (tree-product tree)
  (call/cc
   (lambda (exit)
     (let walk ((t tree))
       (cond ((null? t) 1)
             ((pair? t) (* (walk (car t)) (walk (cdr t))))
             ((= t 0) (exit 0))
             (else t))))))

(tree-product '((1 2) (3 (4 5)) 6))
(tree-product '((1 2) (0 (4 5)) 6))

(define (ctak x y z)
  (call-with-current-continuation (lambda (k) (ctak-aux k x y z))))

(define (ctak-aux k x y z)
  (if (not (< y x))
      (k z)
      (call-with-current-continuation
       (lambda (k)
         (ctak-aux k
                   (call-with-current-continuation (lambda (k) (ctak-aux k (- x 1) y z)))
                   (call-with-current-continuation (lambda (k) (ctak-aux k (- y 1) z x)))
                   (call-with-current-continuation (lambda (k) (ctak-aux k (- z 1) x y))))))))

(ctak 12 8 4)

; An escape from inside a nested call/cc skips both.
(list (call/cc (lambda (outer) (+ 1 (call/cc (lambda (inner) (outer 'out)))))) 'after)

(let ((count 0))
  (for-each (lambda (n)
              (call/cc (lambda (skip)
                         (when (odd? n) (skip #f))
                         (set! count (+ count n)))))
            '(1 2 3 4 5 6))
  count)
