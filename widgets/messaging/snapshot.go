package messaging

import (
	"context"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Snapshot is the state of the widget's first screen, computed by the host
// while rendering the document (Preload) and handed to the browser, which
// starts from it: no second fetch, no flash, the server's DOM is kept.
type Snapshot struct {
	Side              Side                   `json:"side"`
	Establishment     portal.Establishment   `json:"establishment"`
	Services          []portal.Service       `json:"services"`
	Patient           *portal.Patient        `json:"patient,omitempty"`
	Practitioner      *portal.Practitioner   `json:"practitioner,omitempty"`
	DemoPatients      []portal.Patient       `json:"demo_patients,omitempty"`
	DemoPractitioners []portal.Practitioner  `json:"demo_practitioners,omitempty"`
	DemoChoice        string                 `json:"demo_choice,omitempty"`
	Threads           []portal.Thread        `json:"threads,omitempty"`
	NewService        string                 `json:"new_service,omitempty"`
	MaxAttachment     int64                  `json:"max_attachment,omitempty"`
	Establishments    []portal.Establishment `json:"establishments,omitempty"`
	Missing           []string               `json:"missing,omitempty"`
	// SignIn are the host's sign-in buttons.
	SignIn []widgets.SignInLink `json:"signin,omitempty"`
	// The screen shown after a form post (Serve): a thread, opened, or a
	// new thread's form; the list otherwise.
	Screen Screen               `json:"screen,omitempty"`
	Conv   *portal.Conversation `json:"conversation,omitempty"`
	// An error of a form post (the thread could not be opened, the
	// message not sent).
	Err     portal.ErrorCode `json:"error,omitempty"`
	ErrText string           `json:"error_text,omitempty"`
	// The composer after a form post that sent nothing (the text kept, the
	// problems found), the client id of its form, and the notice.
	Subject    string `json:"subject,omitempty"`
	Body       string `json:"body,omitempty"`
	SubjectErr string `json:"subject_error,omitempty"`
	FormErr    string `json:"form_error,omitempty"`
	FileErr    string `json:"file_error,omitempty"`
	FormClient string `json:"client_id,omitempty"`
	Notice     string `json:"notice,omitempty"`
	// Filter is the care team's inbox tab.
	Filter portal.ThreadStatus `json:"filter,omitempty"`
}

// MaxPreloadSteps bounds the calls Preload makes.
const MaxPreloadSteps = 2

// Preload runs the start of the flow on the server against b, as the
// browser would, and returns the snapshot of the first screen. It returns
// nil when a call failed or ctx ended: the host then serves the loading
// skeleton and the browser loads everything itself.
func Preload(ctx context.Context, m *Model, b Backend) *Snapshot {
	if !ui.Settle(ctx, b, m.Apply(Action{Kind: Start}), m.Apply, MaxPreloadSteps) {
		return nil
	}
	if m.Err != "" || m.Loading {
		return nil
	}
	return m.snapshot()
}

func (m *Model) snapshot() *Snapshot {
	s := &Snapshot{
		Side: m.Side, Establishment: m.Est, Services: m.Services, Patient: m.Patient, Practitioner: m.Practitioner,
		DemoPatients: m.DemoPatients, DemoPractitioners: m.DemoPractitioners, DemoChoice: m.DemoChoice,
		Threads: m.Threads, NewService: m.NewService, MaxAttachment: m.MaxAttachment,
		Establishments: m.Establishments, Missing: m.Missing,
		SignIn: m.SignIn, Err: m.Err, ErrText: m.ErrText,
		Body: m.Body, FormErr: m.FormErr, FileErr: m.FileErr, FormClient: m.FormClient, Notice: m.Notice,
		Filter: m.Filter,
	}
	switch {
	case m.Screen == ScreenThread && m.Conv != nil:
		s.Screen, s.Conv = ScreenThread, m.Conv
	case m.Screen == ScreenNew:
		s.Screen, s.Subject, s.SubjectErr = ScreenNew, m.Subject, m.SubjectErr
	}
	return s
}

// Hydrate sets the model from the host's snapshot of the first screen. A
// snapshot of the other side's widget is ignored (the model then loads).
func (m *Model) Hydrate(s *Snapshot) {
	if s == nil || s.Side != m.Side {
		return
	}
	m.Loading = false
	m.Screen = ScreenList
	m.SignIn = s.SignIn
	m.Est, m.Services = s.Establishment, s.Services
	m.Patient, m.Practitioner = s.Patient, s.Practitioner
	if m.Side == CareTeam {
		m.Patient = nil
	} else {
		m.Practitioner = nil
	}
	m.DemoPatients, m.DemoPractitioners, m.DemoChoice = s.DemoPatients, s.DemoPractitioners, s.DemoChoice
	m.Threads, m.NewService = s.Threads, s.NewService
	if m.Merged {
		m.Establishments, m.Missing = s.Establishments, s.Missing
	}
	if s.MaxAttachment > 0 {
		m.MaxAttachment = s.MaxAttachment
	}
	m.Err, m.ErrText = s.Err, s.ErrText
	switch {
	case s.Screen == ScreenThread && s.Conv != nil && m.signedIn():
		c := *s.Conv
		m.Screen = ScreenThread
		m.setConv(&c)
	case s.Screen == ScreenNew && m.Side == Patient && m.signedIn():
		m.Screen, m.Subject, m.SubjectErr = ScreenNew, s.Subject, s.SubjectErr
	}
	m.Body, m.FormErr, m.FileErr, m.FormClient, m.Notice = s.Body, s.FormErr, s.FileErr, s.FormClient, s.Notice
	if m.Side == CareTeam && s.Filter.Valid() {
		m.Filter = s.Filter
	}
}

// ErrCode is the error the screen shows, "" for none: the host records a
// form post whose screen shows one as the API would have answered it.
func (s *Snapshot) ErrCode() portal.ErrorCode { return s.Err }
