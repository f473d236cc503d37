package portal

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of messaging.
const (
	// MaxThreadSubject bounds a thread's subject, in characters (runes).
	MaxThreadSubject = 200
	// MaxMessageBody bounds a message's body, in characters (runes).
	MaxMessageBody = 5000
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments = 5
	// MaxAttachmentName bounds an attachment's file name, in bytes.
	MaxAttachmentName = 255
	// DefaultMaxAttachmentSize is the default limit of one attachment's
	// size in bytes (10 MiB); backends and the host make it configurable.
	DefaultMaxAttachmentSize = 10 << 20
)

// Attachment content types: the only ones accepted, checked by content (see
// SniffAttachment).
const (
	ContentTypePDF  = "application/pdf"
	ContentTypeJPEG = "image/jpeg"
	ContentTypePNG  = "image/png"
)

// ThreadStatus is where a thread stands, from the care team's point of view.
type ThreadStatus string

// Thread statuses; see Messaging for the transitions.
const (
	// ThreadNew: the patient wrote, the care team has not answered yet.
	ThreadNew ThreadStatus = "new"
	// ThreadWaiting: the patient wrote again after an answer; waiting for
	// the care team.
	ThreadWaiting ThreadStatus = "waiting"
	// ThreadAnswered: the care team wrote last.
	ThreadAnswered ThreadStatus = "answered"
	// ThreadClosed: the care team closed the thread.
	ThreadClosed ThreadStatus = "closed"
)

// Valid reports whether s is one of the thread statuses.
func (s ThreadStatus) Valid() bool {
	switch s {
	case ThreadNew, ThreadWaiting, ThreadAnswered, ThreadClosed:
		return true
	}
	return false
}

// Thread is a conversation between a patient and the care team of one
// service, about one subject.
type Thread struct {
	ID            string `json:"id"`
	Establishment string `json:"establishment"`
	Service       string `json:"service"`
	// Subject is the patient's plain-text title, one line of at most
	// MaxThreadSubject characters.
	Subject string `json:"subject"`
	// Patient is the id of the patient who started the thread. Only that
	// patient and the service's care team ever see the thread.
	Patient string `json:"patient"`
	// PatientName is the patient's name as the directory knows it, for the
	// care team; empty when the directory does not list the patient.
	PatientName string       `json:"patient_name,omitempty"`
	Status      ThreadStatus `json:"status"`
	// AssignedTo is the id of the practitioner who took the thread, if any.
	AssignedTo string    `json:"assigned_to,omitempty"`
	Created    time.Time `json:"created"`
	// Updated is the last change either side can see: a message, a read
	// receipt, an assignment, a status.
	Updated     time.Time `json:"updated"`
	LastMessage time.Time `json:"last_message"`
	// Unread is the number of messages of the other side that the viewer's
	// side has not read: for a patient, the care team's messages they have
	// not read; for a practitioner, the patient's messages no member of
	// the care team has read.
	Unread int `json:"unread"`
}

// Conversation is a thread with its messages, oldest first.
type Conversation struct {
	Thread
	Messages []Message `json:"messages"`
}

// AuthorKind is the side of a conversation a person writes from.
type AuthorKind string

// Sides of a conversation.
const (
	AuthorPatient      AuthorKind = "patient"
	AuthorPractitioner AuthorKind = "practitioner"
)

// Author is who wrote a message, or read one.
type Author struct {
	Kind AuthorKind `json:"kind"`
	ID   string     `json:"id"`
	// Name is the person's name when they wrote, as the directory knew it;
	// it may be empty for a patient the directory does not list.
	Name string `json:"name"`
}

// RequireAuthor returns the side and id of the context's subject, Name
// empty: a patient or a practitioner. It is an ErrUnauthenticated error
// without a subject and an ErrForbidden error for a subject that claims both.
func RequireAuthor(ctx context.Context) (Author, error) {
	s, _ := ctx.Value(subjectKey{}).(Subject)
	switch {
	case s.Patient != "" && s.Practitioner != "":
		return Author{}, Errorf(ErrForbidden, "a subject is a patient or a practitioner, not both")
	case s.Patient != "":
		return Author{Kind: AuthorPatient, ID: s.Patient}, nil
	case s.Practitioner != "":
		return Author{Kind: AuthorPractitioner, ID: s.Practitioner}, nil
	}
	return Author{}, Errorf(ErrUnauthenticated, "no subject in context")
}

// Message is one message of a thread.
type Message struct {
	ID     string `json:"id"`
	Thread string `json:"thread"`
	// ClientID is the id the author's device gave the message; see
	// NewMessage.ClientID.
	ClientID    string           `json:"client_id"`
	Author      Author           `json:"author"`
	Body        string           `json:"body"`
	Attachments []AttachmentMeta `json:"attachments"`
	Created     time.Time        `json:"created"`
	// ReadBy lists who of the other side read the message, and when, first
	// read first: the patient for a care-team message, the practitioners
	// for a patient's message.
	ReadBy []ReadReceipt `json:"read_by"`
}

// ReadReceipt records that someone read a message.
type ReadReceipt struct {
	Reader Author    `json:"reader"`
	At     time.Time `json:"at"`
}

// AttachmentMeta describes a stored attachment; its bytes are read with
// Messaging.Attachment.
type AttachmentMeta struct {
	ID string `json:"id"`
	// Name is the file name as the author sent it.
	Name string `json:"name"`
	// ContentType is ContentTypePDF, ContentTypeJPEG or ContentTypePNG,
	// found from the content.
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// SHA256 is the lower-case hex SHA-256 digest of the content.
	SHA256 string `json:"sha256"`
}

// NewAttachment is a file attached to a message being sent.
type NewAttachment struct {
	Name string `json:"name"`
	// ContentType is the type SniffAttachment found in Content. A backend
	// checks it again and refuses the attachment (ErrAttachmentRejected)
	// unless it is what the content is.
	ContentType string `json:"content_type"`
	Content     []byte `json:"content"`
}

// NewThread starts a thread: its subject and first message.
type NewThread struct {
	Establishment string          `json:"establishment"`
	Service       string          `json:"service"`
	Subject       string          `json:"subject"`
	Body          string          `json:"body"`
	ClientID      string          `json:"client_id"`
	Attachments   []NewAttachment `json:"attachments,omitempty"`
}

// NewMessage is a message sent in an existing thread.
type NewMessage struct {
	// ClientID is generated by the author's device once per message and
	// sent again on every retry, 8 to 128 printable ASCII characters (the
	// shape of an idempotency key, see ValidateIdempotencyKey). The same
	// author's same ClientID stores one message: a retry gets the stored
	// message, and another message under that ClientID is refused with
	// ErrIdempotencyKeyReused.
	ClientID    string          `json:"client_id"`
	Body        string          `json:"body"`
	Attachments []NewAttachment `json:"attachments,omitempty"`
}

// Validate reports an error for a thread no backend should start;
// maxAttachment is the backend's limit of an attachment's size (0:
// DefaultMaxAttachmentSize).
func (t NewThread) Validate(maxAttachment int64) error {
	switch {
	case t.Establishment == "":
		return Errorf(ErrInvalid, "establishment is required")
	case t.Service == "":
		return Errorf(ErrInvalid, "service is required")
	}
	if err := ValidateThreadSubject(t.Subject); err != nil {
		return err
	}
	return NewMessage{ClientID: t.ClientID, Body: t.Body, Attachments: t.Attachments}.Validate(maxAttachment)
}

// Validate reports an error for a message no backend should store: a
// malformed ClientID, a body that ValidateMessageBody refuses, more than
// MaxAttachments attachments, or an attachment that ValidateAttachment
// refuses with maxAttachment (0: DefaultMaxAttachmentSize).
func (m NewMessage) Validate(maxAttachment int64) error {
	if err := ValidateIdempotencyKey(m.ClientID); err != nil {
		return err
	}
	if err := ValidateMessageBody(m.Body); err != nil {
		return err
	}
	if len(m.Attachments) > MaxAttachments {
		return Errorf(ErrInvalid, "a message may carry at most %d attachments", MaxAttachments)
	}
	for i, a := range m.Attachments {
		if err := ValidateAttachment(a, maxAttachment); err != nil {
			return fmt.Errorf("attachment %d: %w", i, err)
		}
	}
	return nil
}

// ValidateThreadSubject checks a thread's subject: one line of plain text, 1
// to MaxThreadSubject characters, in UTF-8, without control characters, not
// only spaces. An empty or malformed subject is an ErrInvalid error, a longer
// one ErrTooLarge.
func ValidateThreadSubject(s string) error {
	return checkText("the subject", s, MaxThreadSubject, false)
}

// ValidateMessageBody checks a message's body: plain text, 1 to
// MaxMessageBody characters, in UTF-8, not only spaces, without control
// characters other than tab, line feed and carriage return (no NUL). An empty
// or malformed body is an ErrInvalid error, a longer one ErrTooLarge.
func ValidateMessageBody(body string) error {
	return checkText("the body", body, MaxMessageBody, true)
}

// checkText checks plain text of at most max runes; multiline allows tab,
// line feed and carriage return. The detail never quotes the text.
func checkText(what, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Errorf(ErrInvalid, "%s is not valid UTF-8", what)
	}
	if strings.TrimSpace(s) == "" {
		return Errorf(ErrInvalid, "%s is empty", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(ErrTooLarge, "%s has %d characters, more than %d", what, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			return Errorf(ErrInvalid, "%s holds the control character %U", what, r)
		}
	}
	return nil
}

// ValidateAttachment checks an attachment before it is stored: content of 1
// to max bytes (0: DefaultMaxAttachmentSize; ErrAttachmentTooLarge beyond),
// that SniffAttachment accepts with its name and finds to be a.ContentType
// (ErrAttachmentRejected otherwise).
func ValidateAttachment(a NewAttachment, max int64) error {
	if max <= 0 {
		max = DefaultMaxAttachmentSize
	}
	if int64(len(a.Content)) > max {
		return Errorf(ErrAttachmentTooLarge, "%d bytes, more than %d", len(a.Content), max)
	}
	ct, err := SniffAttachment(a.Name, a.Content)
	if err != nil {
		return err
	}
	if ct != a.ContentType {
		return Errorf(ErrAttachmentRejected, "declared as %q, the content is %s", a.ContentType, ct)
	}
	return nil
}

// Magic numbers at offset 0.
var (
	magicPDF  = []byte("%PDF-")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// SniffAttachment returns the content type of an attachment from its first
// bytes, ContentTypePDF, ContentTypeJPEG or ContentTypePNG, and refuses
// anything else with an ErrAttachmentRejected error.
//
// The signature must stand at offset 0: "%PDF-" and a version such as "1.7"
// (ISO 32000), FF D8 FF and a marker (JPEG, ITU T.81), or the PNG signature
// followed by its IHDR chunk (RFC 2083). So HTML ("<"), a Windows executable
// ("MZ"), an ELF binary, a script, or any of them with a PDF header further
// down, are refused whatever the file is called.
//
// name must be a plain file name: 1 to MaxAttachmentName bytes of UTF-8,
// without a directory ('/' or '\'), control or bidirectional-control
// characters (which can disguise "x<U+202E>fdp.exe" as "xexe.pdf"), not
// starting with '.'; its extension must fit the content: ".pdf" for a PDF,
// ".jpg", ".jpeg" or ".png" for an image (in any case). Otherwise it is an
// ErrAttachmentRejected error too.
func SniffAttachment(name string, b []byte) (string, error) {
	if err := checkAttachmentName(name); err != nil {
		return "", err
	}
	var ct string
	switch {
	case bytes.HasPrefix(b, magicPDF) && len(b) >= 8 && isDigit(b[5]) && b[6] == '.' && isDigit(b[7]):
		ct = ContentTypePDF
	case bytes.HasPrefix(b, magicJPEG) && len(b) >= 4 && b[3] >= 0xC0 && b[3] != 0xFF:
		ct = ContentTypeJPEG
	case bytes.HasPrefix(b, magicPNG) && len(b) >= 16 && string(b[12:16]) == "IHDR":
		ct = ContentTypePNG
	default:
		return "", Errorf(ErrAttachmentRejected, "the content is not a PDF, JPEG or PNG file")
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 || !extensionFits(ct, strings.ToLower(name[dot+1:])) {
		return "", Errorf(ErrAttachmentRejected, "the name's extension does not fit %s content", ct)
	}
	return ct, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// extensionFits reports whether a file name extension (lower case, without
// its dot) fits content of type ct.
func extensionFits(ct, ext string) bool {
	if ct == ContentTypePDF {
		return ext == "pdf"
	}
	// A JPEG named .png, or the reverse, opens as an image all the same.
	return ext == "jpg" || ext == "jpeg" || ext == "png"
}

// checkAttachmentName refuses a name that is not a plain, visible file name.
func checkAttachmentName(name string) error {
	switch {
	case name == "":
		return Errorf(ErrAttachmentRejected, "the attachment has no name")
	case len(name) > MaxAttachmentName:
		return Errorf(ErrAttachmentRejected, "the attachment's name exceeds %d bytes", MaxAttachmentName)
	case !utf8.ValidString(name):
		return Errorf(ErrAttachmentRejected, "the attachment's name is not valid UTF-8")
	case name[0] == '.':
		return Errorf(ErrAttachmentRejected, "the attachment's name starts with '.'")
	}
	for _, r := range name {
		if r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return Errorf(ErrAttachmentRejected, "the attachment's name holds %U", r)
		}
	}
	return nil
}

// InboxFilter selects threads of a care team's inbox.
type InboxFilter struct {
	// Status keeps the threads of that status; "" keeps them all.
	Status ThreadStatus
	// Service keeps the threads of that service; "" keeps those of every
	// service the practitioner belongs to.
	Service string
}

// Validate reports an ErrInvalid error for an unknown status.
func (f InboxFilter) Validate() error {
	if f.Status != "" && !f.Status.Valid() {
		return Errorf(ErrInvalid, "unknown thread status %q", f.Status)
	}
	return nil
}

// Messaging is secure messaging between patients and the care teams of the
// services that follow them.
//
// The context's subject decides the side. A patient sees only their own
// threads; a practitioner only the threads of the services they belong to
// (FHIR HealthcareService; service_practitioners in the SQLite backend).
// Any other thread, message or attachment is reported exactly as an unknown
// one (ErrNotFound). The care-team methods (Inbox, Assign, Close) refuse a
// patient (ErrForbidden), and the patient-only ones (Threads, StartThread)
// a practitioner.
//
// Who may write to whom. A patient writes to a service of an establishment,
// never to a named person; every practitioner of the service reads and
// answers the thread, and one of them may take it (Assign). A patient may
// start a thread only in a service they have a link with, otherwise
// ErrServiceNotLinked. A link is any of:
//   - an appointment in that service that is not cancelled (booked, whether
//     it is still to come or already past);
//   - a thread of theirs in that service, in any status (closed included);
//   - a questionnaire submission of theirs whose service is that service.
//
// A thread once started is its own link: replying in it needs nothing else.
//
// Status. A thread is ThreadNew until the care team first answers,
// ThreadAnswered after a care-team message, ThreadWaiting after a patient
// message that follows an answer, and ThreadClosed once the care team
// closes it. A patient message on a closed thread reopens it
// (ThreadWaiting); a care-team message on a closed thread reopens it too
// (ThreadAnswered). Assigning changes no status.
//
// Delivery guarantees. Every message carries a ClientID generated by the
// writer's device once per message and sent again on every retry: an
// implementation stores each message once per (author, ClientID) whatever
// the retries and their concurrency, returns the stored message to a retry,
// and refuses the same ClientID for another message with
// ErrIdempotencyKeyReused. Each stored message enqueues, in the same
// transaction, one notification for the other side (see Notifications),
// which carries no content. A refused call stores nothing.
//
// Mapping to FHIR R4 (host/backend/fhir; docs/fhir.md, "Messaging"): a
// thread is the Communication of its first message
// (https://hl7.org/fhir/R4/communication.html), with its status,
// assignment, ordered list of replies and read marks in extensions changed
// only by versioned updates (If-Match); a reply is a Communication partOf
// the thread, made by a conditional create on the author's ClientID and
// part of the thread once listed; attachments are Binaries; notifications
// are Tasks (https://hl7.org/fhir/R4/task.html) claimed and acknowledged by
// versioned updates.
type Messaging interface {
	// Threads lists the context patient's threads in an establishment,
	// latest message first.
	Threads(ctx context.Context, establishment string) ([]Thread, error)
	// Thread returns a thread with its messages, oldest first.
	Thread(ctx context.Context, id string) (Conversation, error)
	// StartThread starts a thread for the context's patient, in a service
	// they have a link with (ErrServiceNotLinked otherwise), and returns it
	// with its first message. It is idempotent on t.ClientID like Send.
	StartThread(ctx context.Context, t NewThread) (Conversation, error)
	// Send stores a message of the context's subject in a thread and
	// returns it; see NewMessage.ClientID for retries.
	Send(ctx context.Context, threadID string, m NewMessage) (Message, error)
	// MarkRead records that the context's subject read every message of
	// the other side in the thread, now. Reading again changes nothing.
	MarkRead(ctx context.Context, threadID string) error
	// Attachment returns an attachment of a message of a thread the
	// subject may read, with its bytes.
	Attachment(ctx context.Context, messageID, attachmentID string) (AttachmentMeta, []byte, error)

	// Inbox lists the threads of an establishment in the services the
	// context's practitioner belongs to, selected by f, latest message
	// first.
	Inbox(ctx context.Context, establishment string, f InboxFilter) ([]Thread, error)
	// Assign gives the thread to the context's practitioner, whoever had
	// it.
	Assign(ctx context.Context, threadID string) (Thread, error)
	// Close closes the thread. Closing a closed thread returns it
	// unchanged.
	Close(ctx context.Context, threadID string) (Thread, error)
}

// Notification is the record that one side of a thread has a new message
// waiting. It holds references only, never content: the e-mail sent from it
// says that a message is waiting, nothing more.
type Notification struct {
	ID            int64  `json:"id"`
	Establishment string `json:"establishment"`
	Service       string `json:"service"`
	Thread        string `json:"thread"`
	// Message is the message that raised the notification; a message
	// raises exactly one.
	Message string `json:"message"`
	// Recipient is the side to notify: AuthorPatient (the thread's
	// Patient), or AuthorPractitioner (the care team of Service).
	Recipient AuthorKind `json:"recipient"`
	Patient   string     `json:"patient"`
	Created   time.Time  `json:"created"`
	// Attempts counts the claims of the notification, this one included.
	Attempts int `json:"attempts"`
}

// Notifications is the durable outbox of messaging notifications, which a
// sender (SMTP) drains: it claims a batch, delivers each notification, and
// acknowledges each one delivered.
//
// A claim is a lease: a claimed notification is claimed by no one else
// until the lease ends, and comes back to the next claim once it ended if it
// was not acknowledged (the sender crashed, or failed to deliver). So no
// notification is ever lost, and one is delivered twice only if a sender
// stops between delivering it and acknowledging it; a sender makes that
// harmless by naming each e-mail after its notification (a Message-ID built
// from Notification.Message).
type Notifications interface {
	// ClaimNotifications claims at most limit (1 to 1000) notifications
	// not acknowledged and not under a running lease, oldest first, for
	// lease (positive).
	ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]Notification, error)
	// AckNotification records a notification delivered: it is never
	// claimed again. Acknowledging it again is not an error; an unknown id
	// is ErrNotFound.
	AckNotification(ctx context.Context, id int64) error
}

// Contacts finds where to send a notification: the e-mail address of the
// thread's patient for AuthorPatient, the team address of the thread's
// service for AuthorPractitioner. A sender keeps addresses out of its logs.
type Contacts interface {
	// Recipient returns the address for n; ok is false when there is none
	// (the notification cannot be delivered, and a sender drops it).
	Recipient(ctx context.Context, n Notification) (email string, ok bool, err error)
}

// MaxNotificationClaim bounds the limit of one ClaimNotifications.
const MaxNotificationClaim = 1000

// ValidateClaim reports an ErrInvalid error for a claim no outbox should
// serve.
func ValidateClaim(limit int, lease time.Duration) error {
	switch {
	case limit < 1 || limit > MaxNotificationClaim:
		return Errorf(ErrInvalid, "the limit must be 1 to %d", MaxNotificationClaim)
	case lease < time.Second:
		return Errorf(ErrInvalid, "the lease must be at least a second")
	}
	return nil
}

// CareTeamDirectory finds practitioners known to a backend. The host uses it
// for the demo sign-in of the care-team inbox; the identity work replaces
// that with OpenID Connect.
type CareTeamDirectory interface {
	// Practitioner returns a practitioner by id.
	Practitioner(ctx context.Context, id string) (Practitioner, error)
	// DemoPractitioners lists fictional practitioners one may sign in as in
	// a demo. Backends without demo data return an empty list.
	DemoPractitioners(ctx context.Context) ([]Practitioner, error)
}
