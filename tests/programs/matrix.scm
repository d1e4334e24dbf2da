; Vectors of vectors: matrix product and powers; do loops; vector->list for output.
(define (make-matrix rows cols init)
  (let ((m (make-vector rows)))
    (do ((i 0 (+ i 1))) ((= i rows) m)
      (vector-set! m i (make-vector cols init)))))

(define (matrix-ref m i j) (vector-ref (vector-ref m i) j))
(define (matrix-set! m i j x) (vector-set! (vector-ref m i) j x))

(define (matrix-mul a b)
  (let* ((n (vector-length a)) (k (vector-length b)) (p (vector-length (vector-ref b 0)))
         (c (make-matrix n p 0)))
    (do ((i 0 (+ i 1))) ((= i n) c)
      (do ((j 0 (+ j 1))) ((= j p))
        (do ((l 0 (+ l 1)) (sum 0 (+ sum (* (matrix-ref a i l) (matrix-ref b l j)))))
            ((= l k) (matrix-set! c i j sum)))))))

(define (matrix-power m e)
  (if (= e 1) m (matrix-mul m (matrix-power m (- e 1)))))

(define fib-matrix (vector (vector 1 1) (vector 1 0)))
(matrix-power fib-matrix 10)
(matrix-ref (matrix-power fib-matrix 80) 0 1)
(vector-map vector->list (matrix-mul (vector (vector 1 2 3)) (vector (vector 4) (vector 5) (vector 6))))
(matrix-ref fib-matrix 2 0)
