package notify_test

import (
	"bufio"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
)

// smtpServer is a minimal SMTP server on loopback (RFC 5321: EHLO/HELO,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT) that records the messages it accepts.
type smtpServer struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	msgs   []received
	reject map[string]string // recipient -> reply to RCPT
	wg     sync.WaitGroup
}

// received is one accepted e-mail.
type received struct {
	From string
	To   []string
	Data string // as sent, dot-unstuffed, CRLF line ends
}

// Header parses the message and returns its header k.
func (r received) Header(t *testing.T, k string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(r.Data))
	if err != nil {
		t.Fatalf("unparsable message: %v\n%s", err, r.Data)
	}
	return m.Header.Get(k)
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, reject: map[string]string{}, conns: map[net.Conn]bool{}}
	s.listen("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *smtpServer) listen(addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
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
}

// stop closes the listener and every connection: the server is down.
func (s *smtpServer) stop() {
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

// restart listens again on the same address.
func (s *smtpServer) restart() { s.listen(s.addr) }

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	if !reply("220 test.example.test ESMTP") {
		return
	}
	var cur received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			reply("250-test.example.test")
			reply("250 8BITMIME")
		case "HELO":
			reply("250 test.example.test")
		case "MAIL":
			cur = received{From: path(arg)}
			reply("250 OK")
		case "RCPT":
			to := path(arg)
			s.mu.Lock()
			rej, bad := s.reject[to]
			s.mu.Unlock()
			if bad {
				reply(rej)
				continue
			}
			cur.To = append(cur.To, to)
			reply("250 OK")
		case "DATA":
			if len(cur.To) == 0 {
				reply("554 no valid recipients")
				continue
			}
			reply("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = data.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			cur = received{}
			reply("250 OK queued")
		case "RSET":
			cur = received{}
			reply("250 OK")
		case "NOOP":
			reply("250 OK")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

// path returns the address of "FROM:<a> …" or "TO:<a> …".
func path(arg string) string {
	_, a, _ := strings.Cut(arg, "<")
	a, _, _ = strings.Cut(a, ">")
	return a
}
