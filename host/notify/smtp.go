package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// SMTP is the mail server notifications go through, and how to talk to it.
type SMTP struct {
	// Addr is the server's host:port, for example "smtp.chu-exemple.fr:587".
	Addr string
	// From is the sender, a bare address or "Name <address>", for example
	// "Parcours <ne-pas-repondre@chu-exemple.fr>".
	From string
	// StartTLS requires STARTTLS before anything is sent: a server that
	// does not offer it, or whose certificate does not verify, gets
	// nothing.
	StartTLS bool
	// TLSConfig configures STARTTLS; nil verifies the server against the
	// system roots under the host name of Addr. TLS 1.2 is the minimum.
	TLSConfig *tls.Config
	// Username and Password, if Username is set, authenticate with PLAIN
	// (RFC 4616), which sends the password in clear: it requires StartTLS.
	Username, Password string
	// Hello is the name given in EHLO; "" is "localhost".
	Hello string
	// Timeout bounds connecting and each step of a delivery; 0 is 30 s.
	Timeout time.Duration
}

// Validate reports a configuration that cannot work or would be unsafe.
func (c SMTP) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("notify: SMTP address %q is not host:port", c.Addr)
	}
	if _, err := parseFrom(c.From); err != nil {
		return err
	}
	if c.Username != "" && !c.StartTLS {
		return errors.New("notify: SMTP authentication sends the password in clear: it requires STARTTLS")
	}
	if strings.ContainsAny(c.Hello, " \r\n") {
		return fmt.Errorf("notify: malformed EHLO name %q", c.Hello)
	}
	if c.Timeout < 0 {
		return errors.New("notify: negative SMTP timeout")
	}
	return nil
}

// parseFrom parses the sender address.
func parseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("notify: sender address %q is not an e-mail address", from)
	}
	return a, nil
}

func (c SMTP) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

// session is one SMTP connection, ready to send.
type session struct {
	cfg     SMTP
	conn    net.Conn
	c       *smtp.Client
	release func() bool // stops closing conn when the context ends
}

// dial connects to the server, says hello, starts TLS and authenticates as
// configured. The connection closes when ctx ends, so that a stop never
// waits for a slow server.
func dial(ctx context.Context, cfg SMTP) (*session, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: cfg.timeout()}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, conn: conn, release: context.AfterFunc(ctx, func() { conn.Close() })}
	s.extend()
	if err := s.open(host); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) open(host string) error {
	c, err := smtp.NewClient(s.conn, host) // reads the greeting
	if err != nil {
		return err
	}
	s.c = c
	hello := s.cfg.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return err
	}
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS")
		}
		tc := &tls.Config{}
		if s.cfg.TLSConfig != nil {
			tc = s.cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		// net/smtp's PLAIN refuses to run without TLS (but to
		// localhost); Validate already requires STARTTLS.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return err
		}
	}
	return nil
}

// extend gives the next step a full timeout.
func (s *session) extend() { s.conn.SetDeadline(time.Now().Add(s.cfg.timeout())) }

// send delivers one message to one recipient. A failure leaves the session
// usable if reset reports so.
func (s *session) send(from, to string, msg []byte) error {
	s.extend()
	if err := s.c.Mail(from); err != nil {
		return err
	}
	if err := s.c.Rcpt(to); err != nil {
		return err
	}
	w, err := s.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return err
	}
	return w.Close() // the server's reply to the end of DATA: accepted or not
}

// reset ends a failed transaction; an error means the session is lost.
func (s *session) reset() error {
	s.extend()
	return s.c.Reset()
}

// quit ends the session politely, then closes it.
func (s *session) quit() {
	s.extend()
	if s.c != nil {
		s.c.Quit()
	}
	s.close()
}

func (s *session) close() {
	s.release()
	if s.c != nil {
		s.c.Close()
	} else {
		s.conn.Close()
	}
}
