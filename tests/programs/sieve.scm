; Primes by the sieve of Eratosthenes on lists, and by trial division with filter.
(define (interval a b)
  (if (> a b) '() (cons a (interval (+ a 1) b))))

(define (remove-multiples p lst)
  (cond ((null? lst) '())
        ((= 0 (remainder (car lst) p)) (remove-multiples p (cdr lst)))
        (else (cons (car lst) (remove-multiples p (cdr lst))))))

(define (sieve lst)
  (if (null? lst)
      '()
      (cons (car lst) (sieve (remove-multiples (car lst) (cdr lst))))))

(define primes (sieve (interval 2 500)))
(length primes)
(list-tail primes 85)
(list-ref primes 10)

(define (prime? n)
  (and (> n 1)
       (let loop ((d 2))
         (cond ((> (* d d) n) #t)
               ((zero? (modulo n d)) #f)
               (else (loop (+ d 1)))))))

(equal? primes (filter prime? (interval 1 500)))
(fold-left + 0 primes)
