package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// mailSink is a minimal SMTP server on loopback (RFC 5321: EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT, no extensions but 8BITMIME) that accepts
// every e-mail and records, for each, its envelope recipient and its
// Message-ID. An e-mail counts as delivered when the server has read the
// final "." of its DATA, just before it answers 250: a client that stops
// before reading the 250 has delivered it all the same, as with a real
// server.
type mailSink struct {
	t    *testing.T
	ln   net.Listener
	addr string

	mu    sync.Mutex
	conns map[net.Conn]bool
	mails []sunkMail
	bad   []string // protocol or content errors, reported by the test
	wg    sync.WaitGroup
}

// sunkMail is one accepted e-mail.
type sunkMail struct {
	MessageID string
	To        string // envelope recipient (RCPT)
	HeaderTo  string // To header's address
}

// maxMailBytes bounds one e-mail's DATA; a notification is about 1 KB.
const maxMailBytes = 1 << 20

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailSink{t: t, ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop closes the listener and every connection, and waits for them.
func (s *mailSink) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// received returns the e-mails accepted so far, in order, and the problems
// seen.
func (s *mailSink) received() ([]sunkMail, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMail(nil), s.mails...), append([]string(nil), s.bad...)
}

func (s *mailSink) problem(p string) {
	s.mu.Lock()
	s.bad = append(s.bad, p)
	s.mu.Unlock()
}

func (s *mailSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	readLine := func() (string, error) {
		// A host killed mid-session leaves the connection reset or
		// closed; an idle one is closed by the sender itself.
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) > 1000 { // RFC 5321 4.5.3.1.6, with a margin
			return "", errors.New("line too long")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !reply("220 sink.test ESMTP") {
		return
	}
	var helo bool
	var from string
	var to []string
	for {
		line, err := readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			helo, from, to = true, "", nil
			reply("250-sink.test")
			reply("250 8BITMIME")
		case "HELO":
			helo, from, to = true, "", nil
			reply("250 sink.test")
		case "MAIL":
			if !helo {
				reply("503 5.5.1 EHLO first")
				continue
			}
			p, ok := pathArg(arg, "FROM:")
			if !ok {
				reply("501 5.5.4 bad MAIL")
				continue
			}
			from, to = p, nil
			reply("250 2.1.0 OK")
		case "RCPT":
			p, ok := pathArg(arg, "TO:")
			if !ok || from == "" || p == "" {
				reply("503 5.5.1 bad RCPT")
				continue
			}
			to = append(to, p)
			reply("250 2.1.5 OK")
		case "DATA":
			if len(to) == 0 {
				reply("554 5.5.1 no valid recipients")
				continue
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := readData(readLine)
			if err != nil {
				return // the connection broke: nothing delivered
			}
			s.accept(to, data)
			from, to = "", nil
			if !reply("250 2.0.0 queued") {
				return
			}
		case "RSET":
			from, to = "", nil
			reply("250 2.0.0 OK")
		case "NOOP":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not implemented")
		}
	}
}

// pathArg returns the address of "FROM:<a> [params]" or "TO:<a> [params]".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	p := strings.TrimSpace(arg[len(prefix):])
	p, _, _ = strings.Cut(p, " ") // parameters such as BODY=8BITMIME
	if !strings.HasPrefix(p, "<") || !strings.HasSuffix(p, ">") {
		return "", false
	}
	return p[1 : len(p)-1], true
}

// readData reads DATA up to the line ".", undoing the dot-stuffing, with CRLF
// line ends.
func readData(readLine func() (string, error)) (string, error) {
	var b strings.Builder
	for {
		line, err := readLine()
		if err != nil {
			return "", err
		}
		if line == "." {
			return b.String(), nil
		}
		line = strings.TrimPrefix(line, ".")
		if b.Len()+len(line) > maxMailBytes {
			return "", io.ErrShortBuffer
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}

// accept records one e-mail (one per recipient, as a notification has one).
func (s *mailSink) accept(to []string, data string) {
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		s.problem("unparsable e-mail: " + err.Error())
		return
	}
	id := m.Header.Get("Message-ID")
	if id == "" {
		s.problem("e-mail without a Message-ID")
	}
	var headerTo string
	if a, err := mail.ParseAddress(m.Header.Get("To")); err == nil {
		headerTo = a.Address
	} else {
		s.problem("e-mail with a malformed To: " + err.Error())
	}
	if len(to) != 1 {
		s.problem("e-mail with several recipients: " + strings.Join(to, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rcpt := range to {
		s.mails = append(s.mails, sunkMail{MessageID: id, To: rcpt, HeaderTo: headerTo})
	}
}
