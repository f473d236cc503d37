package host_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// testPNG is the start of a PNG file: its signature and IHDR chunk.
var testPNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0}

// documentLimit is the file limit of the documents tests: small, so that
// the suite stays quick.
const documentLimit = 64 << 10

// newDocumentsHost is a messaging host (the test patients linked to the
// maternity, practitioner sessions) with documents on the same store, with
// delay as the demo establishment's release delay. configure, if any,
// changes the configuration further.
func newDocumentsHost(t testing.TB, delay time.Duration, configure func(*hostConfig)) *testHost {
	t.Helper()
	return newMessagingHost(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		cfg.Documents = store.Documents(sqlite.WithMaxDocumentSize(documentLimit), sqlite.WithReleaseDelay(sqlite.DemoEstablishment, delay))
		if configure != nil {
			configure(cfg)
		}
	})
}

// filing returns the documents of th's store, to file documents behind the
// host.
func (th *testHost) filing() *sqlite.Documents {
	return th.Store.Documents(sqlite.WithMaxDocumentSize(documentLimit))
}

// TestDocumentsClientConformance runs the documents conformance suite
// through the HTTP client, a real host and the SQLite backend: what the
// widget sees. Documents are filed in the store behind the host, as an
// establishment's systems would.
func TestDocumentsClientConformance(t *testing.T) {
	for _, delay := range []time.Duration{0, 72 * time.Hour} {
		t.Run("delay "+delay.String(), func(t *testing.T) {
			portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
				th := newDocumentsHost(t, delay, nil)
				return portaltest.DocumentsFixture{
					AsPatient:       func(t *testing.T, p string) portal.Documents { return th.signedIn(t, p) },
					AsPractitioner:  func(t *testing.T, p string) portal.Documents { return th.practitioner(t, p) },
					Anonymous:       client.New(th.URL),
					Filing:          th.Store.Documents(sqlite.WithMaxDocumentSize(documentLimit), sqlite.WithReleaseDelay(sqlite.DemoEstablishment, delay)),
					Establishment:   sqlite.DemoEstablishment,
					Service:         sqlite.ServiceMaternite,
					OtherService:    sqlite.ServiceDiabetologie,
					Patients:        messagingPatients,
					Practitioners:   []string{sqlite.DemoPractitionerClaireMartin, secondMidwife},
					Outsider:        diabetologist,
					MaxDocumentSize: documentLimit,
					ReleaseDelay:    delay,
					SetNow:          th.Clock.Set,
					Now:             th.Clock.Now,
				}
			})
		})
	}
}

// replyHeaders returns the headers of a reply that could tell two answers
// apart: all of them but Date.
func replyHeaders(r reply) http.Header {
	h := r.header.Clone()
	h.Del("Date")
	return h
}

// sameReply fails t unless two replies are identical: status, headers
// (Date aside) and body, byte for byte.
func sameReply(t *testing.T, what string, got, want reply) {
	t.Helper()
	gh, wh := replyHeaders(got), replyHeaders(want)
	if got.status != want.status || !bytes.Equal(got.body, want.body) || !maps.EqualFunc(gh, wh, slices.Equal[[]string]) {
		t.Errorf("%s:\n%d %v %s\nwhile an unknown id answers\n%d %v %s", what, got.status, gh, got.body, want.status, wh, want.body)
	}
}

// TestDocumentHeldByteForByte: for the patient, every route answers a held
// document, its image and its results exactly as random ids (status,
// headers, body, byte for byte); after the release it answers them.
func TestDocumentHeldByteForByte(t *testing.T) {
	th := newDocumentsHost(t, 0, nil)
	ctx := context.Background()
	patient := messagingPatients[0]
	d := th.filing()
	img := portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: patient,
		Type: portal.DocImagingReport, Title: "Échographie morphologique", Date: seedTime.Add(-48 * time.Hour),
		Author: "Dr Antoine Girard", SourceID: "byte-for-byte-1", Sensitive: true,
		File:   portal.NewFile{Name: "echo.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
		Images: []portal.NewFile{{Name: "echo.png", ContentType: portal.ContentTypePNG, Content: testPNG}},
	}
	held, err := d.FileDocument(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	lab := portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: patient,
		Type: portal.DocLabReport, Title: "Caryotype fœtal", Date: seedTime.Add(-24 * time.Hour),
		Author: "Laboratoire de cytogénétique", SourceID: "byte-for-byte-2", Sensitive: true,
		File: portal.NewFile{Name: "caryotype.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
		Observations: []portal.NewObservation{{Code: "33773-3", Display: portal.Text{FR: "Fraction fœtale"},
			Value: 12, Unit: "%", Effective: seedTime.Add(-24 * time.Hour)}},
	}
	heldLab, err := d.FileDocument(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	unknownDoc, unknownImg := "doc_"+strings.ToLower(rand.Text()), "dfl_"+strings.ToLower(rand.Text())
	docs := "/api/v1/establishments/" + sqlite.DemoEstablishment
	type request struct{ method, known, unknown, body string }
	requests := []request{
		{"GET", "/api/v1/documents/" + held.ID, "/api/v1/documents/" + unknownDoc, ""},
		{"GET", "/api/v1/documents/" + heldLab.ID, "/api/v1/documents/" + unknownDoc, ""},
		{"GET", "/api/v1/documents/" + held.ID + "/content", "/api/v1/documents/" + unknownDoc + "/content", ""},
		{"GET", "/api/v1/documents/" + held.ID + "/content?disposition=inline", "/api/v1/documents/" + unknownDoc + "/content?disposition=inline", ""},
		{"GET", "/api/v1/documents/" + held.ID + "/images/" + held.Images[0].ID, "/api/v1/documents/" + unknownDoc + "/images/" + unknownImg, ""},
		{"GET", "/api/v1/documents/" + held.ID + "/images/" + held.Images[0].ID + "?disposition=inline", "/api/v1/documents/" + unknownDoc + "/images/" + unknownImg + "?disposition=inline", ""},
		{"POST", "/api/v1/documents/" + held.ID + "/seen", "/api/v1/documents/" + unknownDoc + "/seen", `{}`},
		{"POST", "/api/v1/documents/" + held.ID + "/release", "/api/v1/documents/" + unknownDoc + "/release", `{}`},
		{"GET", docs + "/analytes/33773-3/trend", docs + "/analytes/99999-9/trend", ""},
		{"GET", docs + "/documents?q=caryotype", docs + "/documents?q=" + strings.ToLower(rand.Text()), ""},
		{"GET", docs + "/documents/count?q=echographie", docs + "/documents/count?q=" + strings.ToLower(rand.Text()), ""},
		{"GET", docs + "/documents?type=imaging_report", docs + "/documents?type=operative_report", ""},
		{"GET", docs + "/documents/count?type=lab_report", docs + "/documents/count?type=discharge_letter", ""},
	}
	pat := patientSession(t, th, patient)
	for _, p := range requests {
		for _, lang := range []string{"", "lang=en"} {
			known, unknown := p.known, p.unknown
			if lang != "" {
				sep := "?"
				if strings.Contains(known, "?") {
					sep = "&"
				}
				known, unknown = known+sep+lang, unknown+sep+lang
			}
			ct := ""
			if p.body != "" {
				ct = "application/json"
			}
			sameReply(t, p.method+" "+known, pat.do(p.method, known, ct, p.body), pat.do(p.method, unknown, ct, p.body))
		}
	}
	// The lists and analytes hold nothing of it either.
	for _, path := range []string{docs + "/documents", docs + "/analytes", docs + "/documents/count"} {
		r := pat.mustStatus(pat.do("GET", path, "", ""), 200)
		if bytes.Contains(r.body, []byte(held.ID)) || bytes.Contains(r.body, []byte(heldLab.ID)) || bytes.Contains(r.body, []byte("33773-3")) ||
			!bytes.Contains(r.body, []byte(`"total":0`)) && !bytes.Contains(r.body, []byte(`[]`)) {
			t.Errorf("GET %s: %s", path, r.body)
		}
	}

	// Released by a midwife, it is there.
	pra := practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin)
	var heldList client.DocumentList
	json.Unmarshal(pra.mustStatus(pra.do("GET", docs+"/documents?held=true&service=maternite", "", ""), 200).body, &heldList)
	if len(heldList.Documents) != 2 {
		t.Fatalf("the maternity's held documents: %+v", heldList.Documents)
	}
	for _, id := range []string{held.ID, heldLab.ID} {
		var rel portal.Document
		json.Unmarshal(pra.mustStatus(pra.do("POST", "/api/v1/documents/"+id+"/release", "application/json", `{}`), 200).body, &rel)
		if rel.Release != portal.ReleaseReleased || rel.ReleasedBy == nil || rel.ReleasedBy.ID != sqlite.DemoPractitionerClaireMartin {
			t.Errorf("release: %+v", rel)
		}
	}
	if r := pat.mustStatus(pat.do("GET", "/api/v1/documents/"+held.ID+"/content", "", ""), 200); !bytes.Equal(r.body, testPDF) {
		t.Errorf("the released content: %q", r.body)
	}
	if r := pat.mustStatus(pat.do("GET", "/api/v1/documents/"+held.ID+"/images/"+held.Images[0].ID, "", ""), 200); !bytes.Equal(r.body, testPNG) {
		t.Errorf("the released image: %q", r.body)
	}
	pat.mustStatus(pat.do("GET", docs+"/analytes/33773-3/trend", "", ""), 200)
	pat.mustStatus(pat.do("POST", "/api/v1/documents/"+held.ID+"/seen", "application/json", ""), 204)
	var c portal.DocumentCount
	json.Unmarshal(pat.mustStatus(pat.do("GET", docs+"/documents/count", "", ""), 200).body, &c)
	if c != (portal.DocumentCount{Total: 2, New: 1}) {
		t.Errorf("count after the release: %+v", c)
	}
}

// TestDocumentDownloadHeaders: a download carries the type found from the
// bytes, Content-Disposition with a safe name, nosniff, no-store and the
// CSP of its disposition and type.
func TestDocumentDownloadHeaders(t *testing.T) {
	th := newDocumentsHost(t, 0, nil)
	patient := messagingPatients[0]
	name := "Compte rendu «été» \"n°1\".pdf"
	doc, err := th.filing().FileDocument(context.Background(), portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: patient,
		Type: portal.DocImagingReport, Title: "Échographie", Date: seedTime.Add(-time.Hour), Author: "Dr Girard",
		SourceID: "download-headers-1",
		File:     portal.NewFile{Name: name, ContentType: portal.ContentTypePDF, Content: testPDF},
		Images:   []portal.NewFile{{Name: "coupe.png", ContentType: portal.ContentTypePNG, Content: testPNG}},
	})
	if err != nil {
		t.Fatal(err)
	}
	text, err := th.filing().FileDocument(context.Background(), portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: patient,
		Type: portal.DocConsultationReport, Title: "Note", Date: seedTime.Add(-time.Hour), Author: "Claire Martin",
		SourceID: "download-headers-2",
		File:     portal.NewFile{Name: "note.txt", ContentType: portal.ContentTypeText, Content: []byte("<script>alert(1)</script>\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	const ancestors = "frame-ancestors 'self' " + pageOrigin
	asciiName := `filename="Compte rendu __t__ _n_1_.pdf"; filename*=UTF-8''Compte%20rendu%20%C2%AB%C3%A9t%C3%A9%C2%BB%20%22n%C2%B01%22.pdf`
	content, image, note := "/api/v1/documents/"+doc.ID+"/content", "/api/v1/documents/"+doc.ID+"/images/"+doc.Images[0].ID, "/api/v1/documents/"+text.ID+"/content"
	tests := []struct {
		path                     string
		body                     []byte
		contentType, disposition string
		csp                      string
	}{
		{content, testPDF, "application/pdf", "attachment; " + asciiName, "sandbox; default-src 'none'; frame-ancestors 'none'"},
		{content + "?disposition=attachment", testPDF, "application/pdf", "attachment; " + asciiName, "sandbox; default-src 'none'; frame-ancestors 'none'"},
		{content + "?disposition=inline&lang=en", testPDF, "application/pdf", "inline; " + asciiName,
			"sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; " + ancestors},
		{image, testPNG, "image/png", `attachment; filename="coupe.png"; filename*=UTF-8''coupe.png`, "sandbox; default-src 'none'; frame-ancestors 'none'"},
		{image + "?disposition=inline", testPNG, "image/png", `inline; filename="coupe.png"; filename*=UTF-8''coupe.png`,
			"sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; " + ancestors},
		{note + "?disposition=inline", []byte("<script>alert(1)</script>\n"), "text/plain; charset=utf-8", `inline; filename="note.txt"; filename*=UTF-8''note.txt`,
			"sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; " + ancestors},
	}
	for _, who := range []*session{patientSession(t, th, patient), practitionerSession(t, th, secondMidwife)} {
		for _, tt := range tests {
			r := who.mustStatus(who.do("GET", tt.path, "", ""), 200)
			if !bytes.Equal(r.body, tt.body) {
				t.Errorf("%s %s: body %q", who.who, tt.path, r.body)
			}
			for k, v := range map[string]string{
				"Content-Type": tt.contentType, "Content-Disposition": tt.disposition, "Content-Security-Policy": tt.csp,
				"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Content-Length": strconv.Itoa(len(tt.body)),
			} {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", who.who, tt.path, k, got, v)
				}
			}
		}
	}
	pat := patientSession(t, th, patient)
	for _, q := range []string{"?disposition=open", "?disposition=inline&disposition=attachment", "?download=1"} {
		if r := pat.do("GET", content+q, "", ""); r.status != 400 || errorCode(t, r.body) != portal.ErrInvalid {
			t.Errorf("GET content%s: %d %s", q, r.status, r.body)
		}
	}
	if r := newSession(t, th).do("GET", content, "", ""); r.status != 401 {
		t.Errorf("anonymous download: %d", r.status)
	}
}

func uploadJSON(service, clientID, name, contentType string, data []byte) string {
	b, _ := json.Marshal(client.UploadBody{Service: service, Title: "Ordonnance", ClientID: clientID,
		File: client.AttachmentBody{Name: name, ContentType: contentType, Data: data}})
	return string(b)
}

func TestDocumentsBadInput(t *testing.T) {
	th := newDocumentsHost(t, 0, nil)
	pat := patientSession(t, th, messagingPatients[0])
	pra := practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin)
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: messagingPatients[0]})
	own, err := th.filing().FileDocument(context.Background(), portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: messagingPatients[0],
		Type: portal.DocConsultationReport, Title: "Consultation", Date: seedTime.Add(-time.Hour), Author: "Claire Martin",
		SourceID: "bad-input-1", File: portal.NewFile{Name: "cr.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := "/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents"
	html := []byte("<html><body><script>alert(document.cookie)</script></body></html>")
	big := append(slices.Clone(testPDF), bytes.Repeat([]byte("a"), documentLimit)...)
	tests := []struct {
		name, method, path, contentType, body string
		who                                   *session
		status                                int
		code                                  portal.ErrorCode
	}{
		{"HTML renamed .pdf", "POST", docs, "application/json", uploadJSON("maternite", "upload-0001", "résultats.pdf", "application/pdf", html), pat, 415, portal.ErrAttachmentRejected},
		{"PDF declared PNG", "POST", docs, "application/json", uploadJSON("maternite", "upload-0002", "scan.png", "image/png", testPDF), pat, 415, portal.ErrAttachmentRejected},
		{"file too large", "POST", docs, "application/json", uploadJSON("maternite", "upload-0003", "gros.pdf", "application/pdf", big), pat, 413, portal.ErrAttachmentTooLarge},
		{"body over the limit", "POST", docs, "application/json", `{"pad":"` + strings.Repeat("a", 2*documentLimit+64<<10) + `"}`, pat, 413, portal.ErrTooLarge},
		{"bad base64", "POST", docs, "application/json", `{"service":"maternite","title":"T","client_id":"upload-0004","file":{"name":"a.pdf","content_type":"application/pdf","data":"!!"}}`, pat, 400, portal.ErrInvalid},
		{"unknown field", "POST", docs, "application/json", `{"service":"maternite","patient":"pat-x"}`, pat, 400, portal.ErrInvalid},
		{"not JSON", "POST", docs, "application/pdf", string(testPDF), pat, 415, portal.ErrUnsupportedMediaType},
		{"upload without a link", "POST", docs, "application/json", uploadJSON("diabetologie", "upload-0005", "a.pdf", "application/pdf", testPDF), pat, 403, portal.ErrServiceNotLinked},
		{"upload as a practitioner", "POST", docs, "application/json", uploadJSON("maternite", "upload-0006", "a.pdf", "application/pdf", testPDF), pra, 403, portal.ErrForbidden},
		{"upload without a session", "POST", docs, "application/json", uploadJSON("maternite", "upload-0007", "a.pdf", "application/pdf", testPDF), newSession(t, th), 401, portal.ErrUnauthenticated},
		{"upload elsewhere", "POST", "/api/v1/establishments/chu-autre/documents", "application/json", uploadJSON("maternite", "upload-0008", "a.pdf", "application/pdf", testPDF), pat, 404, portal.ErrNotFound},
		{"release as a patient", "POST", "/api/v1/documents/" + own.ID + "/release", "application/json", `{}`, pat, 403, portal.ErrForbidden},
		{"seen as a practitioner", "POST", "/api/v1/documents/" + own.ID + "/seen", "application/json", `{}`, pra, 403, portal.ErrForbidden},
		{"seen with a body", "POST", "/api/v1/documents/" + own.ID + "/seen", "application/json", `{"all":true}`, pat, 400, portal.ErrInvalid},
		{"list: held as a patient", "GET", docs + "?held=true", "", "", pat, 403, portal.ErrForbidden},
		{"list: another patient", "GET", docs + "?patient=" + messagingPatients[1], "", "", pat, 403, portal.ErrForbidden},
		{"list: held=yes", "GET", docs + "?held=yes", "", "", pra, 400, portal.ErrInvalid},
		{"list: unknown type", "GET", docs + "?type=x-ray", "", "", pat, 400, portal.ErrInvalid},
		{"list: unknown parameter", "GET", docs + "?color=red", "", "", pat, 400, portal.ErrInvalid},
		{"list: q twice", "GET", docs + "?q=a&q=b", "", "", pat, 400, portal.ErrInvalid},
		{"list: search too long", "GET", docs + "?q=" + strings.Repeat("a", portal.MaxDocumentSearch+1), "", "", pat, 400, portal.ErrInvalid},
		{"count: unknown parameter", "GET", docs + "/count?sort=date", "", "", pat, 400, portal.ErrInvalid},
		{"trend: malformed code", "GET", "/api/v1/establishments/" + sqlite.DemoEstablishment + "/analytes/4548%204/trend", "", "", pat, 400, portal.ErrInvalid},
		{"trend: as a practitioner", "GET", "/api/v1/establishments/" + sqlite.DemoEstablishment + "/analytes/4548-4/trend", "", "", pra, 403, portal.ErrForbidden},
		{"analytes: parameter", "GET", "/api/v1/establishments/" + sqlite.DemoEstablishment + "/analytes?code=1", "", "", pat, 400, portal.ErrInvalid},
		{"list: another establishment", "GET", "/api/v1/establishments/chu-autre/documents", "", "", pat, 404, portal.ErrNotFound},
		{"list: without a session", "GET", docs, "", "", newSession(t, th), 401, portal.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.who.do(tt.method, tt.path, tt.contentType, tt.body)
			if r.status != tt.status || errorCode(t, r.body) != tt.code {
				t.Errorf("status %d %s, want %d %s: %s", r.status, errorCode(t, r.body), tt.status, tt.code, r.body)
			}
		})
	}
	list, err := th.filing().Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil || len(list) != 1 || !list[0].New {
		t.Errorf("after the refusals: %+v, %v; want the one document, new", list, err)
	}
}

// TestDocumentUploadStatus: an upload answers 201 with its Location; a
// retry 200 and the same document; the client id for another upload 422.
func TestDocumentUploadStatus(t *testing.T) {
	th := newDocumentsHost(t, 0, nil)
	pat := patientSession(t, th, messagingPatients[0])
	docs := "/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents"
	body := uploadJSON("maternite", "upload-status-1", "ordonnance.pdf", "application/pdf", testPDF)
	first := pat.mustStatus(pat.do("POST", docs, "application/json", body), 201)
	again := pat.mustStatus(pat.do("POST", docs, "application/json", body), 200)
	var a, b portal.Document
	json.Unmarshal(first.body, &a)
	json.Unmarshal(again.body, &b)
	if a.ID == "" || a.ID != b.ID || first.header.Get("Location") != "/api/v1/documents/"+a.ID || again.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("upload %s (Location %q), retry %s (Location %q)", a.ID, first.header.Get("Location"), b.ID, again.header.Get("Location"))
	}
	if a.Origin != portal.OriginPatient || a.Type != portal.DocPatientDocument || a.New || a.Author != "Test PAT-CONFORMANCE-A" && a.Author != "" {
		t.Errorf("upload: %+v", a)
	}
	other := uploadJSON("maternite", "upload-status-1", "autre.pdf", "application/pdf", testPDF)
	if r := pat.do("POST", docs, "application/json", other); r.status != 422 || errorCode(t, r.body) != portal.ErrIdempotencyKeyReused {
		t.Errorf("client id reused: %d %s", r.status, r.body)
	}
	// The care team of the maternity reads it.
	pra := practitionerSession(t, th, secondMidwife)
	if r := pra.mustStatus(pra.do("GET", "/api/v1/documents/"+a.ID+"/content", "", ""), 200); !bytes.Equal(r.body, testPDF) {
		t.Errorf("the care team downloaded %q", r.body)
	}
	var list client.DocumentList
	json.Unmarshal(pra.mustStatus(pra.do("GET", docs+"?type=patient_document&patient="+messagingPatients[0], "", ""), 200).body, &list)
	if len(list.Documents) != 1 || list.Documents[0].ID != a.ID {
		t.Errorf("the care team's list: %+v", list.Documents)
	}
}

// TestDocumentUploadRateLimit: a patient uploads UploadsPerHour documents
// in a burst, then one every 60/N minutes; a retry of a stored upload
// spends nothing; other patients count apart.
func TestDocumentUploadRateLimit(t *testing.T) {
	th := newDocumentsHost(t, 0, func(cfg *hostConfig) { cfg.UploadsPerHour = 2 })
	pat := patientSession(t, th, messagingPatients[0])
	other := patientSession(t, th, messagingPatients[1])
	docs := "/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents"
	upload := func(s *session, id string) reply {
		pdf := append(slices.Clone(testPDF), id...) // distinct content per upload
		return s.do("POST", docs, "application/json", uploadJSON("maternite", id, "ordonnance.pdf", "application/pdf", pdf))
	}
	pat.mustStatus(upload(pat, "rate-upload-1"), 201)
	pat.mustStatus(upload(pat, "rate-upload-2"), 201)
	r := upload(pat, "rate-upload-3")
	if r.status != 429 || errorCode(t, r.body) != portal.ErrRateLimited || r.header.Get("Retry-After") != "1800" {
		t.Fatalf("3rd upload in an hour: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	other.mustStatus(upload(other, "rate-upload-other"), 201)
	// Half an hour brings one token back.
	th.Clock.Set(th.Clock.Now().Add(30 * time.Minute))
	pat.mustStatus(upload(pat, "rate-upload-3"), 201)
	// Retries of a stored upload give their token back: with one token,
	// any number of them, then a new upload still goes through.
	th.Clock.Set(th.Clock.Now().Add(30 * time.Minute))
	for range 3 {
		pat.mustStatus(upload(pat, "rate-upload-3"), 200)
	}
	pat.mustStatus(upload(pat, "rate-upload-4"), 201)
	if r := upload(pat, "rate-upload-5"); r.status != 429 {
		t.Errorf("over the limit again: %d", r.status)
	}
	var list client.DocumentList
	json.Unmarshal(pat.mustStatus(pat.do("GET", docs+"?type=patient_document", "", ""), 200).body, &list)
	if len(list.Documents) != 4 {
		t.Errorf("%d uploads stored, want 4", len(list.Documents))
	}
}

// TestDocumentsUnservedEstablishment: on a host that does not serve a
// document's establishment, every route of the document answers its own
// patient and a practitioner of its service exactly as random unknown ids;
// nothing changes.
func TestDocumentsUnservedEstablishment(t *testing.T) {
	th := newDocumentsHost(t, 0, func(cfg *hostConfig) {
		cfg.Establishments = []host.Establishment{{ID: "chu-autre", Origins: []string{pageOrigin}}}
	})
	ctx := context.Background()
	patient := messagingPatients[0]
	doc, err := th.filing().FileDocument(ctx, portal.NewDocument{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Patient: patient,
		Type: portal.DocImagingReport, Title: "Échographie", Date: seedTime.Add(-time.Hour), Author: "Dr Girard",
		SourceID: "unserved-1", Sensitive: true,
		File:   portal.NewFile{Name: "echo.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
		Images: []portal.NewFile{{Name: "echo.png", ContentType: portal.ContentTypePNG, Content: testPNG}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.filing().ReleaseDocument(portal.WithSubject(ctx, portal.Subject{Practitioner: sqlite.DemoPractitionerClaireMartin}), doc.ID); err != nil {
		t.Fatal(err)
	}
	unknownDoc, unknownImg := "doc_"+strings.ToLower(rand.Text()), "dfl_"+strings.ToLower(rand.Text())
	both := []struct{ method, known, unknown, body string }{
		{"GET", "/api/v1/documents/" + doc.ID, "/api/v1/documents/" + unknownDoc, ""},
		{"GET", "/api/v1/documents/" + doc.ID + "/content", "/api/v1/documents/" + unknownDoc + "/content", ""},
		{"GET", "/api/v1/documents/" + doc.ID + "/images/" + doc.Images[0].ID, "/api/v1/documents/" + unknownDoc + "/images/" + unknownImg, ""},
	}
	for _, s := range []struct {
		who   *session
		extra string
	}{
		{patientSession(t, th, patient), "/seen"},
		{practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin), "/release"},
	} {
		reqs := append(slices.Clone(both), struct{ method, known, unknown, body string }{
			"POST", "/api/v1/documents/" + doc.ID + s.extra, "/api/v1/documents/" + unknownDoc + s.extra, `{}`})
		for _, p := range reqs {
			ct := ""
			if p.body != "" {
				ct = "application/json"
			}
			sameReply(t, s.who.who+" "+p.method+" "+p.known, s.who.do(p.method, p.known, ct, p.body), s.who.do(p.method, p.unknown, ct, p.body))
		}
		if r := s.who.do("GET", "/api/v1/establishments/"+sqlite.DemoEstablishment+"/documents", "", ""); r.status != 404 {
			t.Errorf("%s: the list of an establishment the host does not serve: %d", s.who.who, r.status)
		}
	}
	got, err := th.filing().Document(portal.WithSubject(ctx, portal.Subject{Patient: patient}), doc.ID)
	if err != nil || !got.New {
		t.Errorf("the document after the refusals: %+v, %v; want it new still", got, err)
	}
}

// TestDocumentsOff: without a store, every documents route is not_found.
func TestDocumentsOff(t *testing.T) {
	th := newMessagingHost(t, nil)
	s := patientSession(t, th, messagingPatients[0])
	for _, p := range []string{
		"/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents",
		"/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents/count",
		"/api/v1/establishments/" + sqlite.DemoEstablishment + "/analytes",
		"/api/v1/documents/" + sqlite.DemoDocumentUltrasound,
		"/api/v1/documents/" + sqlite.DemoDocumentUltrasound + "/content",
	} {
		if r := s.do("GET", p, "", ""); r.status != 404 || errorCode(t, r.body) != portal.ErrNotFound {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}

// TestDemoDocumentRelease walks the demo through the API: Lucas Bernard
// does not see his biopsy report; the diabetes education nurse lists it as
// held and releases it; he sees it, new, and downloads a real PDF.
func TestDemoDocumentRelease(t *testing.T) {
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		cfg.CareTeam = store
		cfg.Documents = store.Documents()
	})
	pat := patientSession(t, th, sqlite.DemoPatientLucasBernard)
	pra := practitionerSession(t, th, sqlite.DemoPractitionerNathalieFournier)
	docs := "/api/v1/establishments/" + sqlite.DemoEstablishment + "/documents"
	biopsy := "/api/v1/documents/" + sqlite.DemoDocumentBiopsy
	if r := pat.do("GET", biopsy, "", ""); r.status != 404 {
		t.Fatalf("the held biopsy: %d %s", r.status, r.body)
	}
	var held client.DocumentList
	json.Unmarshal(pra.mustStatus(pra.do("GET", docs+"?held=true", "", ""), 200).body, &held)
	if len(held.Documents) != 1 || held.Documents[0].ID != sqlite.DemoDocumentBiopsy || held.Documents[0].PatientName != "Lucas BERNARD" {
		t.Fatalf("held documents: %+v", held.Documents)
	}
	pra.mustStatus(pra.do("POST", biopsy+"/release", "application/json", ""), 200)
	var doc portal.Document
	json.Unmarshal(pat.mustStatus(pat.do("GET", biopsy, "", ""), 200).body, &doc)
	if !doc.New || doc.Release != portal.ReleaseReleased || doc.ReleasedBy == nil || doc.ReleasedBy.Name != "Nathalie Fournier" {
		t.Errorf("the released biopsy: %+v", doc)
	}
	r := pat.mustStatus(pat.do("GET", biopsy+"/content?disposition=inline", "", ""), 200)
	if !bytes.HasPrefix(r.body, []byte("%PDF-1.4")) || !bytes.Contains(r.body, []byte("Kimmelstiel")) {
		t.Errorf("the biopsy report: %d bytes", len(r.body))
	}
	var tr portal.Trend
	json.Unmarshal(pat.mustStatus(pat.do("GET", "/api/v1/establishments/"+sqlite.DemoEstablishment+"/analytes/"+sqlite.LOINCHbA1c+"/trend", "", ""), 200).body, &tr)
	if len(tr.Points) != sqlite.DemoLabReports || tr.Low == nil || *tr.Low != 4 || tr.High == nil || *tr.High != 6 {
		t.Errorf("the HbA1c trend: %d points, band %v–%v", len(tr.Points), tr.Low, tr.High)
	}
}

// TestSlowUploadOutlivesTheServerTimeouts: a document sent as slowly as a
// phone on a poor link sends it is stored, on a server whose read and write
// timeouts are far shorter than the upload (they suit small requests).
func TestSlowUploadOutlivesTheServerTimeouts(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{Booking: store, Directory: store, Documents: store.Documents(), DemoSignIn: true,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	signIn, _ := http.NewRequest("POST", srv.URL+"/api/v1/demo/session", strings.NewReader(`{"patient":"`+sqlite.DemoPatientCamilleDurand+`"}`))
	signIn.Header.Set("Content-Type", "application/json")
	signIn.Header.Set("Origin", srv.URL)
	if resp, err := hc.Do(signIn); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", err, resp)
	}
	body := uploadJSON(sqlite.ServiceMaternite, "slow-upload-1", "ordonnance.pdf", "application/pdf", testPDF)
	pr, pw := io.Pipe()
	go func() {
		// The body in 6 pieces, 200 ms apart: 1.2 s in all.
		step := (len(body) + 5) / 6
		for i := 0; i < len(body); i += step {
			time.Sleep(200 * time.Millisecond)
			pw.Write([]byte(body[i:min(i+step, len(body))]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/establishments/"+sqlite.DemoEstablishment+"/documents", pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", srv.URL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a slow upload: %d", resp.StatusCode)
	}
}
