; Ackermann's function, with cond and deep non-tail recursion.
(define (ack m n)
  (cond ((= m 0) (+ n 1))
        ((= n 0) (ack (- m 1) 1))
        (else (ack (- m 1) (ack m (- n 1))))))

(ack 2 9)
(ack 3 4)
(map (lambda (n) (ack 1 n)) '(0 1 2 3 4))
