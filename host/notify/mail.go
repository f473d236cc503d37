package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// The e-mail's fixed text. It says that a message is waiting and nothing
// else: no subject, no service (a service's name, "Psychiatrie" say, is
// health information), no name, no content.
const (
	subject = "Nouveau message / New message"

	patientFR = "Bonjour,\n\nVous avez un nouveau message sur votre espace patient.\n" +
		"Pour le lire, connectez-vous à votre espace patient.\n%s\n" +
		"Pour protéger votre vie privée, ce courriel ne contient aucune information sur votre santé. " +
		"Merci de ne pas y répondre.\n"
	patientEN = "Hello,\n\nYou have a new message in your patient portal.\n" +
		"To read it, sign in to your patient portal.\n%s\n" +
		"To protect your privacy, this e-mail contains no information about your health. " +
		"Please do not reply to it.\n"
	teamFR = "Bonjour,\n\nUn patient a envoyé un nouveau message à votre équipe.\n" +
		"Pour le lire, ouvrez la messagerie de l'équipe.\n%s\n" +
		"Ce courriel ne contient aucune information de santé. Merci de ne pas y répondre.\n"
	teamEN = "Hello,\n\nA patient sent a new message to your care team.\n" +
		"To read it, open the care team's inbox.\n%s\n" +
		"This e-mail contains no health information. Please do not reply to it.\n"
)

// MessageID returns the Message-ID of the e-mail of notification n,
// "<notif-ID.DIGEST@host>": ID is the outbox's id of n and DIGEST a digest
// of its message's id, so that no two notifications share one even across
// databases, and that the message's id does not travel. The same
// notification sent twice (delivered, then the sender stopped before
// acknowledging it) carries the same Message-ID, which mail systems use to
// recognise the duplicate.
func MessageID(n portal.Notification, host string) string {
	sum := sha256.Sum256([]byte("parcours-notification\x00" + n.Message))
	return fmt.Sprintf("<notif-%d.%s@%s>", n.ID, hex.EncodeToString(sum[:10]), host)
}

// compose returns the e-mail of n to the address to, with CRLF line ends.
// link, if set, is where the recipient reads the message.
func compose(n portal.Notification, from *mail.Address, to, msgIDHost, link string, date time.Time) []byte {
	fr, en := patientFR, patientEN
	if n.Recipient == portal.AuthorPractitioner {
		fr, en = teamFR, teamEN
	}
	if link != "" {
		link += "\n" // on a line of its own, without punctuation around it
	}
	text := fmt.Sprintf(fr, link) + "\n---\n\n" + fmt.Sprintf(en, link)

	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", date.Format(time.RFC1123Z))
	header("From", from.String())
	header("To", (&mail.Address{Address: to}).String())
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Message-ID", MessageID(n, msgIDHost))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// An automatic message: no vacation replies or read receipts back
	// (RFC 3834; Exchange reads the second).
	header("Auto-Submitted", "auto-generated")
	header("X-Auto-Response-Suppress", "All")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(text))
	qp.Close()
	return b.Bytes()
}

// Mask hides most of an address for logs: "jeanne@example.org" is
// "j***@example.org". Anything that is not an address is "***".
func Mask(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	_, size := firstRune(local)
	return local[:size] + "***@" + domain
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

// redact replaces the address to, in any case, by its mask in an error's
// text: a mail server's reply often quotes the recipient.
func redact(err error, to string) string {
	s := err.Error()
	if to == "" {
		return s
	}
	lower, low := strings.ToLower(s), strings.ToLower(to)
	if len(lower) != len(s) || len(low) != len(to) {
		return strings.ReplaceAll(s, to, Mask(to)) // lower case changed the lengths
	}
	var out strings.Builder
	for {
		i := strings.Index(lower, low)
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		out.WriteString(s[:i])
		out.WriteString(Mask(to))
		s, lower = s[i+len(to):], lower[i+len(to):]
	}
}
