; Ports: string ports in and out, the current output port, an optional port argument to
; display, write, newline, write-char and write-string, and reading a file beside the program
; by characters, lines and datums.

(define out (open-output-string))
(write 'sym out)
(display " and " out)
(write "a \"string\"" out)
(newline out)
(write-char #\x out)
(write-string "yz" out)
(get-output-string out)

(define (join-words words)
  (let ((port (open-output-string)))
    (let loop ((ws words) (first #t))
      (unless (null? ws)
        (unless first (write-char #\space port))
        (display (car ws) port)
        (loop (cdr ws) #f)))
    (get-output-string port)))
(join-words '(one 2 "three" 4.5))

(define (count-chars port)
  (let loop ((n 0) (lines 0))
    (let ((c (read-char port)))
      (cond ((eof-object? c) (list n lines))
            ((char=? c #\newline) (loop (+ n 1) (+ lines 1)))
            (else (loop (+ n 1) lines))))))
(count-chars (open-input-string "ab\ncd\n"))

(define (read-all port)
  (let loop ((acc '()))
    (let ((d (read port)))
      (if (eof-object? d) (reverse acc) (loop (cons d acc))))))
(read-all (open-input-string "(a . b) #(1 2) \"s\" 42 -1.5 'q"))

(call-with-input-file "ports.data"
  (lambda (port)
    (let* ((first (read-line port)) (c (read-char port)) (next (peek-char port)))
      (list first c next (read-line port) (read port) (read port) (read port) (eof-object? (read port))))))
(call-with-input-file "ports.data" count-chars)
(with-input-from-file "ports.data" (lambda () (list (read-line) (read-line))))
(list (file-exists? "ports.data") (file-exists? "no-such-file"))
(display "to the console" (current-output-port))
(newline (current-output-port))
(list (input-port? (open-input-string "")) (output-port? (current-output-port)) (eof-object))
