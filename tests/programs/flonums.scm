; Flonums: literals, arithmetic mixing exact and inexact, the transcendental functions, rounding
; and printing, in loops the JIT compiles (the same output in every mode).

(define (newton-sqrt x)
  (let loop ((guess 1.0) (steps 0))
    (let ((next (/ (+ guess (/ x guess)) 2)))
      (if (< (abs (- next guess)) 1e-12)
          (list next steps)
          (loop next (+ steps 1))))))

(newton-sqrt 2)
(newton-sqrt 1e10)

; Points of a 24x12 grid inside the Mandelbrot set (at most 50 iterations).
(define (mandel-count cr ci)
  (let loop ((zr 0.0) (zi 0.0) (k 0))
    (cond ((= k 50) k)
          ((> (+ (* zr zr) (* zi zi)) 4.0) k)
          (else (loop (+ (- (* zr zr) (* zi zi)) cr) (+ (* 2.0 zr zi) ci) (+ k 1))))))

(define (mandel-row y)
  (let loop ((x 0) (acc '()))
    (if (= x 24)
        (list->string (reverse acc))
        (loop (+ x 1)
              (cons (if (= (mandel-count (- (* x 0.125) 2.0) (- (* y 0.2) 1.2)) 50) #\* #\.)
                    acc)))))

(let loop ((y 0))
  (when (< y 12)
    (display (mandel-row y))
    (newline)
    (loop (+ y 1))))

; Sums: exact until a flonum joins, inexact from then on.
(define (harmonic n)
  (let loop ((k 1) (acc 0))
    (if (> k n) acc (loop (+ k 1) (+ acc (/ 1.0 k))))))
(harmonic 1000)
(+ 1 2 3 0.5)
(* 4 (atan 1))
(list (exp 0.0) (log 8 2) (sin 0.0) (cos 0.0) (sqrt 144) (sqrt 2.25) (expt 1.5 2) (expt 2 20))
(map round '(0.5 1.5 2.5 -1.5 -2.5))
(map (lambda (x) (list (floor x) (ceiling x) (truncate x))) '(2.7 -2.7))
(map exact (list (floor 9.99) 1e15 -3.0))
(map inexact '(1 -7 1000000))
(list 1e21 1e-7 123.456 0.001 1234567.0 12345678.0 -0.0 (/ 1.0 3))
(list (/ 1.0 0.) (- (/ 1.0 0.)) (nan? (- (/ 1.0 0.) (/ 1.0 0.))))
(list (exact->inexact 1) (number->string 3.25) (string->number "-2.5e-3") (string->number ".5"))
(list (= 1 1.0) (eqv? 1 1.0) (equal? 2.0 2.0) (< 1 1.5 2) (max 1 2 3.0) (min 1.0 2 3))
(list (integer? 3.0) (exact? 3.0) (exact-integer? 3) (rational? 1.5) (number? 'pi))
(vector-map (lambda (x) (* x 1.1)) #(1 2 3))
