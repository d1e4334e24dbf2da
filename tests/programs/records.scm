; Records and multiple values: define-record-type at top level and in a body, accessors and
; modifiers, values with call-with-values, let-values, let*-values and define-values.

(define-record-type <account> (make-account owner balance) account?
  (owner account-owner)
  (balance account-balance set-account-balance!))

(define (deposit! acct amount)
  (set-account-balance! acct (+ (account-balance acct) amount))
  (account-balance acct))

(define a (make-account 'ada 100))
(deposit! a 50)
(list (account? a) (account? 'ada) (account-owner a))

(define (queue-demo)
  (define-record-type queue (make-queue front back) queue?
    (front queue-front set-queue-front!)
    (back queue-back set-queue-back!))
  (let ((q (make-queue '() '())))
    (for-each (lambda (x) (set-queue-back! q (cons x (queue-back q)))) '(1 2 3))
    (set-queue-front! q (reverse (queue-back q)))
    (queue-front q)))
(queue-demo)

(define (div-mod n d) (values (quotient n d) (remainder n d)))
(call-with-values (lambda () (div-mod 17 5)) list)
(let-values (((q r) (div-mod 17 5)) ((all) (values 'one)))
  (list q r all))
(let*-values (((a b) (values 1 2)) ((c) (values (+ a b))))
  (list a b c))
(let-values (((first . rest) (values 1 2 3)))
  (list first rest))
(define-values (lo hi) (div-mod 100 7))
(list lo hi)
(define (sum-and-product l)
  (define-values (s p) (values (apply + l) (apply * l)))
  (list s p))
(sum-and-product '(1 2 3 4))
