package documents

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// fake answers the calls the model's effects make in these tests; the
// rest are not called.
type fake struct {
	Backend
	uploads []portal.NewUpload
	fail    error
}

func (f *fake) UploadDocument(_ context.Context, u portal.NewUpload) (portal.Document, error) {
	f.uploads = append(f.uploads, u)
	if f.fail != nil {
		return portal.Document{}, f.fail
	}
	return portal.Document{ID: "doc-up", Title: u.Title, Type: portal.DocPatientDocument, Date: time.Now()}, nil
}

func (f *fake) Documents(context.Context, string, portal.DocumentFilter) ([]portal.Document, error) {
	return []portal.Document{{ID: "doc-other-person"}}, nil
}

func (f *fake) Analytes(context.Context, string) ([]portal.Analyte, error) { return nil, nil }

func (f *fake) MarkDocumentSeen(context.Context, string) error { return f.fail }

func patientModel(docs ...portal.Document) *Model {
	m := NewModel("fr", "est")
	m.Loading = false
	m.Patient = &portal.Patient{ID: "pat-a"}
	m.Services = []portal.Service{{ID: "svc"}}
	m.Docs = docs
	return m
}

var pdf = []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

// run applies a and follows its effects against b until none is left.
func run(m *Model, b Backend, a Action) {
	for cmd := m.Apply(a); cmd != nil; {
		cmd = m.Apply(cmd(context.Background(), b))
	}
}

func TestARetriedUploadKeepsItsClientIDUntilTheFormChanges(t *testing.T) {
	m := patientModel()
	b := &fake{fail: portal.Errorf(portal.ErrBackendUnavailable, "down")}
	m.Apply(Action{Kind: Compose})
	m.Apply(Action{Kind: TypeTitle, Value: "Ordonnance"})
	m.Apply(Action{Kind: AddFile, Seq: m.Seq(), Files: []File{{Name: "o.pdf", Content: pdf, Size: int64(len(pdf))}}})
	run(m, b, Action{Kind: Upload})
	if m.Err == "" || m.File == nil {
		t.Fatalf("a failed upload: err %q, file kept %v", m.Err, m.File != nil)
	}
	run(m, b, Action{Kind: Retry})
	if len(b.uploads) != 2 || b.uploads[0].ClientID != b.uploads[1].ClientID {
		t.Fatalf("a retry changed the client id: %+v", b.uploads)
	}
	// Another title is another upload.
	m.Apply(Action{Kind: TypeTitle, Value: "Ordonnance du Dr X"})
	b.fail = nil
	run(m, b, Action{Kind: Upload})
	if len(b.uploads) != 3 || b.uploads[2].ClientID == b.uploads[1].ClientID {
		t.Fatalf("a changed form kept the client id: %+v", b.uploads)
	}
	if m.Screen != ScreenList || m.File != nil || m.Title != "" || len(m.Docs) != 1 {
		t.Fatalf("after the upload: screen %s, file %v, title %q, %d docs", m.Screen, m.File, m.Title, len(m.Docs))
	}
	if b.uploads[2].File.ContentType != portal.ContentTypePDF {
		t.Errorf("uploaded as %q", b.uploads[2].File.ContentType)
	}
}

func TestAFileReadForALeftScreenIsDropped(t *testing.T) {
	m := patientModel()
	m.Apply(Action{Kind: Compose})
	seq := m.Seq()
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: Compose})
	m.Apply(Action{Kind: AddFile, Seq: seq, Files: []File{{Name: "o.pdf", Content: pdf, Size: int64(len(pdf))}}})
	if m.File != nil {
		t.Fatal("a file chosen on a screen left since was attached")
	}
}

func TestAnAnswerAfterSignOutIsDropped(t *testing.T) {
	m := patientModel(portal.Document{ID: "doc-a"})
	cmd := m.Apply(Action{Kind: Refresh})
	if cmd == nil {
		t.Fatal("no refresh")
	}
	// The person signs out while the refresh is on its way.
	m.Apply(Action{Kind: signedOut})
	m.Apply(cmd(context.Background(), &fake{}))
	if len(m.Docs) != 0 {
		t.Fatalf("the previous person's refresh filled the list: %+v", m.Docs)
	}
}

func TestOpeningMarksSeenAndAFailureKeepsItNew(t *testing.T) {
	m := patientModel(portal.Document{ID: "doc-a", New: true})
	run(m, &fake{fail: errors.New("network is unreachable")}, Action{Kind: Open, ID: "doc-a"})
	if !m.Docs[0].New {
		t.Error("a failed mark shows the document as read")
	}
	run(m, &fake{}, Action{Kind: Open, ID: "doc-a"})
	if m.Docs[0].New || m.Open.New || m.NewCount() != 0 {
		t.Error("an opened document is still new")
	}
}

func TestAReleasedDocumentLeavesTheHeldList(t *testing.T) {
	m := NewModel("fr", "est")
	m.Loading = false
	m.Practitioner = &portal.Practitioner{ID: "pr-a"}
	held := portal.Document{ID: "doc-h", Sensitive: true, Release: portal.ReleaseHeld}
	m.Docs = []portal.Document{held}
	m.Apply(Action{Kind: Open, ID: "doc-h"})
	if m.Apply(Action{Kind: ConfirmRel}) != nil {
		t.Fatal("released without confirmation")
	}
	m.Apply(Action{Kind: Release})
	if m.Apply(Action{Kind: ConfirmRel}) == nil {
		t.Fatal("confirmed, nothing released")
	}
	rel := held
	rel.Release = portal.ReleaseReleased
	m.Apply(Action{Kind: released, seq: m.seq, doc: rel})
	if len(m.Docs) != 0 || m.Open.Release != portal.ReleaseReleased || len(m.Events) != 1 {
		t.Fatalf("after release: %d held, open %s, events %+v", len(m.Docs), m.Open.Release, m.Events)
	}
}

func TestListFiltersAndCounts(t *testing.T) {
	m := patientModel(
		portal.Document{ID: "a", Type: portal.DocLabReport, Title: "Bilan sanguin", New: true},
		portal.Document{ID: "b", Type: portal.DocConsultationReport, Title: "Consultation d’endocrinologie"},
		portal.Document{ID: "c", Type: portal.DocLabReport, Title: "Bilan rénal"},
	)
	m.Apply(Action{Kind: FilterType, Value: "lab_report"})
	m.Apply(Action{Kind: SearchTitle, Value: "RENAL"})
	if got := m.Listed(); len(got) != 1 || got[0].ID != "c" {
		t.Fatalf("listed %+v", got)
	}
	m.Apply(Action{Kind: FilterType, Value: "x-ray"})
	if m.Type != portal.DocLabReport {
		t.Errorf("an unknown type replaced the filter: %q", m.Type)
	}
	if m.NewCount() != 1 {
		t.Errorf("new %d", m.NewCount())
	}
}

// twoSites is a host serving two establishments, "ch-nord" down.
type twoSites struct {
	Backend
	trendFrom string
	uploadTo  string
}

func (twoSites) Establishments(context.Context) ([]portal.Establishment, error) {
	return []portal.Establishment{{ID: "chu", Name: "CHU"}, {ID: "ch-nord", Name: "CH Nord"}}, nil
}
func (twoSites) Services(_ context.Context, est string) ([]portal.Service, error) {
	return []portal.Service{{ID: "maternite", Establishment: est}}, nil
}
func (twoSites) CurrentPatient(context.Context) (*portal.Patient, error) {
	return &portal.Patient{ID: "pat-a"}, nil
}
func (twoSites) CurrentPractitioner(context.Context) (*portal.Practitioner, error) { return nil, nil }
func (twoSites) Documents(_ context.Context, est string, _ portal.DocumentFilter) ([]portal.Document, error) {
	if est == "ch-nord" {
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "down")
	}
	day := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	return []portal.Document{{ID: "chu~a", Establishment: est, Date: day}, {ID: "chu~b", Establishment: est, Date: day.AddDate(0, 0, 5)}}, nil
}
func (twoSites) Analytes(_ context.Context, est string) ([]portal.Analyte, error) {
	return []portal.Analyte{{Code: "4548-4", Count: 3}}, nil
}
func (s *twoSites) Trend(_ context.Context, est, code string) (portal.Trend, error) {
	s.trendFrom = est
	return portal.Trend{Code: code}, nil
}
func (s *twoSites) UploadDocument(_ context.Context, u portal.NewUpload) (portal.Document, error) {
	s.uploadTo = u.Establishment + "/" + u.Service
	return portal.Document{ID: "chu~up", Establishment: u.Establishment}, nil
}

func TestMergedWidgetListsEveryEstablishment(t *testing.T) {
	b := &twoSites{}
	m := NewModel("fr", "")
	if !m.Merged {
		t.Fatal("no establishment, not merged")
	}
	run(m, b, Action{Kind: Start})
	if m.Err != "" || len(m.Docs) != 2 || m.Docs[0].ID != "chu~b" {
		t.Fatalf("merged list: err %q, docs %+v", m.Err, m.Docs)
	}
	if len(m.Missing) != 1 || m.Missing[0] != "ch-nord" {
		t.Errorf("missing %v, want ch-nord", m.Missing)
	}
	c := &Documents{M: m}
	if got := c.MissingText(); !strings.Contains(got, "CH Nord") {
		t.Errorf("notice %q", got)
	}
	if got := c.DocMeta(m.Docs[0]); !strings.Contains(got, "CHU") {
		t.Errorf("meta %q lacks its establishment", got)
	}
	// Each analyte is of its establishment; its trend is asked there.
	if len(m.Analytes) != 1 || m.Analytes[0].Establishment != "chu" {
		t.Fatalf("analytes %+v", m.Analytes)
	}
	run(m, b, Action{Kind: ShowTrend, ID: "4548-4", Value: "chu"})
	if b.trendFrom != "chu" {
		t.Errorf("trend asked of %q", b.trendFrom)
	}
	// An upload goes to the chosen service's establishment.
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: Compose})
	if len(m.Services) != 2 {
		t.Fatalf("services of both establishments: %+v", m.Services)
	}
	m.Apply(Action{Kind: ChooseService, Value: "ch-nord/maternite"})
	m.Apply(Action{Kind: TypeTitle, Value: "Ordonnance"})
	m.Apply(Action{Kind: AddFile, Seq: m.Seq(), Files: []File{{Name: "o.pdf", Content: pdf, Size: int64(len(pdf))}}})
	run(m, b, Action{Kind: Upload})
	if b.uploadTo != "ch-nord/maternite" {
		t.Errorf("uploaded to %q", b.uploadTo)
	}
}

// sessionFake has a session opened outside the widget ("" for nobody).
type sessionFake struct {
	fake
	patient, pract string
}

func (*sessionFake) Establishment(_ context.Context, id string) (portal.Establishment, error) {
	return portal.Establishment{ID: id}, nil
}
func (*sessionFake) Services(context.Context, string) ([]portal.Service, error) { return nil, nil }
func (*sessionFake) DemoPatients(context.Context) ([]portal.Patient, error)     { return nil, nil }
func (*sessionFake) DemoPractitioners(context.Context) ([]portal.Practitioner, error) {
	return nil, nil
}
func (f *sessionFake) CurrentPatient(context.Context) (*portal.Patient, error) {
	if f.patient == "" {
		return nil, nil
	}
	return &portal.Patient{ID: f.patient}, nil
}
func (f *sessionFake) CurrentPractitioner(context.Context) (*portal.Practitioner, error) {
	if f.pract == "" {
		return nil, nil
	}
	return &portal.Practitioner{ID: f.pract}, nil
}

func TestSessionChanged(t *testing.T) {
	signedOut := func() *Model {
		m := NewModel("fr", "est")
		m.Loading = false
		m.DemoPatients = []portal.Patient{{ID: "demo"}}
		return m
	}
	m := signedOut()
	run(m, &sessionFake{}, Action{Kind: SessionChanged})
	if m.Loading || m.signedIn() || m.Err != "" || len(m.DemoPatients) != 1 || m.Notice != "" {
		t.Fatalf("nobody: loading %v patient %v practitioner %v err %q notice %q", m.Loading, m.Patient, m.Practitioner, m.Err, m.Notice)
	}
	// A patient's session comes first, as on load.
	run(m, &sessionFake{patient: "pat-a", pract: "pr-a"}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient == nil || m.Patient.ID != "pat-a" || m.Practitioner != nil || len(m.Docs) != 1 || m.Notice == "" {
		t.Fatalf("patient: loading %v patient %v practitioner %v docs %d notice %q", m.Loading, m.Patient, m.Practitioner, len(m.Docs), m.Notice)
	}
	m = signedOut()
	run(m, &sessionFake{pract: "pr-a"}, Action{Kind: SessionChanged})
	if m.Practitioner == nil || m.Patient != nil || len(m.Docs) != 1 {
		t.Fatalf("practitioner: patient %v practitioner %v docs %d", m.Patient, m.Practitioner, len(m.Docs))
	}

	// An answer for a screen since left is dropped.
	m = signedOut()
	cmd := m.Apply(Action{Kind: SessionChanged})
	late := cmd(context.Background(), &sessionFake{patient: "pat-a"})
	m.Apply(Action{Kind: Start})
	m.Apply(late)
	if m.Patient != nil {
		t.Fatal("a late session answer was taken")
	}
}

func TestSignInLinksSurviveTheSnapshot(t *testing.T) {
	links := []widgets.SignInLink{
		{Kind: "patient", Label: [2]string{"Connexion", "Sign in"}, URL: "/auth/signin?provider=idp"},
		{Kind: "practitioner", Label: [2]string{"Connexion pro", "Pro sign-in"}, URL: "/auth/signin?provider=pro"},
	}
	m := NewModel("fr", "est")
	m.SignIn = links
	s := Preload(context.Background(), m, &sessionFake{})
	if s == nil {
		t.Fatal("no snapshot")
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	h := NewModel("fr", "est")
	h.Hydrate(&back)
	if len(h.SignIn) != 2 || h.SignIn[0] != links[0] || h.SignIn[1] != links[1] {
		t.Fatalf("hydrated links %v", h.SignIn)
	}
}

// TestAnUploadAnsweredAfterTheUploaderLeftStaysTheirs: A's upload answers
// after A signed out and B signed in on the same device: B's list does not
// show A's document, B's upload form keeps what B typed, and A's lost
// session does not sign B out.
func TestAnUploadAnsweredAfterTheUploaderLeftStaysTheirs(t *testing.T) {
	for _, fail := range []error{nil, portal.Errorf(portal.ErrUnauthenticated, "A's session ended")} {
		m := patientModel(portal.Document{ID: "doc-a"})
		m.Apply(Action{Kind: Compose})
		m.Apply(Action{Kind: TypeTitle, Value: "IRM de A"})
		m.Apply(Action{Kind: AddFile, Seq: m.Seq(), Files: []File{{Name: "irm.pdf", Content: pdf, Size: int64(len(pdf))}}})
		upload := m.Apply(Action{Kind: Upload})
		if upload == nil {
			t.Fatal("no upload")
		}
		m.Apply(Action{Kind: signedOut})
		m.Apply(Action{Kind: loaded, seq: m.seq, patients: []portal.Patient{{ID: "pat-b"}}})
		m.DemoChoice = "pat-b"
		m.Apply(Action{Kind: SignIn})
		m.Apply(Action{Kind: signedIn, seq: m.seq, patient: &portal.Patient{ID: "pat-b"}, docs: []portal.Document{{ID: "doc-b"}}})
		m.Apply(Action{Kind: Compose})
		m.Apply(Action{Kind: TypeTitle, Value: "Ordonnance de B"})

		m.Apply(upload(context.Background(), &fake{fail: fail}))
		if m.Patient == nil || m.Patient.ID != "pat-b" || m.Screen != ScreenUpload || m.Err != "" {
			t.Fatalf("fail %v: B's widget: patient %v, screen %s, err %q", fail, m.Patient, m.Screen, m.Err)
		}
		if len(m.Docs) != 1 || m.Docs[0].ID != "doc-b" {
			t.Fatalf("fail %v: B's list shows %+v", fail, m.Docs)
		}
		if m.Title != "Ordonnance de B" {
			t.Fatalf("fail %v: B's form holds %q", fail, m.Title)
		}
	}
}
