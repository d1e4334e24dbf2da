; Takeuchi's function (Gabriel benchmark), and the fixnum version with a do loop driver.
(define (tak x y z)
  (if (not (< y x))
      z
      (tak (tak (- x 1) y z)
           (tak (- y 1) z x)
           (tak (- z 1) x y))))

(tak 18 12 6)

(define (repeat n thunk)
  (do ((i 0 (+ i 1))
       (result #f (thunk)))
      ((= i n) result)))

(repeat 3 (lambda () (tak 12 8 4)))
