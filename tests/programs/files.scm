; Output files: a program writes a report beside itself (call-with-output-file, with the port
; given to display, write and newline; with-output-to-file, where the current output port is
; the file), reads it back, and deletes it.  The run's session must allow writing.

(define (write-table port rows)
  (for-each (lambda (row)
              (write (car row) port)
              (display " => " port)
              (display (cdr row) port)
              (newline port))
            rows))

(call-with-output-file "files-report.txt"
  (lambda (port) (write-table port '(("one" . 1) ("two" . 2.5) (three . #\3)))))
(file-exists? "files-report.txt")

(define (read-lines name)
  (call-with-input-file name
    (lambda (port)
      (let loop ((lines '()))
        (let ((line (read-line port)))
          (if (eof-object? line) (reverse lines) (loop (cons line lines))))))))
(read-lines "files-report.txt")

(define (squares n)
  (with-output-to-file "files-squares.txt"
    (lambda ()
      (do ((i 1 (+ i 1))) ((> i n) 'written)
        (write (* i i))
        (write-char #\space)))))
(squares 6)
(display "the console is the current output again")
(newline)
(call-with-input-file "files-squares.txt"
  (lambda (port)
    (let loop ((sum 0))
      (let ((x (read port)))
        (if (eof-object? x) sum (loop (+ sum x)))))))

(delete-file "files-report.txt")
(delete-file "files-squares.txt")
(list (file-exists? "files-report.txt") (file-exists? "files-squares.txt"))
