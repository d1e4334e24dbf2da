; Building strings: number->string, string-append, characters, symbols, write vs display.
(define (join strs sep)
  (if (null? strs)
      ""
      (fold-left (lambda (acc s) (string-append acc sep s)) (car strs) (cdr strs))))

(define (string-reverse s) (list->string (reverse (string->list s))))

(define (palindrome? s)
  (let ((clean (filter char-alphabetic? (map char-downcase (string->list s)))))
    (equal? clean (reverse clean))))

(join (map number->string '(1 2 3 42)) ", ")
(string-reverse "jitscope")
(map palindrome? '("A man, a plan, a canal: Panama" "scheme"))

(define (caesar s k)
  (list->string
   (map (lambda (c)
          (if (char-alphabetic? c)
              (integer->char (+ 97 (modulo (+ (- (char->integer (char-downcase c)) 97) k) 26)))
              c))
        (string->list s))))

(caesar "hello, world" 3)
(caesar (caesar "hello, world" 3) -3)

(define (describe x)
  (string-append (symbol->string 'value) "=" (number->string x 2) "b"))
(describe 10)

(define (table rows)
  (for-each (lambda (row)
              (display (car row))
              (display ": ")
              (write (cdr row))
              (newline))
            rows))
(table '((name . "Ada") (born . 1815) (langs "analytical engine" #\A)))

(string-length (apply string-append (map (lambda (i) (make-string i #\*)) '(1 2 3 4))))
(string->symbol (string-append "sym-" (number->string 7)))
`(built ,(string #\o #\k) ,@(map string->number '("1" "10" "x")))
