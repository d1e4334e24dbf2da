(define (length lst)
  (let length/loop ((l lst) (n 0))
    (cond ((pair? l) (length/loop (cdr l) (+ n 1)))
          ((null? l) n)
          (else (%type-error 'length "a list" lst)))))

(define (reverse lst)
  (let reverse/loop ((l lst) (acc '()))
    (cond ((pair? l) (reverse/loop (cdr l) (cons (car l) acc)))
          ((null? l) acc)
          (else (%type-error 'reverse "a list" lst)))))

(define (list-tail lst k)
  (unless (exact-integer? k) (%type-error 'list-tail "an index" k))
  (let list-tail/loop ((l lst) (i k))
    (cond ((= i 0) l)
          ((pair? l) (list-tail/loop (cdr l) (- i 1)))
          (else (%range-error 'list-tail k lst)))))

(define (list-ref lst k)
  (unless (exact-integer? k) (%type-error 'list-ref "an index" k))
  (let list-ref/loop ((l lst) (i k))
    (cond ((not (pair? l)) (%range-error 'list-ref k lst))
          ((= i 0) (car l))
          (else (list-ref/loop (cdr l) (- i 1))))))

(define (memq x lst)
  (let memq/loop ((l lst))
    (cond ((pair? l) (if (eq? x (car l)) l (memq/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'memq "a list" lst)))))

(define (memv x lst)
  (let memv/loop ((l lst))
    (cond ((pair? l) (if (eqv? x (car l)) l (memv/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'memv "a list" lst)))))

(define (member x lst . compare)
  (let ((same? (if (pair? compare) (car compare) equal?)))
    (let member/loop ((l lst))
      (cond ((pair? l) (if (same? x (car l)) l (member/loop (cdr l))))
            ((null? l) #f)
            (else (%type-error 'member "a list" lst))))))

(define (assq x alist)
  (let assq/loop ((l alist))
    (cond ((and (pair? l) (pair? (car l))) (if (eq? x (car (car l))) (car l) (assq/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'assq "a list of pairs" alist)))))

(define (assv x alist)
  (let assv/loop ((l alist))
    (cond ((and (pair? l) (pair? (car l))) (if (eqv? x (car (car l))) (car l) (assv/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'assv "a list of pairs" alist)))))

(define (assoc x alist . compare)
  (let ((same? (if (pair? compare) (car compare) equal?)))
    (let assoc/loop ((l alist))
      (cond ((and (pair? l) (pair? (car l))) (if (same? x (car (car l))) (car l) (assoc/loop (cdr l))))
            ((null? l) #f)
            (else (%type-error 'assoc "a list of pairs" alist))))))

(define (%cars ls) (if (pair? ls) (cons (car (car ls)) (%cars (cdr ls))) '()))
(define (%cdrs ls) (if (pair? ls) (cons (cdr (car ls)) (%cdrs (cdr ls))) '()))
(define (%all-pairs? ls) (or (null? ls) (and (pair? (car ls)) (%all-pairs? (cdr ls)))))
; The shortest of several lists ended: each of the others must be a list still (a pair or ()),
; or that argument (one of originals) was not a list.
(define (%lists-end who originals ls result)
  (let %lists-end/loop ((ls ls) (os originals))
    (cond ((null? ls) result)
          ((or (pair? (car ls)) (null? (car ls))) (%lists-end/loop (cdr ls) (cdr os)))
          (else (%type-error who "a list" (car os))))))

(define (map f lst . lists)
  (let ((head (cons #f '())))
    (if (null? lists)
        (let map/loop ((l lst) (tail head))
          (cond ((pair? l)
                 (let ((cell (cons (f (car l)) '())))
                   (set-cdr! tail cell)
                   (map/loop (cdr l) cell)))
                ((null? l) (cdr head))
                (else (%type-error 'map "a list" lst))))
        (let map/lists ((ls (cons lst lists)) (tail head))
          (if (%all-pairs? ls)
              (let ((cell (cons (apply f (%cars ls)) '())))
                (set-cdr! tail cell)
                (map/lists (%cdrs ls) cell))
              (%lists-end 'map (cons lst lists) ls (cdr head)))))))

(define (for-each f lst . lists)
  (if (null? lists)
      (let for-each/loop ((l lst))
        (cond ((pair? l) (f (car l)) (for-each/loop (cdr l)))
              ((not (null? l)) (%type-error 'for-each "a list" lst))))
      (let for-each/lists ((ls (cons lst lists)))
        (if (%all-pairs? ls)
            (begin (apply f (%cars ls)) (for-each/lists (%cdrs ls)))
            (%lists-end 'for-each (cons lst lists) ls (if #f #f))))))

(define (filter keep? lst)
  (let ((head (cons #f '())))
    (let filter/loop ((l lst) (tail head))
      (cond ((pair? l)
             (if (keep? (car l))
                 (let ((cell (cons (car l) '())))
                   (set-cdr! tail cell)
                   (filter/loop (cdr l) cell))
                 (filter/loop (cdr l) tail)))
            ((null? l) (cdr head))
            (else (%type-error 'filter "a list" lst))))))

(define (fold-left f acc lst)
  (let fold-left/loop ((acc acc) (l lst))
    (cond ((pair? l) (fold-left/loop (f acc (car l)) (cdr l)))
          ((null? l) acc)
          (else (%type-error 'fold-left "a list" lst)))))

(define (fold-right f acc lst)
  (let fold-right/loop ((l (let fold-right/reverse ((l lst) (r '()))
                             (cond ((pair? l) (fold-right/reverse (cdr l) (cons (car l) r)))
                                   ((null? l) r)
                                   (else (%type-error 'fold-right "a list" lst)))))
                        (acc acc))
    (if (pair? l) (fold-right/loop (cdr l) (f (car l) acc)) acc)))

(define (vector-map f v)
  (let* ((n (vector-length v)) (r (make-vector n #f)))
    (let vector-map/loop ((i 0))
      (if (= i n) r
          (begin (vector-set! r i (f (vector-ref v i))) (vector-map/loop (+ i 1)))))))

(define (vector-for-each f v)
  (let ((n (vector-length v)))
    (let vector-for-each/loop ((i 0))
      (when (< i n) (f (vector-ref v i)) (vector-for-each/loop (+ i 1))))))

(define (square x) (* x x))

(define (gcd . ns)
  (let gcd/loop ((ns ns) (acc 0))
    (if (null? ns)
        acc
        (gcd/loop (cdr ns)
                  (let gcd/two ((a (abs acc)) (b (abs (car ns))))
                    (if (= b 0) a (gcd/two b (remainder a b))))))))

(define (lcm . ns)
  (let lcm/loop ((ns ns) (acc 1))
    (if (null? ns)
        acc
        (let ((n (abs (car ns))))
          (lcm/loop (cdr ns) (if (or (= n 0) (= acc 0)) 0 (quotient (* acc n) (gcd acc n))))))))

(define (real? x) (number? x))
(define (complex? x) (number? x))
(define (rational? x) (and (number? x) (finite? x)))

(define call/cc call-with-current-continuation)

(define (values . things)
  (if (and (pair? things) (null? (cdr things))) (car things) (%make-values things)))

(define (call-with-values producer consumer)
  (apply consumer (%values->list (producer))))

(define (call-with-port port proc)
  (let ((result (proc port)))
    (close-port port)
    result))

(define (call-with-input-file name proc) (call-with-port (open-input-file name) proc))

; Runs thunk with port as the current port that current and set-current! read and set.
(define (%with-current-port port current set-current! thunk)
  (let ((saved (current)))
    (set-current! port)
    (let ((result (thunk)))
      (set-current! saved)
      (close-port port)
      result)))

(define (with-input-from-file name thunk)
  (%with-current-port (open-input-file name) current-input-port %set-current-input-port! thunk))

(define (call-with-output-file name proc) (call-with-port (open-output-file name) proc))

(define (with-output-to-file name thunk)
  (%with-current-port (open-output-file name) current-output-port %set-current-output-port! thunk))

(define (close-input-port port) (close-port port))
(define (close-output-port port) (close-port port))

(define (exact-integer-sqrt n)
  (unless (and (exact-integer? n) (>= n 0)) (%type-error 'exact-integer-sqrt "a non-negative exact integer" n))
  (let ((s (exact (floor (sqrt n)))))
    (let fix ((s s))  ; the flonum square root can be one off for large n
      (cond ((> (* s s) n) (fix (- s 1)))
            ((<= (* (+ s 1) (+ s 1)) n) (fix (+ s 1)))
            (else (values s (- n (* s s))))))))

(define (floor-quotient n d) (floor (/ (- n (floor-remainder n d)) d)))
(define (floor-remainder n d) (modulo n d))
(define (floor/ n d) (values (floor-quotient n d) (floor-remainder n d)))
(define (truncate-quotient n d) (quotient n d))
(define (truncate-remainder n d) (remainder n d))
(define (truncate/ n d) (values (quotient n d) (remainder n d)))

(define (make-list k . fill)
  (let ((x (if (pair? fill) (car fill) #f)))
    (let make-list/loop ((k k) (acc '()))
      (if (<= k 0) acc (make-list/loop (- k 1) (cons x acc))))))

(define (list-copy lst)
  (if (pair? lst) (cons (car lst) (list-copy (cdr lst))) lst))

(define (last-pair lst)
  (if (pair? (cdr lst)) (last-pair (cdr lst)) lst))

(define (list-set! lst k x) (set-car! (list-tail lst k) x))

(define (string-for-each f s)
  (let ((n (string-length s)))
    (let string-for-each/loop ((i 0))
      (when (< i n) (f (string-ref s i)) (string-for-each/loop (+ i 1))))))

(define (string-map f s) (list->string (map f (string->list s))))

(define (vector-copy v . range)
  (let* ((start (if (pair? range) (car range) 0))
         (end (if (and (pair? range) (pair? (cdr range))) (cadr range) (vector-length v)))
         (r (make-vector (- end start) #f)))
    (do ((i start (+ i 1))) ((= i end) r) (vector-set! r (- i start) (vector-ref v i)))))

(define (vector-append . vs) (list->vector (apply append (map vector->list vs))))
(define (string->vector s) (list->vector (string->list s)))
(define (vector->string v) (list->string (vector->list v)))
(define (boolean=? a b) (eq? a b))
(define (symbol=? a b) (eq? a b))
(define (char-foldcase c) (char-downcase c))
(define (string-foldcase s) (string-downcase s))
