package documents

import (
	"context"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// Snapshot is the state of the widget's first screen, computed by the host
// while rendering the document (Preload) and handed to the browser, which
// starts from it: no second fetch, no flash, the server's DOM is kept.
type Snapshot struct {
	Establishment     portal.Establishment   `json:"establishment"`
	Services          []portal.Service       `json:"services"`
	Patient           *portal.Patient        `json:"patient,omitempty"`
	Practitioner      *portal.Practitioner   `json:"practitioner,omitempty"`
	DemoPatients      []portal.Patient       `json:"demo_patients,omitempty"`
	DemoPractitioners []portal.Practitioner  `json:"demo_practitioners,omitempty"`
	DemoChoice        string                 `json:"demo_choice,omitempty"`
	Documents         []portal.Document      `json:"documents,omitempty"`
	Analytes          []Analyte              `json:"analytes,omitempty"`
	Establishments    []portal.Establishment `json:"establishments,omitempty"`
	Missing           []string               `json:"missing,omitempty"`
	// SignIn are the host's sign-in buttons.
	SignIn      []widgets.SignInLink `json:"signin,omitempty"`
	MaxDocument int64                `json:"max_document,omitempty"`
	// The screen shown after a form post (Serve): a document of Documents
	// (Open, its id) or a trend; the list otherwise.
	Screen Screen        `json:"screen,omitempty"`
	Open   string        `json:"open,omitempty"`
	Trend  *portal.Trend `json:"trend,omitempty"`
	// An error of a form post (the trend asked could not be fetched, the
	// upload or the release not made).
	Err     portal.ErrorCode `json:"error,omitempty"`
	ErrText string           `json:"error_text,omitempty"`
	// OpenDoc is the open document when the list no longer holds it (a
	// practitioner's list of held documents, one just released).
	OpenDoc *portal.Document `json:"open_document,omitempty"`
	// Confirming: the release of the open document asked, to confirm.
	Confirming bool `json:"confirming,omitempty"`
	// Zoom is the open document's image zoom level (an index of the
	// widget's levels).
	Zoom int `json:"zoom,omitempty"`
	// The upload form after a form post that stored nothing (the title
	// kept, the problems found), the client id of the form, the service
	// chosen, and the notice.
	Title      string `json:"title,omitempty"`
	TitleErr   string `json:"title_error,omitempty"`
	FileErr    string `json:"file_error,omitempty"`
	Service    string `json:"service,omitempty"`
	FormUpload string `json:"upload_id,omitempty"`
	Notice     string `json:"notice,omitempty"`
	// The list's filters after a form post: the type, the title search,
	// and for a practitioner every document rather than the held ones.
	Type    portal.DocumentType `json:"type,omitempty"`
	Search  string              `json:"search,omitempty"`
	AllDocs bool                `json:"all_documents,omitempty"`
}

// Preload runs the start of the flow on the server against b, as the
// browser would, and returns the snapshot of the first screen. It returns
// nil when a call failed or ctx ended: the host then serves the loading
// skeleton and the browser loads everything itself.
func Preload(ctx context.Context, m *Model, b Backend) *Snapshot {
	cmd := m.Apply(Action{Kind: Start})
	if cmd == nil || ctx.Err() != nil {
		return nil
	}
	m.Apply(cmd(ctx, b))
	if m.Err != "" || m.Loading || ctx.Err() != nil {
		return nil
	}
	return m.snapshot()
}

func (m *Model) snapshot() *Snapshot {
	s := &Snapshot{
		Establishment: m.Est, Services: m.Services, Patient: m.Patient, Practitioner: m.Practitioner,
		DemoPatients: m.DemoPatients, DemoPractitioners: m.DemoPractitioners, DemoChoice: m.DemoChoice,
		Documents: m.Docs, Analytes: m.Analytes, MaxDocument: m.MaxDocument,
		Establishments: m.Establishments, Missing: m.Missing,
		SignIn: m.SignIn, Err: m.Err, ErrText: m.ErrText,
		Service: m.Service, FormUpload: m.FormUpload, Notice: m.Notice,
		Type: m.Type, Search: m.Search, AllDocs: m.Practitioner != nil && !m.HeldOnly,
	}
	switch {
	case m.Screen == ScreenDocument && m.Open != nil:
		s.Screen, s.Open, s.Confirming, s.Zoom = ScreenDocument, m.Open.ID, m.Confirming, m.Zoom
		if m.doc(m.Open.ID) == nil {
			s.OpenDoc = m.Open
		}
	case m.Screen == ScreenTrend && m.Trend != nil:
		s.Screen, s.Trend = ScreenTrend, m.Trend
	case m.Screen == ScreenUpload:
		s.Screen, s.Title, s.TitleErr, s.FileErr = ScreenUpload, m.Title, m.TitleErr, m.FileErr
	}
	return s
}

// Hydrate sets the model from the host's snapshot of the first screen.
func (m *Model) Hydrate(s *Snapshot) {
	if s == nil {
		return
	}
	m.Loading = false
	m.Screen = ScreenList
	m.SignIn = s.SignIn
	m.Est, m.Services = s.Establishment, s.Services
	m.Patient, m.Practitioner = s.Patient, s.Practitioner
	if m.Patient != nil {
		m.Practitioner = nil
	}
	m.DemoPatients, m.DemoPractitioners, m.DemoChoice = s.DemoPatients, s.DemoPractitioners, s.DemoChoice
	m.Docs, m.Analytes = s.Documents, s.Analytes
	if m.Merged {
		m.Establishments, m.Missing = s.Establishments, s.Missing
	}
	if s.MaxDocument > 0 {
		m.MaxDocument = s.MaxDocument
	}
	m.Err, m.ErrText = s.Err, s.ErrText
	switch {
	case s.Screen == ScreenDocument && m.doc(s.Open) != nil:
		d := *m.doc(s.Open)
		m.Screen, m.Open = ScreenDocument, &d
	case s.Screen == ScreenDocument && s.OpenDoc != nil && s.OpenDoc.ID == s.Open && m.signedIn():
		d := *s.OpenDoc
		m.Screen, m.Open = ScreenDocument, &d
	case s.Screen == ScreenTrend && s.Trend != nil && m.Patient != nil:
		m.Screen, m.Trend = ScreenTrend, s.Trend
	case s.Screen == ScreenUpload && m.Patient != nil:
		m.Screen, m.Title, m.TitleErr, m.FileErr = ScreenUpload, s.Title, s.TitleErr, s.FileErr
	}
	m.Confirming = s.Confirming && m.Screen == ScreenDocument && m.Practitioner != nil
	if m.Screen == ScreenDocument {
		m.Zoom = zoomLevel(s.Zoom)
	}
	m.Service, m.FormUpload, m.Notice = s.Service, s.FormUpload, s.Notice
	if s.Type == "" || s.Type.Valid() {
		m.Type = s.Type
	}
	m.Search = s.Search
	m.HeldOnly = !(s.AllDocs && m.Practitioner != nil)
}

// ErrCode is the error the screen shows, "" for none: the host records a
// form post whose screen shows one as the API would have answered it.
func (s *Snapshot) ErrCode() portal.ErrorCode { return s.Err }
