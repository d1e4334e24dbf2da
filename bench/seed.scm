; The seed workbench's own program (its README), run as its harness runs it: parsed once with
; the seed's `parse`, then evaluated again and again with its `eval`.
; bench: seed (fib 30)
(letrec ((fib (lambda (n)
               (if (< n 2)
                   1
                   (+ (fib (- n 1))
                      (fib (- n 2)))))))
  (fib 30))
