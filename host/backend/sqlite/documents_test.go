package sqlite_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// conformanceDocumentLimit is the file limit of the documents fixtures:
// small, so that the suite stays quick.
const conformanceDocumentLimit = 64 << 10

// documentsFixture returns a DocumentsFixture on a fresh store seeded at
// seedTime, on a clock of its own (a copy of the seeded template file, or
// with memory an in-memory database seeded afresh), with delay as the demo
// establishment's release delay. The conformance patients have an
// appointment in the maternity; the outsider is the diabetologist.
func documentsFixture(t *testing.T, memory bool, delay time.Duration) portaltest.DocumentsFixture {
	clock := portaltest.NewClock(seedTime)
	var s *sqlite.Store
	if memory {
		s = openSeeded(t, ":memory:", clock)
	} else {
		s, _ = seededCopy(t, clock)
	}
	linkPatients(t, s, sqlite.ServiceMaternite, conformancePatients...)
	d := s.Documents(sqlite.WithMaxDocumentSize(conformanceDocumentLimit), sqlite.WithReleaseDelay(sqlite.DemoEstablishment, delay))
	return portaltest.DocumentsFixture{
		AsPatient: func(t *testing.T, patient string) portal.Documents {
			return portaltest.AsPatientDocuments(d, patient)
		},
		AsPractitioner: func(t *testing.T, practitioner string) portal.Documents {
			return portaltest.AsPractitionerDocuments(d, practitioner)
		},
		Anonymous:       d,
		Filing:          d,
		Establishment:   sqlite.DemoEstablishment,
		Service:         sqlite.ServiceMaternite,
		OtherService:    sqlite.ServiceDiabetologie,
		Patients:        conformancePatients,
		Practitioners:   []string{sqlite.DemoPractitionerClaireMartin, "pr-sophie-lefebvre"},
		Outsider:        "pr-julien-roux",
		MaxDocumentSize: conformanceDocumentLimit,
		ReleaseDelay:    delay,
		SetNow:          clock.Set,
		Now:             clock.Now,
	}
}

func TestDocumentsConformance(t *testing.T) {
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
		return documentsFixture(t, false, 0)
	})
}

// TestDocumentsConformanceReleaseDelay runs the suite with an establishment
// that releases sensitive documents by itself after three days.
func TestDocumentsConformanceReleaseDelay(t *testing.T) {
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
		return documentsFixture(t, false, 72*time.Hour)
	})
}

// TestDocumentsConformanceMemory runs the suite on in-memory databases,
// whose single connection deadlocks any call that would use the database
// outside its transaction.
func TestDocumentsConformanceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite runs on file databases")
	}
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
		return documentsFixture(t, true, 0)
	})
}

// TestDemoDocuments checks the seeded documents: what each patient sees,
// the year of results, the held biopsy report and its release, and that the
// files are real: PDF (checked by qpdf when it is installed), PNG, text.
func TestDemoDocuments(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	d := s.Documents()
	ctx := context.Background()
	lucas := asPatient(ctx, sqlite.DemoPatientLucasBernard)

	list, err := d.Documents(lucas, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != sqlite.DemoLabReports+2 || slices.ContainsFunc(list, func(doc portal.Document) bool { return doc.ID == sqlite.DemoDocumentBiopsy }) {
		t.Errorf("Lucas Bernard's documents: %d, want the %d lab reports, a consultation report and a letter, without the held biopsy",
			len(list), sqlite.DemoLabReports)
	}
	for i, doc := range list {
		if doc.Date.After(seedTime) || doc.Created.After(seedTime) || (i > 0 && doc.Date.After(list[i-1].Date)) {
			t.Errorf("document %s dated %s, filed %s: want past dates, latest first", doc.ID, doc.Date, doc.Created)
		}
	}
	if c, err := d.CountDocuments(lucas, sqlite.DemoEstablishment, portal.DocumentFilter{}); err != nil || c.Total != 14 || c.New != 2 {
		t.Errorf("Lucas Bernard's count = %+v, %v; want 14, the latest lab report and the letter new", c, err)
	}

	// A year of monthly results, some out of range.
	year := seedTime.AddDate(-1, 0, 0)
	for code, unit := range map[string]string{sqlite.LOINCHbA1c: "%", sqlite.LOINCGlucose: "g/L", sqlite.LOINCCreatinine: "µmol/L"} {
		tr, err := d.Trend(lucas, sqlite.DemoEstablishment, code)
		if err != nil || len(tr.Points) != sqlite.DemoLabReports || tr.Unit != unit || tr.Low == nil || tr.High == nil {
			t.Fatalf("Trend(%s) = %+v, %v", code, tr, err)
		}
		out := 0
		for i, p := range tr.Points {
			if p.Effective.Before(year) || (i > 0 && !p.Effective.After(tr.Points[i-1].Effective)) {
				t.Errorf("Trend(%s): point %d at %s, want within the year, oldest first", code, i, p.Effective)
			}
			if p.Interpretation.OutOfRange() {
				out++
			}
		}
		if out == 0 || out == len(tr.Points) && code != sqlite.LOINCHbA1c {
			t.Errorf("Trend(%s): %d of %d out of range", code, out, len(tr.Points))
		}
	}

	// The biopsy report: absent for Lucas Bernard, held for diabetology.
	if _, err := d.Document(lucas, sqlite.DemoDocumentBiopsy); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("the held biopsy as the patient: %v", err)
	}
	nurse := asPractitioner(ctx, sqlite.DemoPractitionerNathalieFournier)
	held, err := d.Documents(nurse, sqlite.DemoEstablishment, portal.DocumentFilter{Held: true})
	if err != nil || len(held) != 1 || held[0].ID != sqlite.DemoDocumentBiopsy || held[0].PatientName != "Lucas BERNARD" {
		t.Fatalf("diabetology's held documents = %+v, %v", held, err)
	}
	if _, err := d.Document(asPractitioner(ctx, sqlite.DemoPractitionerClaireMartin), sqlite.DemoDocumentBiopsy); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("the biopsy as a midwife: %v", err)
	}
	clock.Set(seedTime.Add(time.Hour))
	rel, err := d.ReleaseDocument(nurse, sqlite.DemoDocumentBiopsy)
	if err != nil || rel.Release != portal.ReleaseReleased || rel.ReleasedBy == nil || rel.ReleasedBy.Name != "Nathalie Fournier" {
		t.Fatalf("ReleaseDocument = %+v, %v", rel, err)
	}
	if doc, err := d.Document(lucas, sqlite.DemoDocumentBiopsy); err != nil || !doc.New {
		t.Errorf("the released biopsy as the patient: %+v, %v", doc, err)
	}

	// Camille Durand's ultrasound report and its image.
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	echo, err := d.Document(camille, sqlite.DemoDocumentUltrasound)
	if err != nil || echo.Type != portal.DocImagingReport || len(echo.Images) != 1 || echo.Images[0].ContentType != portal.ContentTypePNG {
		t.Fatalf("the ultrasound report = %+v, %v", echo, err)
	}
	_, img, err := d.DocumentImage(camille, echo.ID, echo.Images[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width < 200 || cfg.Height < 150 {
		t.Errorf("the ultrasound image: %+v, %v", cfg, err)
	}

	// Every file is what it says: PDFs valid, the text readable.
	dir := t.TempDir()
	var pdfs []string
	for _, p := range []string{sqlite.DemoPatientLucasBernard, sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientInesMoreau} {
		pc := asPatient(ctx, p)
		docs, err := d.Documents(pc, sqlite.DemoEstablishment, portal.DocumentFilter{})
		if err != nil || len(docs) == 0 {
			t.Fatalf("%s's documents: %d, %v", p, len(docs), err)
		}
		for _, doc := range docs {
			_, b, err := d.DocumentContent(pc, doc.ID)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := portal.SniffDocument(doc.FileName, b)
			if err != nil || ct != doc.ContentType {
				t.Errorf("%s: sniffed %q, %v; stored as %q", doc.ID, ct, err, doc.ContentType)
			}
			switch doc.ContentType {
			case portal.ContentTypePDF:
				if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) || len(b) < 1500 {
					t.Errorf("%s: %d bytes, not a complete PDF", doc.ID, len(b))
				}
				f := filepath.Join(dir, doc.ID+".pdf")
				if err := os.WriteFile(f, b, 0o600); err != nil {
					t.Fatal(err)
				}
				pdfs = append(pdfs, f)
			case portal.ContentTypeText:
				if !strings.Contains(string(b), "toux") {
					t.Errorf("%s: %q", doc.ID, b)
				}
			}
		}
	}
	if len(pdfs) < 15 {
		t.Errorf("%d PDF documents", len(pdfs))
	}
	if _, err := exec.LookPath("qpdf"); err == nil {
		for _, f := range pdfs {
			if out, err := exec.Command("qpdf", "--check", f).CombinedOutput(); err != nil {
				t.Errorf("qpdf --check %s: %v\n%s", filepath.Base(f), err, out)
			}
		}
	}

	// Seeding again, a day later, keeps the documents as they became.
	clock.Set(seedTime.Add(24 * time.Hour))
	db := rawDB(t, path)
	before := count(t, db, `SELECT COUNT(*) FROM documents`) + count(t, db, `SELECT COUNT(*) FROM document_files`) +
		count(t, db, `SELECT COUNT(*) FROM observations`)
	if err := s.Seed(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	after := count(t, db, `SELECT COUNT(*) FROM documents`) + count(t, db, `SELECT COUNT(*) FROM document_files`) +
		count(t, db, `SELECT COUNT(*) FROM observations`)
	if after != before {
		t.Errorf("seeding again: %d rows, before %d", after, before)
	}
	if doc, err := d.Document(lucas, sqlite.DemoDocumentBiopsy); err != nil || doc.Release != portal.ReleaseReleased {
		t.Errorf("the released biopsy after seeding again: %+v, %v", doc, err)
	}
}

// TestDemoDocumentsDeterministic: two seeds at the same time file the same
// bytes (the PDFs and the image carry no random part).
func TestDemoDocumentsDeterministic(t *testing.T) {
	ctx := context.Background()
	var sums [2][]string
	for i := range sums {
		s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
		docs, err := s.Documents().Documents(asPractitioner(ctx, "pr-julien-roux"), sqlite.DemoEstablishment, portal.DocumentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			sums[i] = append(sums[i], d.ID+":"+d.SHA256)
		}
	}
	if !slices.Equal(sums[0], sums[1]) || len(sums[0]) != sqlite.DemoLabReports+3 {
		t.Errorf("two seeds filed %q and %q", sums[0], sums[1])
	}
}

// TestDocumentRowsFixed: a document, its files and observations are a record
// of care: the database refuses to change or delete them, but for the
// release and the first opening.
func TestDocumentRowsFixed(t *testing.T) {
	_, path := seededCopy(t, portaltest.NewClock(seedTime))
	db := rawDB(t, path)
	for _, q := range []string{
		`UPDATE documents SET title = 'x' WHERE id = 'doc-demo-bilan-01'`,
		`UPDATE documents SET sensitive = 0 WHERE id = '` + sqlite.DemoDocumentBiopsy + `'`,
		`UPDATE documents SET patient = 'pat-other' WHERE id = 'doc-demo-bilan-01'`,
		`DELETE FROM documents WHERE id = 'doc-demo-bilan-01'`,
		`UPDATE document_files SET content = x'00' WHERE document = 'doc-demo-bilan-01'`,
		`DELETE FROM document_files WHERE document = 'doc-demo-bilan-01'`,
		`UPDATE observations SET value = 5 WHERE document = 'doc-demo-bilan-01'`,
		`DELETE FROM observations WHERE document = 'doc-demo-bilan-01'`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if _, err := db.Exec(`UPDATE documents SET seen_utc = 1 WHERE id = 'doc-demo-bilan-12'`); err != nil {
		t.Errorf("marking a document seen: %v", err)
	}
	// A document released by nobody, or a practitioner unknown, is refused.
	if _, err := db.Exec(`UPDATE documents SET released_utc = 1 WHERE id = ?`, sqlite.DemoDocumentBiopsy); err == nil {
		t.Error("a release without a practitioner was accepted")
	}
}

// TestDocumentContentTampered: bytes that no longer match their row answer
// ErrInternal, never other bytes.
func TestDocumentContentTampered(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	db := rawDB(t, path)
	// The append-only trigger goes first, as a person with the file would.
	for _, q := range []string{
		`DROP TRIGGER document_files_no_update`,
		`UPDATE document_files SET content = CAST(replace(CAST(content AS TEXT), 'Bilan', 'BILAN') AS BLOB) WHERE document = 'doc-demo-bilan-12' AND position = 0`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, b, err := s.Documents().DocumentContent(asPatient(context.Background(), sqlite.DemoPatientLucasBernard), "doc-demo-bilan-12")
	if portal.Code(err) != portal.ErrInternal || b != nil {
		t.Errorf("DocumentContent of tampered bytes: %d bytes, %v", len(b), err)
	}
}
