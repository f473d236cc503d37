package smtptest_test

import (
	"fmt"
	"net/smtp"
	"strings"
	"sync"
	"testing"

	"github.com/parcours-sante/parcours/host/notify/smtptest"
)

func mail(id, to, body string) []byte {
	return []byte("Message-ID: " + id + "\r\nTo: <" + to + ">\r\nSubject: test\r\n\r\n" + body)
}

func TestRecordsRejectsAndRestarts(t *testing.T) {
	s := smtptest.NewServer(t)
	s.Reject("refused@example.test", "550 5.1.1 <refused@example.test>: Recipient address rejected")

	// A refused recipient among others: the e-mail goes to the rest.
	body := "line one\r\n.starts with a dot\r\n.\r\nlast"
	err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{"a@example.test", "refused@example.test", "b@example.test"}, mail("<one@example.test>", "a@example.test", body))
	if err == nil || !strings.Contains(err.Error(), "Recipient address rejected") {
		t.Fatalf("SendMail = %v, want the refusal", err)
	}
	// net/smtp stops at the first refusal: send again without it.
	if err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{"a@example.test", "b@example.test"}, mail("<one@example.test>", "a@example.test", body)); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || s.Len() != 1 {
		t.Fatalf("%d e-mails (Len %d), want 1", len(msgs), s.Len())
	}
	m := msgs[0]
	if m.From != "from@example.test" || strings.Join(m.To, ",") != "a@example.test,b@example.test" {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if m.MessageID() != "<one@example.test>" || m.Header("To") != "<a@example.test>" || m.Header("Subject") != "test" {
		t.Errorf("Message-ID %q, To %q, Subject %q", m.MessageID(), m.Header("To"), m.Header("Subject"))
	}
	if !strings.HasSuffix(m.Data, "\r\n\r\n"+body+"\r\n") {
		t.Errorf("data not dot-unstuffed:\n%q", m.Data)
	}

	// Accepted again, then the server is down, then back on its address.
	s.Reject("refused@example.test", "")
	s.Close()
	s.Close() // twice: nothing
	if err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{"refused@example.test"}, mail("<two@example.test>", "refused@example.test", "x")); err == nil {
		t.Fatal("SendMail to a closed server succeeded")
	}
	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", s.Addr(), addr)
	}
	if err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{"refused@example.test"}, mail("<two@example.test>", "refused@example.test", "x")); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(); len(msgs) != 2 || msgs[1].MessageID() != "<two@example.test>" || msgs[0].MessageID() != "<one@example.test>" {
		t.Fatalf("after the restart: %+v", msgs)
	}
}

func TestUnparsableMessage(t *testing.T) {
	s := smtptest.NewServer(t)
	if err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{"a@example.test"}, []byte("no header at all")); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()[0]
	if _, err := m.Parse(); err == nil {
		t.Error("Parse accepts an e-mail without header")
	}
	if m.MessageID() != "" || m.Header("To") != "" {
		t.Errorf("Message-ID %q, To %q of an unparsable e-mail", m.MessageID(), m.Header("To"))
	}
}

func TestProtocolErrors(t *testing.T) {
	s := smtptest.NewServer(t)
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Rcpt("a@example.test"); err == nil {
		t.Error("RCPT before MAIL accepted")
	}
	if err := c.Mail("from@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Data(); err == nil {
		t.Error("DATA without recipients accepted")
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("%d e-mails, want none", n)
	}
}

// TestConcurrentSenders is meant for the race detector: sessions in
// parallel with the accessors.
func TestConcurrentSenders(t *testing.T) {
	s := smtptest.NewServer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := fmt.Sprintf("r%d@example.test", i)
			if err := smtp.SendMail(s.Addr(), nil, "from@example.test", []string{to}, mail(fmt.Sprintf("<%d@example.test>", i), to, "x")); err != nil {
				t.Error(err)
			}
		}()
		_ = s.Len()
		_ = s.Messages()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range s.Messages() {
		seen[m.MessageID()] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct e-mails, want 8", len(seen))
	}
}
