package portaltest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// DocumentsFixture is a fresh implementation of portal.Documents under test.
// RunDocumentsTests makes one per test.
//
// Fresh means that Patients have no document yet; other documents (a demo
// seed's) may exist, and the suite ignores them. The suite moves the clock
// forward; it never moves it back.
type DocumentsFixture struct {
	// AsPatient returns the service acting as the given patient (a backend:
	// AsPatientDocuments; the HTTP client: a client signed in as them).
	AsPatient func(t *testing.T, patient string) portal.Documents
	// AsPractitioner returns the service acting as the given practitioner.
	AsPractitioner func(t *testing.T, practitioner string) portal.Documents
	// Anonymous is the service with no signed-in subject.
	Anonymous portal.Documents
	// Filing files documents as the establishment's systems do: the
	// backend itself (for the HTTP client, the backend behind the host).
	Filing portal.DocumentFiling
	// Establishment has the services Service and OtherService.
	Establishment         string
	Service, OtherService string
	// Patients are at least two distinct patients without documents, each
	// with a link to Service (an appointment, say) and none to
	// OtherService.
	Patients []string
	// Practitioners are at least two distinct practitioners of Service.
	Practitioners []string
	// Outsider is a practitioner of OtherService who is not of Service.
	Outsider string
	// MaxDocumentSize is the implementation's limit of a file's size in
	// bytes; a small one keeps the suite quick.
	MaxDocumentSize int64
	// ReleaseDelay is the delay after which the implementation releases a
	// sensitive document of Establishment by itself, 0 for none.
	ReleaseDelay time.Duration
	// SetNow sets the implementation's clock.
	SetNow func(time.Time)
	// Now returns the implementation's clock.
	Now func() time.Time
}

// RunDocumentsTests runs the conformance suite of portal.Documents, each
// test on a fixture of its own from newFixture. Errors are compared by code
// (portal.Code) and by their patient-facing message, and times with
// time.Time.Equal, so that an implementation reached over JSON passes as a
// backend does.
//
// Beyond the comments of portal.Documents, the suite requires that Created,
// Released and an upload's Date record the clock (to the second), that a
// held document answer every method exactly as an unknown id does, and that
// every refused call store nothing.
func RunDocumentsTests(t *testing.T, newFixture func(t *testing.T) DocumentsFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx DocumentsFixture)
	}{
		{"FileAndRead", testFileAndRead},
		{"FilingIdempotent", testFilingIdempotent},
		{"FilingRefused", testFilingRefused},
		{"Unauthenticated", testDocumentsUnauthenticated},
		{"SidesKeepToTheirMethods", testDocumentSides},
		{"HeldAbsentForPatient", testHeldAbsent},
		{"HeldVisibleToCareTeam", testHeldCareTeam},
		{"ReleaseShowsIt", testRelease},
		{"ReleaseRefused", testReleaseRefused},
		{"ReleaseDelay", testReleaseDelay},
		{"DocumentOfAnotherPatient", testDocumentOfAnotherPatient},
		{"FiltersAndCounts", testDocumentFilters},
		{"InvalidFilters", testInvalidFilters},
		{"MarkSeen", testMarkSeen},
		{"ContentAndImages", testContentAndImages},
		{"Observations", testObservations},
		{"TrendsAndAnalytes", testTrends},
		{"Upload", testUpload},
		{"UploadIdempotent", testUploadIdempotent},
		{"UploadConcurrentRetries", testUploadConcurrent},
		{"UploadRejected", testUploadRejected},
		{"UploadWhere", testUploadWhere},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			checkDocumentsFixture(t, fx)
			tc.run(t, fx)
		})
	}
}

func checkDocumentsFixture(t *testing.T, fx DocumentsFixture) {
	t.Helper()
	switch {
	case fx.AsPatient == nil || fx.AsPractitioner == nil || fx.Anonymous == nil || fx.Filing == nil || fx.SetNow == nil || fx.Now == nil:
		t.Fatal("fixture: AsPatient, AsPractitioner, Anonymous, Filing, SetNow and Now are required")
	case fx.Establishment == "" || fx.Service == "" || fx.OtherService == "" || fx.Service == fx.OtherService:
		t.Fatal("fixture: Establishment and two distinct services are required")
	case len(fx.Patients) < 2 || fx.Patients[0] == fx.Patients[1]:
		t.Fatalf("fixture: two distinct patients are required; got %q", fx.Patients)
	case len(fx.Practitioners) < 2 || fx.Practitioners[0] == fx.Practitioners[1] || fx.Outsider == "" || slices.Contains(fx.Practitioners, fx.Outsider):
		t.Fatalf("fixture: two distinct practitioners of Service and an outsider are required; got %q and %q", fx.Practitioners, fx.Outsider)
	case fx.MaxDocumentSize < 1024:
		t.Fatalf("fixture: MaxDocumentSize %d, want at least 1024", fx.MaxDocumentSize)
	case fx.ReleaseDelay < 0:
		t.Fatalf("fixture: ReleaseDelay %s", fx.ReleaseDelay)
	}
}

// AsPatientDocuments returns d acting as patient: every call carries
// portal.Subject{Patient: patient} in its context, as the edge host puts the
// signed-in patient there. Backends use it for DocumentsFixture.AsPatient.
func AsPatientDocuments(d portal.Documents, patient string) portal.Documents {
	return asSubjectDocuments{d: d, subject: portal.Subject{Patient: patient}}
}

// AsPractitionerDocuments returns d acting as practitioner, as
// AsPatientDocuments does for a patient.
func AsPractitionerDocuments(d portal.Documents, practitioner string) portal.Documents {
	return asSubjectDocuments{d: d, subject: portal.Subject{Practitioner: practitioner}}
}

type asSubjectDocuments struct {
	d       portal.Documents
	subject portal.Subject
}

var _ portal.Documents = asSubjectDocuments{}

func (a asSubjectDocuments) ctx(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, a.subject)
}

func (a asSubjectDocuments) Documents(ctx context.Context, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	return a.d.Documents(a.ctx(ctx), est, f)
}

func (a asSubjectDocuments) CountDocuments(ctx context.Context, est string, f portal.DocumentFilter) (portal.DocumentCount, error) {
	return a.d.CountDocuments(a.ctx(ctx), est, f)
}

func (a asSubjectDocuments) Document(ctx context.Context, id string) (portal.Document, error) {
	return a.d.Document(a.ctx(ctx), id)
}

func (a asSubjectDocuments) DocumentContent(ctx context.Context, id string) (portal.Document, []byte, error) {
	return a.d.DocumentContent(a.ctx(ctx), id)
}

func (a asSubjectDocuments) DocumentImage(ctx context.Context, doc, img string) (portal.DocumentImage, []byte, error) {
	return a.d.DocumentImage(a.ctx(ctx), doc, img)
}

func (a asSubjectDocuments) MarkDocumentSeen(ctx context.Context, id string) error {
	return a.d.MarkDocumentSeen(a.ctx(ctx), id)
}

func (a asSubjectDocuments) Analytes(ctx context.Context, est string) ([]portal.Analyte, error) {
	return a.d.Analytes(a.ctx(ctx), est)
}

func (a asSubjectDocuments) Trend(ctx context.Context, est, code string) (portal.Trend, error) {
	return a.d.Trend(a.ctx(ctx), est, code)
}

func (a asSubjectDocuments) UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error) {
	return a.d.UploadDocument(a.ctx(ctx), u)
}

func (a asSubjectDocuments) ReleaseDocument(ctx context.Context, id string) (portal.Document, error) {
	return a.d.ReleaseDocument(a.ctx(ctx), id)
}

// Analytes of the suite (LOINC).
const (
	codeHbA1c      = "4548-4"
	codeGlucose    = "2345-7"
	codeCreatinine = "14682-9"
	codeHemoglobin = "718-7"
	codeUnknown    = "99999-9"
)

// Building documents.

func ptr(f float64) *float64 { return &f }

// day returns the fixture's clock minus n days, to the second.
func day(fx DocumentsFixture, n int) time.Time {
	return fx.Now().Add(-time.Duration(n) * 24 * time.Hour).Truncate(time.Second)
}

// pdfFile returns a PDF file named name of n bytes whose content is unique.
func pdfFile(name string, n int) portal.NewFile {
	b := samplePDF(n)
	copy(b[10:], newKey()) // distinct content, distinct digest
	return portal.NewFile{Name: name, ContentType: portal.ContentTypePDF, Content: b}
}

// report returns a document of typ for patient in fx.Service, dated date,
// with a PDF file and a fresh source id.
func report(fx DocumentsFixture, patient string, typ portal.DocumentType, title string, date time.Time) portal.NewDocument {
	return portal.NewDocument{
		Establishment: fx.Establishment, Service: fx.Service, Patient: patient, Type: typ, Title: title,
		Date: date, Author: "Dr Conformité", SourceID: newKey(), File: pdfFile("compte-rendu.pdf", 700),
	}
}

// labReport returns a lab report for patient dated date with obs.
func labReport(fx DocumentsFixture, patient, title string, date time.Time, obs ...portal.NewObservation) portal.NewDocument {
	d := report(fx, patient, portal.DocLabReport, title, date)
	d.Author, d.Observations = "Laboratoire de conformité", obs
	return d
}

// obs returns an observation of code at effective.
func obs(code string, value float64, unit string, low, high *float64, effective time.Time) portal.NewObservation {
	names := map[string]string{codeHbA1c: "Hémoglobine glyquée (HbA1c)", codeGlucose: "Glycémie à jeun",
		codeCreatinine: "Créatininémie", codeHemoglobin: "Hémoglobine"}
	return portal.NewObservation{Code: code, Display: portal.Text{FR: names[code], EN: "Analyte " + code}, Value: value,
		Decimals: 1, Unit: unit, Low: low, High: high, Effective: effective}
}

func hba1c(value float64, effective time.Time) portal.NewObservation {
	return obs(codeHbA1c, value, "%", ptr(4), ptr(6), effective)
}

func fileDoc(t *testing.T, fx DocumentsFixture, nd portal.NewDocument) portal.Document {
	t.Helper()
	d, err := fx.Filing.FileDocument(t.Context(), nd)
	if err != nil {
		t.Fatalf("FileDocument(%q): %v", nd.Title, err)
	}
	return d
}

// fileHeld files nd as sensitive.
func fileHeld(t *testing.T, fx DocumentsFixture, nd portal.NewDocument) portal.Document {
	t.Helper()
	nd.Sensitive = true
	return fileDoc(t, fx, nd)
}

// Reading.

func listDocs(t *testing.T, d portal.Documents, fx DocumentsFixture, f portal.DocumentFilter) []portal.Document {
	t.Helper()
	list, err := d.Documents(t.Context(), fx.Establishment, f)
	if err != nil {
		t.Fatalf("Documents(%+v): %v", f, err)
	}
	return list
}

func countDocs(t *testing.T, d portal.Documents, fx DocumentsFixture, f portal.DocumentFilter) portal.DocumentCount {
	t.Helper()
	c, err := d.CountDocuments(t.Context(), fx.Establishment, f)
	if err != nil {
		t.Fatalf("CountDocuments(%+v): %v", f, err)
	}
	return c
}

func getDoc(t *testing.T, d portal.Documents, id string) portal.Document {
	t.Helper()
	doc, err := d.Document(t.Context(), id)
	if err != nil {
		t.Fatalf("Document(%s): %v", id, err)
	}
	return doc
}

func ids(docs []portal.Document) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out
}

// wantIDs fails t unless docs are exactly ids, in that order.
func wantIDs(t *testing.T, what string, docs []portal.Document, want ...string) {
	t.Helper()
	if got := ids(docs); !slices.Equal(got, want) {
		t.Errorf("%s: documents %q, want %q", what, got, want)
	}
}

// wantCount fails t unless c counts total documents, new of them new.
func wantCount(t *testing.T, what string, c portal.DocumentCount, total, new int) {
	t.Helper()
	if c.Total != total || c.New != new {
		t.Errorf("%s: count %+v, want %d documents, %d new", what, c, total, new)
	}
}

func sameTimePtr(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func sameBound(a, b *float64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func sameObservation(a, b portal.Observation) bool {
	return a.ID == b.ID && a.Document == b.Document && a.Code == b.Code && a.Display == b.Display && a.Value == b.Value &&
		a.Decimals == b.Decimals && a.Unit == b.Unit && sameBound(a.Low, b.Low) && sameBound(a.High, b.High) &&
		a.Interpretation == b.Interpretation && a.Effective.Equal(b.Effective)
}

// sameDocument fails t unless got and want describe the same document in
// the same state (PatientName aside: the viewer's business).
func sameDocument(t *testing.T, what string, got, want portal.Document) {
	t.Helper()
	ok := got.ID == want.ID && got.Establishment == want.Establishment && got.Service == want.Service &&
		got.Patient == want.Patient && got.Type == want.Type && got.Title == want.Title && got.Date.Equal(want.Date) &&
		got.Author == want.Author && got.Origin == want.Origin && got.FileName == want.FileName &&
		got.ContentType == want.ContentType && got.Size == want.Size && got.SHA256 == want.SHA256 &&
		slices.Equal(got.Images, want.Images) && got.New == want.New && got.Sensitive == want.Sensitive &&
		got.Release == want.Release && sameTimePtr(got.ReleaseDue, want.ReleaseDue) && sameTimePtr(got.Released, want.Released) &&
		(got.ReleasedBy == nil) == (want.ReleasedBy == nil) && got.Created.Equal(want.Created) &&
		len(got.Observations) == len(want.Observations)
	if ok && got.ReleasedBy != nil {
		ok = got.ReleasedBy.Kind == want.ReleasedBy.Kind && got.ReleasedBy.ID == want.ReleasedBy.ID
	}
	for i := 0; ok && i < len(got.Observations); i++ {
		ok = sameObservation(got.Observations[i], want.Observations[i])
	}
	if !ok {
		t.Errorf("%s: document\n%+v\nwant\n%+v", what, got, want)
	}
}

// wantDocumentHidden fails t unless d reports the document, its content,
// its image img (if any) and marking it seen exactly as unknown ones
// (ErrNotFound, the same patient-facing message). patient adds
// MarkDocumentSeen.
func wantDocumentHidden(t *testing.T, d portal.Documents, doc portal.Document, who string, patient bool) {
	t.Helper()
	ctx := t.Context()
	_, err := d.Document(ctx, doc.ID)
	_, errUnknown := d.Document(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Document")
	_, b, err := d.DocumentContent(ctx, doc.ID)
	_, _, errUnknown = d.DocumentContent(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": DocumentContent")
	if b != nil {
		t.Errorf("%s: DocumentContent returned %d bytes of a hidden document", who, len(b))
	}
	for _, img := range doc.Images {
		_, b, err := d.DocumentImage(ctx, doc.ID, img.ID)
		_, _, errUnknown := d.DocumentImage(ctx, unknownID, unknownID)
		wantNotFoundAsUnknown(t, err, errUnknown, who+": DocumentImage")
		if b != nil {
			t.Errorf("%s: DocumentImage returned %d bytes of a hidden document", who, len(b))
		}
	}
	if patient {
		wantNotFoundAsUnknown(t, d.MarkDocumentSeen(ctx, doc.ID), d.MarkDocumentSeen(ctx, unknownID), who+": MarkDocumentSeen")
	}
}

// Filing.

func testFileAndRead(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	nd := report(fx, p, portal.DocConsultationReport, "Compte rendu de consultation", day(fx, 3))
	doc := fileDoc(t, fx, nd)
	now := fx.Now()
	if doc.ID == "" || doc.Establishment != fx.Establishment || doc.Service != fx.Service || doc.Patient != p ||
		doc.Type != nd.Type || doc.Title != nd.Title || !doc.Date.Equal(nd.Date) || doc.Author != nd.Author ||
		doc.Origin != portal.OriginCareTeam || doc.FileName != nd.File.Name || doc.ContentType != portal.ContentTypePDF ||
		doc.Size != int64(len(nd.File.Content)) || doc.SHA256 != digest(nd.File.Content) || len(doc.Images) != 0 ||
		len(doc.Observations) != 0 || !doc.New || doc.Sensitive || doc.Release != portal.ReleaseNotRequired ||
		doc.ReleaseDue != nil || doc.Released != nil || doc.ReleasedBy != nil {
		t.Errorf("FileDocument = %+v, want the document filed, new, not sensitive", doc)
	}
	wantClock(t, "Created", doc.Created, now)
	if doc.Images == nil || doc.Observations == nil {
		t.Errorf("Images %v, Observations %v: want empty lists, not nil", doc.Images, doc.Observations)
	}

	fx.SetNow(now.Add(time.Hour))
	pat := fx.AsPatient(t, p)
	list := listDocs(t, pat, fx, portal.DocumentFilter{})
	wantIDs(t, "Documents", list, doc.ID)
	if len(list) == 1 {
		sameDocument(t, "Documents", list[0], doc)
	}
	sameDocument(t, "Document", getDoc(t, pat, doc.ID), doc)
	wantCount(t, "CountDocuments", countDocs(t, pat, fx, portal.DocumentFilter{}), 1, 1)
	got, content, err := pat.DocumentContent(t.Context(), doc.ID)
	if err != nil || !bytes.Equal(content, nd.File.Content) {
		t.Fatalf("DocumentContent = %d bytes, %v; want the file filed", len(content), err)
	}
	sameDocument(t, "DocumentContent", got, doc)

	// The care team of the service sees it too, and can ask for it by patient.
	for _, pr := range fx.Practitioners {
		team := fx.AsPractitioner(t, pr)
		sameDocument(t, "Document as a practitioner", getDoc(t, team, doc.ID), doc)
		wantIDs(t, "Documents of the patient as a practitioner",
			listDocs(t, team, fx, portal.DocumentFilter{Patient: p}), doc.ID)
		if _, b, err := team.DocumentContent(t.Context(), doc.ID); err != nil || !bytes.Equal(b, nd.File.Content) {
			t.Errorf("DocumentContent as a practitioner: %d bytes, %v", len(b), err)
		}
	}
	// Nobody else.
	wantDocumentHidden(t, fx.AsPractitioner(t, fx.Outsider), doc, "outsider", false)
	if got := listDocs(t, fx.AsPractitioner(t, fx.Outsider), fx, portal.DocumentFilter{Patient: p}); len(got) != 0 {
		t.Errorf("the outsider lists %q", ids(got))
	}
}

func testFilingIdempotent(t *testing.T, fx DocumentsFixture) {
	nd := labReport(fx, fx.Patients[0], "Bilan", day(fx, 2), hba1c(7.1, day(fx, 2)))
	first := fileDoc(t, fx, nd)
	fx.SetNow(fx.Now().Add(time.Minute))
	again := fileDoc(t, fx, nd)
	sameDocument(t, "FileDocument again", again, first)
	changed := nd
	changed.Title = "Bilan modifié"
	_, err := fx.Filing.FileDocument(t.Context(), changed)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "FileDocument with a source id already used")
	changed = nd
	changed.Observations = []portal.NewObservation{hba1c(7.2, day(fx, 2))}
	_, err = fx.Filing.FileDocument(t.Context(), changed)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "FileDocument with a source id already used, another value")
	wantIDs(t, "Documents after the retries", listDocs(t, fx.AsPatient(t, fx.Patients[0]), fx, portal.DocumentFilter{}), first.ID)
}

func testFilingRefused(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	base := report(fx, p, portal.DocConsultationReport, "Compte rendu", day(fx, 1))
	tests := []struct {
		name   string
		change func(*portal.NewDocument)
		code   portal.ErrorCode
	}{
		{"no patient", func(d *portal.NewDocument) { d.Patient = "" }, portal.ErrInvalid},
		{"patient document type", func(d *portal.NewDocument) { d.Type = portal.DocPatientDocument }, portal.ErrInvalid},
		{"unknown type", func(d *portal.NewDocument) { d.Type = "x-ray" }, portal.ErrInvalid},
		{"empty title", func(d *portal.NewDocument) { d.Title = " " }, portal.ErrInvalid},
		{"no date", func(d *portal.NewDocument) { d.Date = time.Time{} }, portal.ErrInvalid},
		{"no source id", func(d *portal.NewDocument) { d.SourceID = "" }, portal.ErrInvalid},
		{"observations on a consultation", func(d *portal.NewDocument) {
			d.Observations = []portal.NewObservation{hba1c(7, day(fx, 1))}
		}, portal.ErrInvalid},
		{"images on a consultation", func(d *portal.NewDocument) {
			d.Images = []portal.NewFile{{Name: "x.png", ContentType: portal.ContentTypePNG, Content: samplePNG}}
		}, portal.ErrInvalid},
		{"HTML named .pdf", func(d *portal.NewDocument) {
			d.File = portal.NewFile{Name: "cr.pdf", ContentType: portal.ContentTypePDF, Content: []byte("<html><script>alert(1)</script>")}
		}, portal.ErrAttachmentRejected},
		{"file too large", func(d *portal.NewDocument) { d.File = pdfFile("cr.pdf", int(fx.MaxDocumentSize)+1) }, portal.ErrAttachmentTooLarge},
		{"unknown service", func(d *portal.NewDocument) { d.Service = unknownID }, portal.ErrNotFound},
		{"unknown establishment", func(d *portal.NewDocument) { d.Establishment = unknownID }, portal.ErrNotFound},
		{"range upside down", func(d *portal.NewDocument) {
			d.Type = portal.DocLabReport
			d.Observations = []portal.NewObservation{obs(codeHbA1c, 7, "%", ptr(6), ptr(4), day(fx, 1))}
		}, portal.ErrInvalid},
		{"malformed analyte code", func(d *portal.NewDocument) {
			d.Type = portal.DocLabReport
			d.Observations = []portal.NewObservation{obs("4548 4", 7, "%", nil, nil, day(fx, 1))}
		}, portal.ErrInvalid},
	}
	for _, tt := range tests {
		nd := base
		nd.SourceID = newKey()
		tt.change(&nd)
		_, err := fx.Filing.FileDocument(t.Context(), nd)
		wantCode(t, err, tt.code, "FileDocument: "+tt.name)
	}
	team := fx.AsPractitioner(t, fx.Practitioners[0])
	if got := listDocs(t, team, fx, portal.DocumentFilter{Patient: p}); len(got) != 0 {
		t.Errorf("refused filings stored %q", ids(got))
	}
}

func testDocumentsUnauthenticated(t *testing.T, fx DocumentsFixture) {
	doc := fileDoc(t, fx, report(fx, fx.Patients[0], portal.DocConsultationReport, "Compte rendu", day(fx, 1)))
	a, ctx := fx.Anonymous, t.Context()
	_, err := a.Documents(ctx, fx.Establishment, portal.DocumentFilter{})
	wantCode(t, err, portal.ErrUnauthenticated, "Documents")
	_, err = a.CountDocuments(ctx, fx.Establishment, portal.DocumentFilter{})
	wantCode(t, err, portal.ErrUnauthenticated, "CountDocuments")
	_, err = a.Document(ctx, doc.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "Document")
	_, _, err = a.DocumentContent(ctx, doc.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "DocumentContent")
	_, _, err = a.DocumentImage(ctx, doc.ID, unknownID)
	wantCode(t, err, portal.ErrUnauthenticated, "DocumentImage")
	wantCode(t, a.MarkDocumentSeen(ctx, doc.ID), portal.ErrUnauthenticated, "MarkDocumentSeen")
	_, err = a.Analytes(ctx, fx.Establishment)
	wantCode(t, err, portal.ErrUnauthenticated, "Analytes")
	_, err = a.Trend(ctx, fx.Establishment, codeHbA1c)
	wantCode(t, err, portal.ErrUnauthenticated, "Trend")
	_, err = a.UploadDocument(ctx, upload(fx, "Ordonnance", pdfFile("ordonnance.pdf", 600)))
	wantCode(t, err, portal.ErrUnauthenticated, "UploadDocument")
	_, err = a.ReleaseDocument(ctx, doc.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "ReleaseDocument")
	if !getDoc(t, fx.AsPatient(t, fx.Patients[0]), doc.ID).New {
		t.Error("an anonymous MarkDocumentSeen marked the document seen")
	}
}

func testDocumentSides(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	held := fileHeld(t, fx, report(fx, p, portal.DocLabReport, "Résultat", day(fx, 1)))
	pat, team, ctx := fx.AsPatient(t, p), fx.AsPractitioner(t, fx.Practitioners[0]), t.Context()

	// A patient releases nothing, their own held document included: the
	// same refusal as for an unknown id.
	_, err := pat.ReleaseDocument(ctx, held.ID)
	wantCode(t, err, portal.ErrForbidden, "ReleaseDocument as a patient")
	_, errUnknown := pat.ReleaseDocument(ctx, unknownID)
	wantCode(t, errUnknown, portal.ErrForbidden, "ReleaseDocument of an unknown id as a patient")
	if portal.PatientMessage(err, "fr") != portal.PatientMessage(errUnknown, "fr") {
		t.Errorf("ReleaseDocument as a patient tells a held document (%v) from an unknown one (%v)", err, errUnknown)
	}
	for _, f := range []portal.DocumentFilter{{Held: true}, {Patient: p}, {Patient: fx.Patients[1]}} {
		_, err = pat.Documents(ctx, fx.Establishment, f)
		wantCode(t, err, portal.ErrForbidden, fmt.Sprintf("Documents(%+v) as a patient", f))
		_, err = pat.CountDocuments(ctx, fx.Establishment, f)
		wantCode(t, err, portal.ErrForbidden, fmt.Sprintf("CountDocuments(%+v) as a patient", f))
	}
	// The patient-only methods refuse a practitioner.
	wantCode(t, team.MarkDocumentSeen(ctx, held.ID), portal.ErrForbidden, "MarkDocumentSeen as a practitioner")
	_, err = team.Analytes(ctx, fx.Establishment)
	wantCode(t, err, portal.ErrForbidden, "Analytes as a practitioner")
	_, err = team.Trend(ctx, fx.Establishment, codeHbA1c)
	wantCode(t, err, portal.ErrForbidden, "Trend as a practitioner")
	_, err = team.UploadDocument(ctx, upload(fx, "Note", pdfFile("note.pdf", 600)))
	wantCode(t, err, portal.ErrForbidden, "UploadDocument as a practitioner")
	if got := getDoc(t, team, held.ID); got.Release != portal.ReleaseHeld || !got.New {
		t.Errorf("after the refusals: %+v, want it held and new", got)
	}
}

// Release rules.

// heldSet files, for fx.Patients[0], a visible lab report and three held
// documents: a lab report whose creatinine appears nowhere else, an
// imaging report with an image, and a consultation report.
type heldSet struct {
	visible, lab, imaging, consultation portal.Document
}

func fileHeldSet(t *testing.T, fx DocumentsFixture) heldSet {
	p := fx.Patients[0]
	var s heldSet
	s.visible = fileDoc(t, fx, labReport(fx, p, "Bilan de suivi", day(fx, 20), hba1c(7.0, day(fx, 20))))
	s.lab = fileHeld(t, fx, labReport(fx, p, "Biopsie rénale — examen anatomopathologique", day(fx, 5),
		hba1c(9.1, day(fx, 5)), obs(codeCreatinine, 121, "µmol/L", ptr(64), ptr(104), day(fx, 5))))
	img := report(fx, p, portal.DocImagingReport, "Scanner thoracique", day(fx, 4))
	img.Images = []portal.NewFile{{Name: "coupe.png", ContentType: portal.ContentTypePNG, Content: samplePNG}}
	s.imaging = fileHeld(t, fx, img)
	s.consultation = fileHeld(t, fx, report(fx, p, portal.DocConsultationReport, "Annonce diagnostique", day(fx, 3)))
	return s
}

func (s heldSet) held() []portal.Document { return []portal.Document{s.lab, s.imaging, s.consultation} }

func testHeldAbsent(t *testing.T, fx DocumentsFixture) {
	s := fileHeldSet(t, fx)
	pat, ctx := fx.AsPatient(t, fx.Patients[0]), t.Context()
	for _, h := range s.held() {
		if h.Release != portal.ReleaseHeld || !h.Sensitive || h.Released != nil || h.ReleasedBy != nil || !h.New {
			t.Errorf("filed sensitive: %+v, want it held, new, not released", h)
		}
		if fx.ReleaseDelay == 0 && h.ReleaseDue != nil {
			t.Errorf("ReleaseDue %s without a release delay", h.ReleaseDue)
		}
	}

	// Lists, counts, searches.
	wantIDs(t, "Documents", listDocs(t, pat, fx, portal.DocumentFilter{}), s.visible.ID)
	for _, typ := range []portal.DocumentType{portal.DocLabReport, portal.DocImagingReport, portal.DocConsultationReport} {
		f := portal.DocumentFilter{Type: typ}
		list := listDocs(t, pat, fx, f)
		for _, d := range list {
			if d.ID != s.visible.ID {
				t.Errorf("Documents(%s) lists held document %s", typ, d.ID)
			}
		}
		wantCount(t, "CountDocuments("+string(typ)+")", countDocs(t, pat, fx, f), len(list), len(list))
	}
	for _, q := range []string{"biopsie", "Biopsie rénale", "scanner", "annonce", "examen"} {
		f := portal.DocumentFilter{Search: q}
		wantIDs(t, "Documents(search "+q+")", listDocs(t, pat, fx, f))
		wantCount(t, "CountDocuments(search "+q+")", countDocs(t, pat, fx, f), 0, 0)
	}
	wantCount(t, "CountDocuments", countDocs(t, pat, fx, portal.DocumentFilter{}), 1, 1)

	// Direct access, each as an unknown id.
	for _, h := range s.held() {
		wantDocumentHidden(t, pat, h, "patient: "+h.Title, true)
	}
	// Trends: the held values are not there; an analyte seen only in a
	// held report does not exist.
	tr, err := pat.Trend(ctx, fx.Establishment, codeHbA1c)
	if err != nil || len(tr.Points) != 1 || tr.Points[0].Document != s.visible.ID || tr.Points[0].Value != 7.0 {
		t.Errorf("Trend(HbA1c) = %+v, %v; want the visible value only", tr, err)
	}
	_, err = pat.Trend(ctx, fx.Establishment, codeCreatinine)
	_, errUnknown := pat.Trend(ctx, fx.Establishment, codeUnknown)
	wantNotFoundAsUnknown(t, err, errUnknown, "Trend of an analyte only held results have")
	an, err := pat.Analytes(ctx, fx.Establishment)
	if err != nil || len(an) != 1 || an[0].Code != codeHbA1c || an[0].Count != 1 || an[0].Latest.Document != s.visible.ID {
		t.Errorf("Analytes = %+v, %v; want HbA1c alone, its visible value", an, err)
	}
	// Nothing the patient tried changed anything.
	team := fx.AsPractitioner(t, fx.Practitioners[0])
	for _, h := range s.held() {
		if got := getDoc(t, team, h.ID); got.Release != portal.ReleaseHeld || !got.New {
			t.Errorf("%s after the patient's attempts: %+v", h.Title, got)
		}
	}
}

func testHeldCareTeam(t *testing.T, fx DocumentsFixture) {
	s := fileHeldSet(t, fx)
	p := fx.Patients[0]
	for _, pr := range fx.Practitioners {
		team := fx.AsPractitioner(t, pr)
		for _, h := range s.held() {
			sameDocument(t, pr+": Document", getDoc(t, team, h.ID), h)
		}
		held := listDocs(t, team, fx, portal.DocumentFilter{Held: true, Patient: p})
		wantIDs(t, pr+": Documents(held)", held, s.consultation.ID, s.imaging.ID, s.lab.ID)
		wantCount(t, pr+": CountDocuments(held)", countDocs(t, team, fx, portal.DocumentFilter{Held: true, Patient: p}), 3, 3)
		all := listDocs(t, team, fx, portal.DocumentFilter{Patient: p})
		wantIDs(t, pr+": Documents(patient)", all, s.consultation.ID, s.imaging.ID, s.lab.ID, s.visible.ID)
		wantIDs(t, pr+": Documents(held, search)", listDocs(t, team, fx, portal.DocumentFilter{Held: true, Search: "biopsie", Patient: p}), s.lab.ID)
		wantIDs(t, pr+": Documents(held, other service)", listDocs(t, team, fx, portal.DocumentFilter{Held: true, Service: fx.OtherService, Patient: p}))
		img, b, err := team.DocumentImage(t.Context(), s.imaging.ID, s.imaging.Images[0].ID)
		if err != nil || img != s.imaging.Images[0] || !bytes.Equal(b, samplePNG) {
			t.Errorf("%s: DocumentImage of a held report = %+v, %d bytes, %v", pr, img, len(b), err)
		}
	}
	outsider := fx.AsPractitioner(t, fx.Outsider)
	for _, h := range s.held() {
		wantDocumentHidden(t, outsider, h, "outsider: "+h.Title, false)
	}
	if got := listDocs(t, outsider, fx, portal.DocumentFilter{Held: true}); slices.ContainsFunc(got, func(d portal.Document) bool { return d.Patient == p }) {
		t.Errorf("the outsider's held list shows %q", ids(got))
	}
}

func testRelease(t *testing.T, fx DocumentsFixture) {
	s := fileHeldSet(t, fx)
	pat, ctx := fx.AsPatient(t, fx.Patients[0]), t.Context()
	now := fx.Now().Add(time.Hour)
	fx.SetNow(now)
	releaser := fx.Practitioners[0]
	rel, err := fx.AsPractitioner(t, releaser).ReleaseDocument(ctx, s.lab.ID)
	if err != nil {
		t.Fatalf("ReleaseDocument: %v", err)
	}
	if rel.Released == nil || rel.ReleasedBy == nil {
		t.Fatalf("ReleaseDocument = %+v, want it released by %s", rel, releaser)
	}
	wantClock(t, "Released", *rel.Released, now)
	want := s.lab
	want.Release, want.Released = portal.ReleaseReleased, rel.Released
	want.ReleasedBy = &portal.Author{Kind: portal.AuthorPractitioner, ID: releaser}
	sameDocument(t, "ReleaseDocument", rel, want)

	// Now the patient sees it, new, everywhere.
	fx.SetNow(now.Add(time.Minute))
	sameDocument(t, "Document after the release", getDoc(t, pat, s.lab.ID), want)
	wantIDs(t, "Documents after the release", listDocs(t, pat, fx, portal.DocumentFilter{}), s.lab.ID, s.visible.ID)
	wantCount(t, "CountDocuments after the release", countDocs(t, pat, fx, portal.DocumentFilter{}), 2, 2)
	wantIDs(t, "Documents(search biopsie) after the release", listDocs(t, pat, fx, portal.DocumentFilter{Search: "BIOPSIE renale"}), s.lab.ID)
	if _, b, err := pat.DocumentContent(ctx, s.lab.ID); err != nil || int64(len(b)) != s.lab.Size {
		t.Errorf("DocumentContent after the release: %d bytes, %v", len(b), err)
	}
	tr, err := pat.Trend(ctx, fx.Establishment, codeHbA1c)
	if err != nil || len(tr.Points) != 2 || tr.Points[0].Document != s.visible.ID || tr.Points[1].Document != s.lab.ID {
		t.Errorf("Trend(HbA1c) after the release = %+v, %v", tr, err)
	}
	if tr, err := pat.Trend(ctx, fx.Establishment, codeCreatinine); err != nil || len(tr.Points) != 1 {
		t.Errorf("Trend(creatinine) after the release = %+v, %v", tr, err)
	}
	if an, err := pat.Analytes(ctx, fx.Establishment); err != nil || len(an) != 2 {
		t.Errorf("Analytes after the release = %+v, %v", an, err)
	}
	// The others stay held.
	for _, h := range []portal.Document{s.imaging, s.consultation} {
		wantDocumentHidden(t, pat, h, "patient: "+h.Title, true)
	}
	team := fx.AsPractitioner(t, fx.Practitioners[1])
	wantIDs(t, "Documents(held) after the release", listDocs(t, team, fx, portal.DocumentFilter{Held: true, Patient: fx.Patients[0]}),
		s.consultation.ID, s.imaging.ID)

	// Releasing again, by anyone of the service, changes nothing.
	again, err := team.ReleaseDocument(ctx, s.lab.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, "ReleaseDocument again", again, want)
	// Nor does releasing a document that was never held.
	vis, err := team.ReleaseDocument(ctx, s.visible.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, "ReleaseDocument of a document not held", vis, s.visible)
}

func testReleaseRefused(t *testing.T, fx DocumentsFixture) {
	s := fileHeldSet(t, fx)
	ctx := t.Context()
	outsider := fx.AsPractitioner(t, fx.Outsider)
	_, err := outsider.ReleaseDocument(ctx, s.lab.ID)
	_, errUnknown := outsider.ReleaseDocument(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, "ReleaseDocument by a practitioner of another service")
	other := fx.AsPatient(t, fx.Patients[1])
	_, err = other.ReleaseDocument(ctx, s.lab.ID)
	wantCode(t, err, portal.ErrForbidden, "ReleaseDocument by another patient")
	wantDocumentHidden(t, fx.AsPatient(t, fx.Patients[0]), s.lab, "patient after the refused releases", true)
	if got := getDoc(t, fx.AsPractitioner(t, fx.Practitioners[0]), s.lab.ID); got.Release != portal.ReleaseHeld {
		t.Errorf("after the refused releases: %+v", got)
	}
}

func testReleaseDelay(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	pat, team := fx.AsPatient(t, p), fx.AsPractitioner(t, fx.Practitioners[0])
	held := fileHeld(t, fx, labReport(fx, p, "Résultat sensible", day(fx, 1), hba1c(8.0, day(fx, 1))))
	if fx.ReleaseDelay == 0 {
		if held.ReleaseDue != nil {
			t.Errorf("ReleaseDue %s without a delay", held.ReleaseDue)
		}
		// Months later, still held: only a practitioner releases it.
		fx.SetNow(fx.Now().Add(300 * 24 * time.Hour))
		wantDocumentHidden(t, pat, held, "patient, months later", true)
		wantIDs(t, "Documents months later", listDocs(t, pat, fx, portal.DocumentFilter{}))
		if got := getDoc(t, team, held.ID); got.Release != portal.ReleaseHeld {
			t.Errorf("months later: %+v, want it held", got)
		}
		return
	}
	due := held.Created.Add(fx.ReleaseDelay)
	if held.ReleaseDue == nil || held.ReleaseDue.Before(due) || held.ReleaseDue.After(due.Add(time.Second)) {
		t.Fatalf("ReleaseDue %v, want Created + %s = %s", held.ReleaseDue, fx.ReleaseDelay, due)
	}
	due = *held.ReleaseDue
	fx.SetNow(due.Add(-time.Second))
	wantDocumentHidden(t, pat, held, "patient a second before the due time", true)
	wantCount(t, "CountDocuments a second before the due time", countDocs(t, pat, fx, portal.DocumentFilter{}), 0, 0)
	wantIDs(t, "Documents(held) a second before the due time", listDocs(t, team, fx, portal.DocumentFilter{Held: true, Patient: p}), held.ID)

	fx.SetNow(due)
	want := held
	want.Release, want.Released = portal.ReleaseReleased, &due
	sameDocument(t, "Document at the due time", getDoc(t, pat, held.ID), want)
	wantCount(t, "CountDocuments at the due time", countDocs(t, pat, fx, portal.DocumentFilter{}), 1, 1)
	if tr, err := pat.Trend(t.Context(), fx.Establishment, codeHbA1c); err != nil || len(tr.Points) != 1 {
		t.Errorf("Trend at the due time: %+v, %v", tr, err)
	}
	wantIDs(t, "Documents(held) at the due time", listDocs(t, team, fx, portal.DocumentFilter{Held: true, Patient: p}))
	// A practitioner's release changes nothing any more.
	rel, err := team.ReleaseDocument(t.Context(), held.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, "ReleaseDocument after the due time", rel, want)
}

func testDocumentOfAnotherPatient(t *testing.T, fx DocumentsFixture) {
	owner := fx.Patients[0]
	img := report(fx, owner, portal.DocImagingReport, "Échographie", day(fx, 2))
	img.Images = []portal.NewFile{{Name: "image.jpg", ContentType: portal.ContentTypeJPEG, Content: sampleJPEG}}
	doc := fileDoc(t, fx, img)
	lab := fileDoc(t, fx, labReport(fx, owner, "Bilan", day(fx, 2), hba1c(7.5, day(fx, 2))))
	other := fx.AsPatient(t, fx.Patients[1])
	for _, d := range []portal.Document{doc, lab} {
		wantDocumentHidden(t, other, d, "another patient", true)
	}
	// An image asked for with another document's id is unknown too, even
	// to its owner.
	_, _, err := fx.AsPatient(t, owner).DocumentImage(t.Context(), lab.ID, doc.Images[0].ID)
	_, _, errUnknown := fx.AsPatient(t, owner).DocumentImage(t.Context(), lab.ID, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, "DocumentImage under another document's id")
	wantIDs(t, "Documents of the other patient", listDocs(t, other, fx, portal.DocumentFilter{}))
	wantCount(t, "CountDocuments of the other patient", countDocs(t, other, fx, portal.DocumentFilter{}), 0, 0)
	_, err = other.Trend(t.Context(), fx.Establishment, codeHbA1c)
	wantCode(t, err, portal.ErrNotFound, "Trend of the other patient")
	if an, err := other.Analytes(t.Context(), fx.Establishment); err != nil || len(an) != 0 {
		t.Errorf("Analytes of the other patient = %+v, %v", an, err)
	}
	if !getDoc(t, fx.AsPatient(t, owner), doc.ID).New {
		t.Error("another patient's MarkDocumentSeen marked the document seen")
	}
}

// Lists.

func testDocumentFilters(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	d30 := day(fx, 30)
	cons := fileDoc(t, fx, report(fx, p, portal.DocConsultationReport, "Compte rendu de consultation", d30))
	img := report(fx, p, portal.DocImagingReport, "Échographie du premier trimestre", day(fx, 10))
	img.Images = []portal.NewFile{{Name: "image.png", ContentType: portal.ContentTypePNG, Content: samplePNG}}
	echo := fileDoc(t, fx, img)
	lab := fileDoc(t, fx, labReport(fx, p, "Bilan biologique", day(fx, 20), hba1c(7, day(fx, 20))))
	letter := report(fx, p, portal.DocDischargeLetter, "Lettre de liaison — hospitalisation", day(fx, 5))
	letter.Service = fx.OtherService
	other := fileDoc(t, fx, letter)
	// The same date as the consultation, filed later: listed before it.
	fx.SetNow(fx.Now().Add(time.Second))
	op := fileDoc(t, fx, report(fx, p, portal.DocOperativeReport, "Compte rendu opératoire", d30))
	pat := fx.AsPatient(t, p)
	if err := pat.MarkDocumentSeen(t.Context(), lab.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    portal.DocumentFilter
		want []string
	}{
		{"all, latest first", portal.DocumentFilter{}, []string{other.ID, echo.ID, lab.ID, op.ID, cons.ID}},
		{"imaging", portal.DocumentFilter{Type: portal.DocImagingReport}, []string{echo.ID}},
		{"lab", portal.DocumentFilter{Type: portal.DocLabReport}, []string{lab.ID}},
		{"patient documents", portal.DocumentFilter{Type: portal.DocPatientDocument}, nil},
		{"search, case and accents", portal.DocumentFilter{Search: "ECHOGRAPHIE"}, []string{echo.ID}},
		{"search, spaces", portal.DocumentFilter{Search: "  premier   trimestre "}, []string{echo.ID}},
		{"search, accented", portal.DocumentFilter{Search: "Échographie"}, []string{echo.ID}},
		{"search, several", portal.DocumentFilter{Search: "compte rendu"}, []string{op.ID, cons.ID}},
		{"search, none", portal.DocumentFilter{Search: "radiographie"}, nil},
		{"search, blank", portal.DocumentFilter{Search: "   "}, []string{other.ID, echo.ID, lab.ID, op.ID, cons.ID}},
		{"service", portal.DocumentFilter{Service: fx.OtherService}, []string{other.ID}},
		{"type and search", portal.DocumentFilter{Type: portal.DocConsultationReport, Search: "compte"}, []string{cons.ID}},
	}
	for _, tt := range tests {
		got := listDocs(t, pat, fx, tt.f)
		wantIDs(t, "patient: "+tt.name, got, tt.want...)
		news := 0
		for _, d := range got {
			if d.New {
				news++
			}
		}
		wantCount(t, "patient: count "+tt.name, countDocs(t, pat, fx, tt.f), len(tt.want), news)
	}
	// A practitioner of the service sees the service's documents only,
	// filters alike.
	team := fx.AsPractitioner(t, fx.Practitioners[0])
	wantIDs(t, "practitioner: the patient's", listDocs(t, team, fx, portal.DocumentFilter{Patient: p}), echo.ID, lab.ID, op.ID, cons.ID)
	wantIDs(t, "practitioner: search", listDocs(t, team, fx, portal.DocumentFilter{Patient: p, Search: "echo"}), echo.ID)
	wantIDs(t, "practitioner: other service", listDocs(t, team, fx, portal.DocumentFilter{Patient: p, Service: fx.OtherService}))
	wantIDs(t, "practitioner: another patient", listDocs(t, team, fx, portal.DocumentFilter{Patient: fx.Patients[1]}))
	wantCount(t, "practitioner: count", countDocs(t, team, fx, portal.DocumentFilter{Patient: p}), 4, 3)
	outsider := fx.AsPractitioner(t, fx.Outsider)
	wantIDs(t, "outsider: the patient's", listDocs(t, outsider, fx, portal.DocumentFilter{Patient: p}), other.ID)
}

func testInvalidFilters(t *testing.T, fx DocumentsFixture) {
	pat, ctx := fx.AsPatient(t, fx.Patients[0]), t.Context()
	for name, f := range map[string]portal.DocumentFilter{
		"unknown type":         {Type: "x-ray"},
		"search too long":      {Search: strings.Repeat("é", portal.MaxDocumentSearch+1)},
		"control in search":    {Search: "bilan\x00"},
		"line break in search": {Search: "bilan\nsanguin"},
	} {
		_, err := pat.Documents(ctx, fx.Establishment, f)
		wantCode(t, err, portal.ErrInvalid, "Documents: "+name)
		_, err = pat.CountDocuments(ctx, fx.Establishment, f)
		wantCode(t, err, portal.ErrInvalid, "CountDocuments: "+name)
	}
	if _, err := pat.Documents(ctx, fx.Establishment, portal.DocumentFilter{Search: strings.Repeat("é", portal.MaxDocumentSearch)}); err != nil {
		t.Errorf("a search of %d characters: %v", portal.MaxDocumentSearch, err)
	}
	_, err := pat.Documents(ctx, unknownID, portal.DocumentFilter{})
	wantCode(t, err, portal.ErrNotFound, "Documents of an unknown establishment")
	_, err = pat.CountDocuments(ctx, unknownID, portal.DocumentFilter{})
	wantCode(t, err, portal.ErrNotFound, "CountDocuments of an unknown establishment")
	_, err = pat.Documents(ctx, fx.Establishment, portal.DocumentFilter{Service: unknownID})
	wantCode(t, err, portal.ErrNotFound, "Documents of an unknown service")
	_, err = pat.Analytes(ctx, unknownID)
	wantCode(t, err, portal.ErrNotFound, "Analytes of an unknown establishment")
	_, err = pat.Trend(ctx, unknownID, codeHbA1c)
	wantCode(t, err, portal.ErrNotFound, "Trend in an unknown establishment")
	for _, code := range []string{"", "4548 4", "4548-4;DROP", strings.Repeat("1", portal.MaxAnalyteCode+1), "glucose/2"} {
		_, err = pat.Trend(ctx, fx.Establishment, code)
		wantCode(t, err, portal.ErrInvalid, fmt.Sprintf("Trend(%q)", code))
	}
}

func testMarkSeen(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	a := fileDoc(t, fx, report(fx, p, portal.DocConsultationReport, "Consultation", day(fx, 2)))
	b := fileDoc(t, fx, report(fx, p, portal.DocDischargeLetter, "Lettre", day(fx, 1)))
	pat := fx.AsPatient(t, p)
	wantCount(t, "CountDocuments before", countDocs(t, pat, fx, portal.DocumentFilter{}), 2, 2)
	if err := pat.MarkDocumentSeen(t.Context(), a.ID); err != nil {
		t.Fatalf("MarkDocumentSeen: %v", err)
	}
	if err := pat.MarkDocumentSeen(t.Context(), a.ID); err != nil {
		t.Fatalf("MarkDocumentSeen again: %v", err)
	}
	want := a
	want.New = false
	sameDocument(t, "Document once seen", getDoc(t, pat, a.ID), want)
	sameDocument(t, "Document once seen, as a practitioner", getDoc(t, fx.AsPractitioner(t, fx.Practitioners[0]), a.ID), want)
	sameDocument(t, "the other document", getDoc(t, pat, b.ID), b)
	wantCount(t, "CountDocuments after", countDocs(t, pat, fx, portal.DocumentFilter{}), 2, 1)
}

func testContentAndImages(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	nd := report(fx, p, portal.DocImagingReport, "Échographie", day(fx, 1))
	nd.Images = []portal.NewFile{
		{Name: "coupe-1.png", ContentType: portal.ContentTypePNG, Content: samplePNG},
		{Name: "coupe 2 «face».jpg", ContentType: portal.ContentTypeJPEG, Content: sampleJPEG},
	}
	doc := fileDoc(t, fx, nd)
	if len(doc.Images) != 2 {
		t.Fatalf("Images %+v, want 2", doc.Images)
	}
	for i, img := range doc.Images {
		src := nd.Images[i]
		if img.ID == "" || img.Name != src.Name || img.ContentType != src.ContentType || img.Size != int64(len(src.Content)) || img.SHA256 != digest(src.Content) {
			t.Errorf("image %d: %+v, want %s", i, img, src.Name)
		}
	}
	text := report(fx, p, portal.DocConsultationReport, "Note", day(fx, 1))
	text.File = portal.NewFile{Name: "note.txt", ContentType: portal.ContentTypeText, Content: []byte("Consultation du jour.\nRAS.\n")}
	note := fileDoc(t, fx, text)
	for _, who := range []portal.Documents{fx.AsPatient(t, p), fx.AsPractitioner(t, fx.Practitioners[1])} {
		for i, img := range doc.Images {
			meta, b, err := who.DocumentImage(t.Context(), doc.ID, img.ID)
			if err != nil || meta != img || !bytes.Equal(b, nd.Images[i].Content) {
				t.Errorf("DocumentImage %d = %+v, %d bytes, %v", i, meta, len(b), err)
			}
		}
		_, _, err := who.DocumentImage(t.Context(), doc.ID, unknownID)
		wantCode(t, err, portal.ErrNotFound, "DocumentImage of an unknown image")
		_, _, err = who.DocumentImage(t.Context(), note.ID, doc.Images[0].ID)
		wantCode(t, err, portal.ErrNotFound, "DocumentImage under another document")
		got, b, err := who.DocumentContent(t.Context(), note.ID)
		if err != nil || got.ContentType != portal.ContentTypeText || !bytes.Equal(b, text.File.Content) {
			t.Errorf("DocumentContent of a text = %q, %q, %v", got.ContentType, b, err)
		}
		// The file of an imaging report is its report, not an image.
		if _, b, err := who.DocumentContent(t.Context(), doc.ID); err != nil || !bytes.Equal(b, nd.File.Content) {
			t.Errorf("DocumentContent of the imaging report: %d bytes, %v", len(b), err)
		}
	}
}

func testObservations(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	when := day(fx, 3)
	glucose := obs(codeGlucose, 0.62, "g/L", ptr(0.70), ptr(1.10), when)
	glucose.Decimals = 2
	noRange := obs(codeCreatinine, 80, "µmol/L", nil, nil, when)
	noRange.Decimals = 0
	lowOnly := obs(codeHemoglobin, 16.2, "g/dL", ptr(11.5), nil, when.Add(-time.Hour))
	nd := labReport(fx, p, "Bilan", when, hba1c(7.2, when), glucose, noRange, lowOnly, hba1c(6.0, when))
	doc := fileDoc(t, fx, nd)
	wantInterp := []portal.Interpretation{portal.InterpretationHigh, portal.InterpretationLow, portal.InterpretationNone,
		portal.InterpretationNormal, portal.InterpretationNormal}
	check := func(what string, d portal.Document) {
		t.Helper()
		if len(d.Observations) != len(nd.Observations) {
			t.Fatalf("%s: %d observations, want %d", what, len(d.Observations), len(nd.Observations))
		}
		for i, o := range d.Observations {
			src := nd.Observations[i]
			if o.ID == "" || o.Document != doc.ID || o.Code != src.Code || o.Display != src.Display || o.Value != src.Value ||
				o.Decimals != src.Decimals || o.Unit != src.Unit || !sameBound(o.Low, src.Low) || !sameBound(o.High, src.High) ||
				!o.Effective.Equal(src.Effective) || o.Interpretation != wantInterp[i] {
				t.Errorf("%s: observation %d = %+v, want %+v interpreted %q", what, i, o, src, wantInterp[i])
			}
		}
	}
	check("FileDocument", doc)
	check("Document as the patient", getDoc(t, fx.AsPatient(t, p), doc.ID))
	check("Documents as the patient", listDocs(t, fx.AsPatient(t, p), fx, portal.DocumentFilter{})[0])
	check("Document as a practitioner", getDoc(t, fx.AsPractitioner(t, fx.Practitioners[0]), doc.ID))
	if got := doc.Observations[1].FormatValue(); got != "0.62" {
		t.Errorf("FormatValue = %q", got)
	}
}

func testTrends(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	// Filed out of order, in both services, one in another unit.
	r2 := fileDoc(t, fx, labReport(fx, p, "Bilan 2", day(fx, 60), hba1c(7.8, day(fx, 60)), obs(codeGlucose, 1.3, "g/L", ptr(0.7), ptr(1.1), day(fx, 60))))
	r3 := fileDoc(t, fx, labReport(fx, p, "Bilan 3", day(fx, 30), hba1c(7.1, day(fx, 30))))
	oldUnit := obs(codeHbA1c, 64, "mmol/mol", ptr(20), ptr(42), day(fx, 120))
	r0 := fileDoc(t, fx, labReport(fx, p, "Bilan 0", day(fx, 120), oldUnit))
	other := labReport(fx, p, "Bilan 1", day(fx, 90), hba1c(8.2, day(fx, 90)))
	other.Service = fx.OtherService
	r1 := fileDoc(t, fx, other)
	latest := hba1c(6.4, day(fx, 1))
	latest.High = ptr(6.5) // the lab changed its range
	r4 := fileDoc(t, fx, labReport(fx, p, "Bilan 4", day(fx, 1), latest))
	fileHeld(t, fx, labReport(fx, p, "Bilan retenu", day(fx, 2), hba1c(9.9, day(fx, 2))))

	pat := fx.AsPatient(t, p)
	tr, err := pat.Trend(t.Context(), fx.Establishment, codeHbA1c)
	if err != nil {
		t.Fatalf("Trend: %v", err)
	}
	var docs []string
	var values []float64
	for _, pt := range tr.Points {
		docs, values = append(docs, pt.Document), append(values, pt.Value)
	}
	if !slices.Equal(docs, []string{r1.ID, r2.ID, r3.ID, r4.ID}) || !slices.Equal(values, []float64{8.2, 7.8, 7.1, 6.4}) {
		t.Errorf("Trend points %q %v, want the four values in %%, oldest first, none held and none in mmol/mol", docs, values)
	}
	if tr.Code != codeHbA1c || tr.Unit != "%" || tr.Display != latest.Display || !sameBound(tr.Low, ptr(4)) || !sameBound(tr.High, ptr(6.5)) {
		t.Errorf("Trend = %s %q %+v [%v, %v], want the latest observation's unit, display and range", tr.Code, tr.Unit, tr.Display, tr.Low, tr.High)
	}
	if len(tr.Points) == 4 {
		if tr.Points[0].Interpretation != portal.InterpretationHigh || tr.Points[3].Interpretation != portal.InterpretationNormal ||
			!tr.Points[3].Effective.Equal(latest.Effective) {
			t.Errorf("Trend points %+v: each with its own interpretation and date", tr.Points)
		}
	}
	an, err := pat.Analytes(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]portal.Analyte{}
	for _, a := range an {
		got[a.Code] = a
	}
	if len(an) != 2 || got[codeHbA1c].Count != 4 || got[codeHbA1c].Latest.Document != r4.ID || got[codeHbA1c].Unit != "%" ||
		got[codeGlucose].Count != 1 || got[codeGlucose].Latest.Document != r2.ID || got[codeGlucose].Display.FR != "Glycémie à jeun" {
		t.Errorf("Analytes = %+v", an)
	}
	if len(an) == 2 && an[0].Code != codeGlucose { // "Glycémie" before "Hémoglobine"
		t.Errorf("Analytes in the order %s, %s; want by display name", an[0].Code, an[1].Code)
	}
	_ = r0
}

// Uploads.

// upload returns an upload to fx.Service with a fresh client id.
func upload(fx DocumentsFixture, title string, f portal.NewFile) portal.NewUpload {
	return portal.NewUpload{Establishment: fx.Establishment, Service: fx.Service, Title: title, ClientID: newKey(), File: f}
}

func testUpload(t *testing.T, fx DocumentsFixture) {
	p := fx.Patients[0]
	pat := fx.AsPatient(t, p)
	for _, f := range []portal.NewFile{
		pdfFile("ordonnance de ville.pdf", 900),
		{Name: "photo.jpg", ContentType: portal.ContentTypeJPEG, Content: sampleJPEG},
		{Name: "résultats.png", ContentType: portal.ContentTypePNG, Content: samplePNG},
	} {
		fx.SetNow(fx.Now().Add(time.Minute))
		now := fx.Now()
		u := upload(fx, "Document de "+f.Name, f)
		doc, err := pat.UploadDocument(t.Context(), u)
		if err != nil {
			t.Fatalf("UploadDocument(%s): %v", f.Name, err)
		}
		if doc.ID == "" || doc.Establishment != fx.Establishment || doc.Service != fx.Service || doc.Patient != p ||
			doc.Type != portal.DocPatientDocument || doc.Title != u.Title || doc.Origin != portal.OriginPatient ||
			doc.FileName != f.Name || doc.ContentType != f.ContentType || doc.Size != int64(len(f.Content)) ||
			doc.SHA256 != digest(f.Content) || doc.New || doc.Sensitive || doc.Release != portal.ReleaseNotRequired ||
			len(doc.Images) != 0 || len(doc.Observations) != 0 {
			t.Errorf("UploadDocument(%s) = %+v", f.Name, doc)
		}
		wantClock(t, "Created", doc.Created, now)
		wantClock(t, "Date", doc.Date, now)
		sameDocument(t, "Document", getDoc(t, pat, doc.ID), doc)
		if _, b, err := pat.DocumentContent(t.Context(), doc.ID); err != nil || !bytes.Equal(b, f.Content) {
			t.Errorf("DocumentContent of the upload: %d bytes, %v", len(b), err)
		}
		team := fx.AsPractitioner(t, fx.Practitioners[0])
		sameDocument(t, "Document as a practitioner", getDoc(t, team, doc.ID), doc)
		wantDocumentHidden(t, fx.AsPractitioner(t, fx.Outsider), doc, "outsider", false)
		wantDocumentHidden(t, fx.AsPatient(t, fx.Patients[1]), doc, "another patient", true)
	}
	if n := countDocs(t, pat, fx, portal.DocumentFilter{Type: portal.DocPatientDocument}); n.Total != 3 || n.New != 0 {
		t.Errorf("CountDocuments(patient documents) = %+v, want 3, none new", n)
	}
}

func testUploadIdempotent(t *testing.T, fx DocumentsFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	u := upload(fx, "Ordonnance", pdfFile("ordonnance.pdf", 800))
	first, err := pat.UploadDocument(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	fx.SetNow(fx.Now().Add(time.Minute))
	again, err := pat.UploadDocument(t.Context(), u)
	if err != nil {
		t.Fatalf("UploadDocument again: %v", err)
	}
	sameDocument(t, "UploadDocument again", again, first)
	for name, change := range map[string]func(*portal.NewUpload){
		"another title":   func(x *portal.NewUpload) { x.Title = "Autre titre" },
		"another file":    func(x *portal.NewUpload) { x.File = pdfFile("ordonnance.pdf", 800) },
		"another name":    func(x *portal.NewUpload) { x.File.Name = "autre.pdf" },
		"another service": func(x *portal.NewUpload) { x.Service = fx.OtherService },
	} {
		v := u
		change(&v)
		_, err := pat.UploadDocument(t.Context(), v)
		wantCode(t, err, portal.ErrIdempotencyKeyReused, "UploadDocument, client id reused: "+name)
	}
	// A client id is the patient's own: another patient may use it too.
	other, err := fx.AsPatient(t, fx.Patients[1]).UploadDocument(t.Context(), u)
	if err != nil || other.ID == first.ID || other.Patient != fx.Patients[1] {
		t.Errorf("another patient's upload under the same client id = %+v, %v", other, err)
	}
	wantIDs(t, "Documents", listDocs(t, pat, fx, portal.DocumentFilter{}), first.ID)
}

func testUploadConcurrent(t *testing.T, fx DocumentsFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	u := upload(fx, "Compte rendu de ville", pdfFile("cr.pdf", 900))
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := pat.UploadDocument(context.WithoutCancel(t.Context()), u)
			got[i], errs[i] = d.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent UploadDocument %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Errorf("concurrent retries stored documents %q", got)
			break
		}
	}
	wantIDs(t, "Documents", listDocs(t, pat, fx, portal.DocumentFilter{}), got[0])
}

func testUploadRejected(t *testing.T, fx DocumentsFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	html := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script>%PDF-1.7</body></html>")
	tests := []struct {
		name string
		u    portal.NewUpload
		code portal.ErrorCode
	}{
		{"HTML renamed .pdf", upload(fx, "Résultats", portal.NewFile{Name: "résultats.pdf", ContentType: portal.ContentTypePDF, Content: html}), portal.ErrAttachmentRejected},
		{"HTML with its type", upload(fx, "Page", portal.NewFile{Name: "page.html", ContentType: "text/html", Content: html}), portal.ErrAttachmentRejected},
		{"plain text", upload(fx, "Note", portal.NewFile{Name: "note.txt", ContentType: portal.ContentTypeText, Content: []byte("Bonjour")}), portal.ErrAttachmentRejected},
		{"PDF declared PNG", upload(fx, "Scan", portal.NewFile{Name: "scan.png", ContentType: portal.ContentTypePNG, Content: samplePDF(600)}), portal.ErrAttachmentRejected},
		{"PNG declared PDF", upload(fx, "Scan", portal.NewFile{Name: "scan.pdf", ContentType: portal.ContentTypePDF, Content: samplePNG}), portal.ErrAttachmentRejected},
		{"executable", upload(fx, "Programme", portal.NewFile{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: append([]byte("MZ\x90\x00"), samplePDF(600)...)}), portal.ErrAttachmentRejected},
		{"bidirectional name", upload(fx, "Scan", portal.NewFile{Name: "scan\u202Efdp.exe.pdf", ContentType: portal.ContentTypePDF, Content: samplePDF(600)}), portal.ErrAttachmentRejected},
		{"too large", upload(fx, "Gros", pdfFile("gros.pdf", int(fx.MaxDocumentSize)+1)), portal.ErrAttachmentTooLarge},
		{"empty", upload(fx, "Vide", portal.NewFile{Name: "vide.pdf", ContentType: portal.ContentTypePDF}), portal.ErrAttachmentRejected},
		{"no title", upload(fx, "  ", pdfFile("a.pdf", 600)), portal.ErrInvalid},
		{"title on two lines", upload(fx, "Deux\nlignes", pdfFile("a.pdf", 600)), portal.ErrInvalid},
		{"title too long", upload(fx, strings.Repeat("t", portal.MaxDocumentTitle+1), pdfFile("a.pdf", 600)), portal.ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := pat.UploadDocument(t.Context(), tt.u)
		wantCode(t, err, tt.code, "UploadDocument: "+tt.name)
	}
	bad := upload(fx, "Clé", pdfFile("a.pdf", 600))
	bad.ClientID = "x"
	_, err := pat.UploadDocument(t.Context(), bad)
	wantCode(t, err, portal.ErrInvalid, "UploadDocument: malformed client id")
	// At the limit, it goes through.
	if _, err := pat.UploadDocument(t.Context(), upload(fx, "Au plus juste", pdfFile("juste.pdf", int(fx.MaxDocumentSize)))); err != nil {
		t.Errorf("an upload of exactly MaxDocumentSize bytes: %v", err)
	}
	wantCount(t, "CountDocuments after the refusals", countDocs(t, pat, fx, portal.DocumentFilter{}), 1, 0)
}

func testUploadWhere(t *testing.T, fx DocumentsFixture) {
	p, q := fx.Patients[0], fx.Patients[1]
	pat := fx.AsPatient(t, p)
	u := upload(fx, "Ordonnance", pdfFile("ordonnance.pdf", 700))
	u.Service = fx.OtherService
	_, err := pat.UploadDocument(t.Context(), u)
	wantCode(t, err, portal.ErrServiceNotLinked, "UploadDocument to a service without a link")
	u.Service, u.ClientID = unknownID, newKey()
	_, err = pat.UploadDocument(t.Context(), u)
	wantCode(t, err, portal.ErrNotFound, "UploadDocument to an unknown service")
	u.Establishment, u.Service, u.ClientID = unknownID, fx.Service, newKey()
	_, err = pat.UploadDocument(t.Context(), u)
	wantCode(t, err, portal.ErrNotFound, "UploadDocument to an unknown establishment")
	wantCount(t, "CountDocuments after the refusals", countDocs(t, pat, fx, portal.DocumentFilter{}), 0, 0)

	// A document of the service the patient sees is a link...
	letter := report(fx, p, portal.DocDischargeLetter, "Lettre", day(fx, 1))
	letter.Service = fx.OtherService
	fileDoc(t, fx, letter)
	u = upload(fx, "Ordonnance", pdfFile("ordonnance.pdf", 700))
	u.Service = fx.OtherService
	if _, err := pat.UploadDocument(t.Context(), u); err != nil {
		t.Errorf("UploadDocument to the service of a document of the patient: %v", err)
	}
	// ...a held one is not: an upload never tells of it.
	held := report(fx, q, portal.DocDischargeLetter, "Lettre", day(fx, 1))
	held.Service = fx.OtherService
	fileHeld(t, fx, held)
	u = upload(fx, "Ordonnance", pdfFile("ordonnance.pdf", 700))
	u.Service = fx.OtherService
	_, err = fx.AsPatient(t, q).UploadDocument(t.Context(), u)
	wantCode(t, err, portal.ErrServiceNotLinked, "UploadDocument to the service of a held document only")
}
