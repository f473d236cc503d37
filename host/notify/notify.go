// Package notify sends the e-mails of messaging notifications: when a
// message arrives, the other side of the thread gets an e-mail saying only
// that a message is waiting.
//
// A Sender drains the durable outbox (portal.Notifications) through an SMTP
// server. Delivery is at least once: a notification is acknowledged only
// once the server accepted its e-mail, and one claimed but not acknowledged
// (the server was down, the host crashed) comes back when its lease ends.
// Exactly once is impossible at the SMTP level: a host that stops between
// the server's acceptance and the acknowledgement sends that e-mail again
// after the lease. The duplicate carries the same Message-ID (see MessageID),
// by which mail systems recognise it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Defaults of a Sender.
const (
	DefaultLease    = 5 * time.Minute
	DefaultBatch    = 50
	DefaultInterval = 10 * time.Second
)

// Sender drains the outbox of notifications into e-mails. Set its fields,
// then call Run (or Drain); do not change them afterwards.
type Sender struct {
	// Store is the outbox, Contacts where each notification goes.
	Store    portal.Notifications
	Contacts portal.Contacts
	SMTP     SMTP
	// PatientLink and TeamLink, if set, are the http(s) URLs the e-mails
	// point to: the patient portal, and the care team's inbox. Without
	// them the e-mail tells where to go without a link.
	PatientLink, TeamLink string
	// MessageIDHost is the right-hand side of the e-mails' Message-IDs; ""
	// is the domain of SMTP.From. Keep it stable: the Message-ID of a
	// notification sent again must not change.
	MessageIDHost string
	// Lease is how long a claimed notification stays out of other claims
	// (DefaultLease if 0): make it longer than a batch's delivery.
	Lease time.Duration
	// Batch is the number of notifications claimed at once (DefaultBatch
	// if 0, at most portal.MaxNotificationClaim).
	Batch int
	// Interval is the pause of Run after the outbox emptied or a failure
	// (DefaultInterval if 0).
	Interval time.Duration
	// Logger receives one line per notification delivered or dropped and
	// per failure: ids, the recipient side and the masked address (Mask),
	// never content. nil discards them.
	Logger *slog.Logger
	// Now is the clock of the e-mails' Date; nil is time.Now.
	Now func() time.Time
}

// config is a Sender's checked settings, defaults applied.
type config struct {
	from      *mail.Address
	msgIDHost string
	lease     time.Duration
	batch     int
	interval  time.Duration
	log       *slog.Logger
	now       func() time.Time
}

func (s *Sender) config() (config, error) {
	c := config{lease: s.Lease, batch: s.Batch, interval: s.Interval, log: s.Logger, now: s.Now, msgIDHost: s.MessageIDHost}
	if s.Store == nil || s.Contacts == nil {
		return c, errors.New("notify: a Sender needs a Store and Contacts")
	}
	if err := s.SMTP.Validate(); err != nil {
		return c, err
	}
	c.from, _ = parseFrom(s.SMTP.From)
	for _, l := range []string{s.PatientLink, s.TeamLink} {
		if l == "" {
			continue
		}
		if u, err := url.Parse(l); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, fmt.Errorf("notify: link %q is not an http(s) URL", l)
		}
	}
	if c.msgIDHost == "" {
		c.msgIDHost = c.from.Address[strings.LastIndex(c.from.Address, "@")+1:]
	}
	if c.msgIDHost == "" || !validHost(c.msgIDHost) {
		return c, fmt.Errorf("notify: Message-ID host %q is not a domain name", c.msgIDHost)
	}
	if c.lease == 0 {
		c.lease = DefaultLease
	}
	if c.batch == 0 {
		c.batch = DefaultBatch
	}
	if c.interval == 0 {
		c.interval = DefaultInterval
	}
	if err := portal.ValidateClaim(c.batch, c.lease); err != nil {
		return c, fmt.Errorf("notify: %w", err)
	}
	if c.interval < 0 {
		return c, errors.New("notify: negative interval")
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// validHost reports a host name fit for a Message-ID: letters, digits,
// '-' and '.'.
func validHost(h string) bool {
	for _, r := range h {
		if !(r == '-' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return h != "" && net.ParseIP(h) == nil
}

// Validate reports settings with which Run cannot work.
func (s *Sender) Validate() error {
	_, err := s.config()
	return err
}

// Run drains the outbox until ctx ends, then returns nil: it claims a batch,
// delivers it, acknowledges each e-mail the server accepted, and pauses for
// Interval once the outbox is empty or after a failure (the notifications
// not delivered come back after their lease). It returns an error at once
// only for a configuration that cannot work.
func (s *Sender) Run(ctx context.Context) error {
	c, err := s.config()
	if err != nil {
		return err
	}
	c.log.Info("notifications: sending e-mails", "smtp", s.SMTP.Addr, "starttls", s.SMTP.StartTLS)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ctx.Err() != nil {
			return nil
		}
		r, err := s.drain(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Warn("notifications: delivery interrupted, retrying later", "err", err, "sent", r.Sent)
		}
		if err == nil && r.Claimed == c.batch {
			t.Reset(0) // more are waiting
		} else {
			t.Reset(c.interval)
		}
	}
}

// Report counts what one Drain did.
type Report struct {
	// Claimed notifications, of which Sent were accepted by the server
	// and Dropped had no usable address; both are acknowledged (unless
	// the acknowledgement failed, see Drain). The others come back after
	// the lease.
	Claimed, Sent, Dropped int
}

// Drain claims one batch and delivers it, once. An error means the outbox or
// the mail server failed; the report says what was done before.
func (s *Sender) Drain(ctx context.Context) (Report, error) {
	c, err := s.config()
	if err != nil {
		return Report{}, err
	}
	return s.drain(ctx, c)
}

func (s *Sender) drain(ctx context.Context, c config) (Report, error) {
	var r Report
	ns, err := s.Store.ClaimNotifications(ctx, c.batch, c.lease)
	if err != nil {
		return r, fmt.Errorf("claiming notifications: %w", err)
	}
	r.Claimed = len(ns)
	var sess *session
	defer func() {
		if sess != nil {
			sess.quit()
		}
	}()
	for _, n := range ns {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		log := c.log.With("notification", n.ID, "side", string(n.Recipient), "attempt", n.Attempts)
		to, ok, err := s.Contacts.Recipient(ctx, n)
		if err != nil {
			return r, fmt.Errorf("notification %d: finding its recipient: %w", n.ID, err)
		}
		if ok && checkAddress(to) != nil {
			log.Warn("notifications: malformed address, notification dropped", "to", Mask(to))
			s.ack(ctx, log, n)
			r.Dropped++
			continue
		}
		if !ok {
			// Never retried: there is nowhere to send it. The message
			// itself is stored and shown in the portal.
			log.Warn("notifications: no address, notification dropped")
			s.ack(ctx, log, n)
			r.Dropped++
			continue
		}
		if sess == nil {
			if sess, err = dial(ctx, s.SMTP); err != nil {
				return r, fmt.Errorf("connecting to the mail server: %w", err)
			}
		}
		link := s.PatientLink
		if n.Recipient == portal.AuthorPractitioner {
			link = s.TeamLink
		}
		msg := compose(n, c.from, to, c.msgIDHost, link, c.now())
		if err := sess.send(c.from.Address, to, msg); err != nil {
			log.Error("notifications: the mail server refused the e-mail; it is retried after the lease",
				"to", Mask(to), "err", redact(err, to))
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			if err := sess.reset(); err != nil {
				sess.close()
				sess = nil
				return r, fmt.Errorf("mail server session lost: %s", redact(err, to))
			}
			continue
		}
		log.Info("notifications: e-mail sent", "to", Mask(to))
		if s.ack(ctx, log, n) {
			r.Sent++
		}
	}
	return r, nil
}

// ack acknowledges n, even if ctx just ended: the e-mail is gone, and an
// acknowledgement lost now means a duplicate later.
func (s *Sender) ack(ctx context.Context, log *slog.Logger, n portal.Notification) bool {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Store.AckNotification(actx, n.ID); err != nil {
		log.Error("notifications: acknowledging failed; the e-mail will be sent again with the same Message-ID", "err", err)
		return false
	}
	return true
}

// checkAddress refuses anything but a bare address that fits a header.
func checkAddress(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return errors.New("malformed address")
	}
	return nil
}
