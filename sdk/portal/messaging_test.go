package portal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var (
	pdf  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
	jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}
	png  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
)

func TestSniffAttachment(t *testing.T) {
	tests := []struct {
		name, file string
		content    []byte
		want       string // "" for refused
	}{
		{"PDF", "compte-rendu.pdf", pdf, portal.ContentTypePDF},
		{"PDF2", "rapport.PDF", []byte("%PDF-2.0\n"), portal.ContentTypePDF},
		{"JPEG", "photo.jpg", jpeg, portal.ContentTypeJPEG},
		{"JPEGExif", "IMG_0001.JPEG", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0}, portal.ContentTypeJPEG},
		{"JPEGNamedPNG", "photo.png", jpeg, portal.ContentTypeJPEG},
		{"PNG", "capture d'écran.png", png, portal.ContentTypePNG},
		{"PNGNamedJPG", "capture.jpg", png, portal.ContentTypePNG},
		{"AccentsAndSpaces", "Résultats  d'analyse (2).pdf", pdf, portal.ContentTypePDF},

		{"Empty", "vide.pdf", nil, ""},
		{"PDFTruncatedHeader", "a.pdf", []byte("%PDF-1"), ""},
		{"PDFNoVersion", "a.pdf", []byte("%PDF-x.y\n"), ""},
		{"PDFAfterBOM", "a.pdf", append([]byte("\xef\xbb\xbf"), pdf...), ""},
		{"PDFAfterWhitespace", "a.pdf", append([]byte(" \n"), pdf...), ""},
		{"HTML", "a.pdf", []byte("<html><body>%PDF-1.7</body></html>"), ""},
		{"HTMLComment", "a.pdf", []byte("<!--%PDF-1.7-->"), ""},
		{"SVG", "a.png", []byte("<svg onload=alert(1)>"), ""},
		{"WindowsExecutable", "a.pdf", append([]byte("MZ\x90\x00"), pdf...), ""},
		{"ELF", "a.pdf", append([]byte("\x7fELF"), pdf...), ""},
		{"Script", "a.pdf", []byte("#!/bin/sh\n%PDF-1.7\n"), ""},
		{"ZIP", "a.pdf", []byte("PK\x03\x04%PDF-1.7"), ""},
		{"GIF", "a.png", []byte("GIF89a"), ""},
		{"JPEGBadMarker", "a.jpg", []byte{0xFF, 0xD8, 0xFF, 0x00}, ""},
		{"JPEGShort", "a.jpg", []byte{0xFF, 0xD8, 0xFF}, ""},
		{"PNGSignatureOnly", "a.png", png[:8], ""},
		{"PNGWithoutIHDR", "a.png", append(png[:12:12], "IDAT"...), ""},

		{"PDFNamedExe", "a.exe", pdf, ""},
		{"PDFNamedHTML", "a.pdf.html", pdf, ""},
		{"PDFNamedJPG", "a.jpg", pdf, ""},
		{"ImageNamedPDF", "a.pdf", jpeg, ""},
		{"NoExtension", "compte-rendu", pdf, ""},
		{"NoName", "", pdf, ""},
		{"DotFile", ".pdf", pdf, ""},
		{"Parent", "../a.pdf", pdf, ""},
		{"Directory", "dossier/a.pdf", pdf, ""},
		{"WindowsDirectory", `C:\dossier\a.pdf`, pdf, ""},
		{"NUL", "a\x00.pdf", pdf, ""},
		{"NewLine", "a\n.pdf", pdf, ""},
		{"RightToLeftOverride", "facture\u202efdp.exe", pdf, ""},
		{"RightToLeftIsolate", "facture\u2067.pdf", pdf, ""},
		{"InvalidUTF8", "\xff.pdf", pdf, ""},
		{"LongName", strings.Repeat("a", portal.MaxAttachmentName-3) + ".pdf", pdf, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portal.SniffAttachment(tc.file, tc.content)
			switch {
			case tc.want != "" && (err != nil || got != tc.want):
				t.Errorf("SniffAttachment(%q) = %q, %v; want %q", tc.file, got, err, tc.want)
			case tc.want == "" && (portal.Code(err) != portal.ErrAttachmentRejected || got != ""):
				t.Errorf("SniffAttachment(%q) = %q, %v; want it refused with %s", tc.file, got, err, portal.ErrAttachmentRejected)
			}
		})
	}
	name := strings.Repeat("a", portal.MaxAttachmentName-4) + ".pdf"
	if _, err := portal.SniffAttachment(name, pdf); err != nil {
		t.Errorf("a name of exactly %d bytes: %v", portal.MaxAttachmentName, err)
	}
}

// FuzzSniffAttachment checks that whatever the name and bytes,
// SniffAttachment accepts only what starts with a signature it knows, under
// a plain name with a fitting extension, and refuses the rest with
// ErrAttachmentRejected. Seeds are in testdata/fuzz/FuzzSniffAttachment.
func FuzzSniffAttachment(f *testing.F) {
	f.Add("a.pdf", pdf)
	f.Add("a.jpg", jpeg)
	f.Add("a.png", png)
	f.Add("a.pdf", []byte("<html>%PDF-1.7"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		ct, err := portal.SniffAttachment(name, b)
		if err != nil {
			if portal.Code(err) != portal.ErrAttachmentRejected || ct != "" {
				t.Fatalf("refused with %q, %v; want %s and no type", ct, err, portal.ErrAttachmentRejected)
			}
			return
		}
		var magic string
		switch ct {
		case portal.ContentTypePDF:
			magic = "%PDF-"
		case portal.ContentTypeJPEG:
			magic = "\xff\xd8\xff"
		case portal.ContentTypePNG:
			magic = "\x89PNG\r\n\x1a\n"
		default:
			t.Fatalf("accepted as %q", ct)
		}
		lower := strings.ToLower(name)
		switch {
		case !bytes.HasPrefix(b, []byte(magic)):
			t.Fatalf("accepted as %s without its signature at offset 0: %q", ct, b[:min(len(b), 16)])
		case b[0] == '<' || bytes.HasPrefix(b, []byte("MZ")) || bytes.HasPrefix(b, []byte("\x7fELF")):
			t.Fatalf("accepted markup or an executable as %s", ct)
		case !utf8.ValidString(name) || len(name) > portal.MaxAttachmentName || strings.ContainsAny(name, "/\\\x00\n\r") || name[0] == '.':
			t.Fatalf("accepted the name %q", name)
		case ct == portal.ContentTypePDF && !strings.HasSuffix(lower, ".pdf"):
			t.Fatalf("accepted a PDF named %q", name)
		case ct != portal.ContentTypePDF && !strings.HasSuffix(lower, ".jpg") && !strings.HasSuffix(lower, ".jpeg") && !strings.HasSuffix(lower, ".png"):
			t.Fatalf("accepted an image named %q", name)
		}
		if again, err := portal.SniffAttachment(name, b); again != ct || err != nil {
			t.Fatalf("second call = %q, %v; want %q", again, err, ct)
		}
	})
}

func ExampleSniffAttachment() {
	for _, f := range []struct {
		name    string
		content []byte
	}{
		{"ordonnance.pdf", []byte("%PDF-1.7\n…")},
		{"ordonnance.pdf", []byte("<html><script>…</script></html>")},
		{"photo.jpg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10}},
		{"ordonnance.exe", []byte("%PDF-1.7\n…")},
	} {
		ct, err := portal.SniffAttachment(f.name, f.content)
		if err != nil {
			fmt.Printf("%s: refused, %s\n", f.name, portal.Code(err))
			continue
		}
		fmt.Printf("%s: %s\n", f.name, ct)
	}
	// Output:
	// ordonnance.pdf: application/pdf
	// ordonnance.pdf: refused, attachment_rejected
	// photo.jpg: image/jpeg
	// ordonnance.exe: refused, attachment_rejected
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		name             string
		text             string
		subject, message portal.ErrorCode // "" for accepted
	}{
		{"Plain", "Question sur mon traitement", "", ""},
		{"Accents", "Échographie — « résultats » 😀", "", ""},
		{"Empty", "", portal.ErrInvalid, portal.ErrInvalid},
		{"Spaces", " \t ", portal.ErrInvalid, portal.ErrInvalid},
		{"NewLines", "Bonjour,\r\nmerci.\n", portal.ErrInvalid, ""},
		{"Tab", "a\tb", portal.ErrInvalid, ""},
		{"NUL", "a\x00b", portal.ErrInvalid, portal.ErrInvalid},
		{"Escape", "a\x1b[31mb", portal.ErrInvalid, portal.ErrInvalid},
		{"DEL", "a\x7fb", portal.ErrInvalid, portal.ErrInvalid},
		{"C1", "a\u0085b", portal.ErrInvalid, portal.ErrInvalid},
		{"InvalidUTF8", "a\xffb", portal.ErrInvalid, portal.ErrInvalid},
		{"SubjectLimit", strings.Repeat("é", portal.MaxThreadSubject), "", ""},
		{"SubjectLimitPlusOne", strings.Repeat("é", portal.MaxThreadSubject+1), portal.ErrTooLarge, ""},
		{"BodyLimit", strings.Repeat("€", portal.MaxMessageBody), portal.ErrTooLarge, ""},
		{"BodyLimitPlusOne", strings.Repeat("€", portal.MaxMessageBody+1), portal.ErrTooLarge, portal.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := portal.Code(portal.ValidateThreadSubject(tc.text)); got != tc.subject {
				t.Errorf("ValidateThreadSubject = %q, want %q", got, tc.subject)
			}
			if got := portal.Code(portal.ValidateMessageBody(tc.text)); got != tc.message {
				t.Errorf("ValidateMessageBody = %q, want %q", got, tc.message)
			}
		})
	}
}

func TestNewMessageValidate(t *testing.T) {
	att := func(name string, content []byte) portal.NewAttachment {
		ct, _ := portal.SniffAttachment(name, content)
		return portal.NewAttachment{Name: name, ContentType: ct, Content: content}
	}
	ok := portal.NewMessage{ClientID: "client-id-0001", Body: "Bonjour", Attachments: []portal.NewAttachment{att("a.pdf", pdf), att("b.png", png)}}
	if err := ok.Validate(0); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tests := []struct {
		name   string
		change func(*portal.NewMessage)
		max    int64
		code   portal.ErrorCode
	}{
		{"NoClientID", func(m *portal.NewMessage) { m.ClientID = "" }, 0, portal.ErrIdempotencyKeyMissing},
		{"ClientIDWithSpace", func(m *portal.NewMessage) { m.ClientID = "client id 0001" }, 0, portal.ErrInvalid},
		{"NoBody", func(m *portal.NewMessage) { m.Body = "" }, 0, portal.ErrInvalid},
		{"TooManyAttachments", func(m *portal.NewMessage) {
			for len(m.Attachments) <= portal.MaxAttachments {
				m.Attachments = append(m.Attachments, att("c.jpg", jpeg))
			}
		}, 0, portal.ErrInvalid},
		{"AttachmentOverTheLimit", func(m *portal.NewMessage) {}, int64(len(pdf)) - 1, portal.ErrAttachmentTooLarge},
		{"AttachmentTypeMismatch", func(m *portal.NewMessage) { m.Attachments[1].ContentType = portal.ContentTypeJPEG }, 0, portal.ErrAttachmentRejected},
		{"AttachmentDisguised", func(m *portal.NewMessage) { m.Attachments[1].Content = []byte("<html>") }, 0, portal.ErrAttachmentRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			m.Attachments = append([]portal.NewAttachment(nil), ok.Attachments...)
			tc.change(&m)
			if got := portal.Code(m.Validate(tc.max)); got != tc.code {
				t.Errorf("Validate = %q, want %q", got, tc.code)
			}
			nt := portal.NewThread{Establishment: "chu", Service: "maternite", Subject: "Question",
				Body: m.Body, ClientID: m.ClientID, Attachments: m.Attachments}
			if got := portal.Code(nt.Validate(tc.max)); got != tc.code {
				t.Errorf("NewThread.Validate = %q, want %q", got, tc.code)
			}
		})
	}
	if err := ok.Validate(int64(len(pdf))); err != nil {
		t.Errorf("an attachment of exactly the limit: %v", err)
	}
	err := portal.NewMessage{ClientID: "client-id-0001", Body: "x", Attachments: []portal.NewAttachment{att("a.pdf", pdf), {Name: "b.pdf"}}}.Validate(0)
	if !strings.Contains(err.Error(), "attachment 1") {
		t.Errorf("Validate = %v, want it to name attachment 1", err)
	}
	for _, nt := range []portal.NewThread{
		{Service: "maternite", Subject: "Question", Body: "x", ClientID: "client-id-0001"},
		{Establishment: "chu", Subject: "Question", Body: "x", ClientID: "client-id-0001"},
	} {
		if portal.Code(nt.Validate(0)) != portal.ErrInvalid {
			t.Errorf("NewThread without establishment or service %+v: want %s", nt, portal.ErrInvalid)
		}
	}
}

func TestSubjects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name              string
		ctx               context.Context
		patientOK         bool
		practitioner      string
		practitionerCode  portal.ErrorCode
		author            portal.Author
		authorCode        portal.ErrorCode
		requirePatientErr bool
	}{
		{"None", ctx, false, "", portal.ErrUnauthenticated, portal.Author{}, portal.ErrUnauthenticated, true},
		{"Patient", portal.WithSubject(ctx, portal.Subject{Patient: "pat-1"}), true, "", portal.ErrForbidden,
			portal.Author{Kind: portal.AuthorPatient, ID: "pat-1"}, "", false},
		{"Practitioner", portal.WithSubject(ctx, portal.Subject{Practitioner: "pr-1"}), false, "pr-1", "",
			portal.Author{Kind: portal.AuthorPractitioner, ID: "pr-1"}, "", true},
		{"Both", portal.WithSubject(ctx, portal.Subject{Patient: "pat-1", Practitioner: "pr-1"}), true, "", portal.ErrForbidden,
			portal.Author{}, portal.ErrForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := portal.SubjectFrom(tc.ctx); ok != tc.patientOK {
				t.Errorf("SubjectFrom ok = %v, want %v", ok, tc.patientOK)
			}
			if _, err := portal.RequirePatient(tc.ctx); (err != nil) != tc.requirePatientErr {
				t.Errorf("RequirePatient: %v", err)
			}
			id, err := portal.RequirePractitioner(tc.ctx)
			if id != tc.practitioner || portal.Code(err) != tc.practitionerCode {
				t.Errorf("RequirePractitioner = %q, %v; want %q, %q", id, err, tc.practitioner, tc.practitionerCode)
			}
			if got, ok := portal.PractitionerFrom(tc.ctx); got != tc.practitioner || ok != (tc.practitioner != "") {
				t.Errorf("PractitionerFrom = %q, %v", got, ok)
			}
			a, err := portal.RequireAuthor(tc.ctx)
			if a != tc.author || portal.Code(err) != tc.authorCode {
				t.Errorf("RequireAuthor = %+v, %v; want %+v, %q", a, err, tc.author, tc.authorCode)
			}
		})
	}
}

func TestMessagingFilters(t *testing.T) {
	for _, s := range []portal.ThreadStatus{portal.ThreadNew, portal.ThreadWaiting, portal.ThreadAnswered, portal.ThreadClosed} {
		if !s.Valid() || (portal.InboxFilter{Status: s}).Validate() != nil {
			t.Errorf("status %q refused", s)
		}
	}
	if (portal.InboxFilter{}).Validate() != nil {
		t.Error("an empty filter is refused")
	}
	for _, s := range []portal.ThreadStatus{"archived", "NEW", " new"} {
		if s.Valid() || portal.Code((portal.InboxFilter{Status: s}).Validate()) != portal.ErrInvalid {
			t.Errorf("status %q accepted", s)
		}
	}
	for _, tc := range []struct {
		limit int
		lease time.Duration
		ok    bool
	}{
		{1, time.Second, true}, {portal.MaxNotificationClaim, time.Hour, true},
		{0, time.Minute, false}, {portal.MaxNotificationClaim + 1, time.Minute, false}, {1, time.Second - 1, false},
	} {
		if err := portal.ValidateClaim(tc.limit, tc.lease); (err == nil) != tc.ok {
			t.Errorf("ValidateClaim(%d, %s) = %v, want ok %v", tc.limit, tc.lease, err, tc.ok)
		}
	}
}

func TestMessagingErrorCodes(t *testing.T) {
	for code, status := range map[portal.ErrorCode]int{
		portal.ErrServiceNotLinked:   403,
		portal.ErrAttachmentTooLarge: 413,
		portal.ErrAttachmentRejected: 415,
	} {
		if code.Status() != status {
			t.Errorf("%s: status %d, want %d", code, code.Status(), status)
		}
		fr, en := code.Message("fr"), code.Message("en")
		if fr == en || fr == portal.ErrInternal.Message("fr") || en == portal.ErrInternal.Message("en") {
			t.Errorf("%s: messages %q / %q, want its own in French and English", code, fr, en)
		}
	}
	err := fmt.Errorf("send: %w", portal.Errorf(portal.ErrAttachmentRejected, "x"))
	var pe *portal.Error
	if !errors.As(err, &pe) || portal.PatientMessage(err, "en") != portal.ErrAttachmentRejected.Message("en") {
		t.Errorf("a wrapped attachment error loses its message: %v", err)
	}
}
