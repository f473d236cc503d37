// Package smtptest provides a real SMTP server on loopback for tests: it
// speaks enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT;
// no extension but 8BITMIME) for a real client, records every e-mail it
// accepts, and can refuse chosen recipients, stop and listen again.
//
// An e-mail counts as delivered when the server has read the final "." of
// its DATA, just before it answers 250: a client that stops before reading
// the 250 has delivered it all the same, as with a real server.
package smtptest

import (
	"bufio"
	"errors"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is an SMTP server on 127.0.0.1 that records the e-mails it
// accepts. Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	addr string

	mu     sync.Mutex
	ln     net.Listener      // nil while stopped
	conns  map[net.Conn]bool // open sessions
	msgs   []Message
	reject map[string]string // recipient -> reply to its RCPT
	wg     sync.WaitGroup    // the accept loop and the sessions
}

// Message is one accepted e-mail.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO) the server accepted
	Data string   // the e-mail as sent, dot-unstuffed, with CRLF line ends
}

// Timeouts of a session: a client silent for ReadTimeout, or not reading a
// reply for WriteTimeout, is disconnected.
const (
	ReadTimeout  = 60 * time.Second
	WriteTimeout = 10 * time.Second
)

// MaxMessageBytes bounds the DATA of one e-mail; a larger one breaks the
// session and is not recorded.
const MaxMessageBytes = 1 << 20

// maxLine bounds a command or text line: RFC 5321 4.5.3.1.6 allows 1000
// octets with the CRLF.
const maxLine = 1000

// NewServer starts a server on a free port of 127.0.0.1. It is closed when
// the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, conns: map[net.Conn]bool{}, reject: map[string]string{}}
	s.listen("127.0.0.1:0")
	tb.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port, the same after Restart.
func (s *Server) Addr() string { return s.addr }

// Messages returns the e-mails accepted so far, in order of acceptance.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Len is the number of e-mails accepted so far.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Reject has the server answer reply (a full reply line such as "550 5.1.1
// unknown user") to every RCPT TO naming rcpt, compared exactly; an empty
// reply accepts rcpt again. The other recipients of an e-mail are still
// accepted; one with none gets 554 at DATA.
func (s *Server) Reject(rcpt, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reply == "" {
		delete(s.reject, rcpt)
	} else {
		s.reject[rcpt] = reply
	}
}

// Close stops the server: it closes the listener and every session, and
// waits for them. The e-mails accepted stay readable. Closing a stopped
// server does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Restart listens again on the address of a server stopped by Close,
// failing the test if it cannot.
func (s *Server) Restart() {
	s.tb.Helper()
	s.listen(s.addr)
}

func (s *Server) listen(addr string) {
	s.tb.Helper()
	s.mu.Lock()
	running := s.ln != nil
	s.mu.Unlock()
	if running {
		s.tb.Fatal("smtptest: Restart of a running server")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ln != ln { // closed meanwhile: Close did not see c
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serve runs one SMTP session.
func (s *Server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		c.SetWriteDeadline(time.Now().Add(WriteTimeout))
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	readLine := func() (string, error) {
		c.SetReadDeadline(time.Now().Add(ReadTimeout))
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) > maxLine {
			return "", errors.New("line too long")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !reply("220 smtptest.test ESMTP") {
		return
	}
	var helo, inMail bool
	var cur Message
	for {
		line, err := readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			helo, inMail, cur = true, false, Message{}
			reply("250-smtptest.test")
			reply("250 8BITMIME")
		case "HELO":
			helo, inMail, cur = true, false, Message{}
			reply("250 smtptest.test")
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
			inMail, cur = true, Message{From: p}
			reply("250 2.1.0 OK")
		case "RCPT":
			p, ok := pathArg(arg, "TO:")
			if !ok || !inMail || p == "" {
				reply("503 5.5.1 bad RCPT")
				continue
			}
			s.mu.Lock()
			rej, refused := s.reject[p]
			s.mu.Unlock()
			if refused {
				reply(rej)
				continue
			}
			cur.To = append(cur.To, p)
			reply("250 2.1.5 OK")
		case "DATA":
			if len(cur.To) == 0 {
				reply("554 5.5.1 no valid recipients")
				continue
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := readData(readLine)
			if err != nil {
				return // the session broke: nothing delivered
			}
			cur.Data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			inMail, cur = false, Message{}
			if !reply("250 2.0.0 queued") {
				return
			}
		case "RSET":
			inMail, cur = false, Message{}
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

// readData reads DATA up to the line ".", undoing the dot-stuffing, with
// CRLF line ends.
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
		if b.Len()+len(line)+2 > MaxMessageBytes {
			return "", errors.New("message too large")
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}

// Parse parses the e-mail's header (RFC 5322).
func (m Message) Parse() (*mail.Message, error) {
	return mail.ReadMessage(strings.NewReader(m.Data))
}

// Header returns the e-mail's header field k, "" if it has none or does not
// parse.
func (m Message) Header(k string) string {
	p, err := m.Parse()
	if err != nil {
		return ""
	}
	return p.Header.Get(k)
}

// MessageID returns the e-mail's Message-ID header, angle brackets
// included, "" if it has none or does not parse.
func (m Message) MessageID() string { return m.Header("Message-ID") }
