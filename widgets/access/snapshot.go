package access

import (
	"context"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// Snapshot is the state of the widget's first screen, computed by the host
// while rendering the document (Preload) and handed to the browser, which
// starts from it. It holds the signed-in patient's own data only.
type Snapshot struct {
	Establishment  portal.Establishment   `json:"establishment"`
	Establishments []portal.Establishment `json:"establishments,omitempty"`
	Patient        *portal.Patient        `json:"patient,omitempty"`
	Practitioner   *portal.Practitioner   `json:"practitioner,omitempty"`
	DemoPatients   []portal.Patient       `json:"demo_patients,omitempty"`
	DemoChoice     string                 `json:"demo_choice,omitempty"`
	Log            []client.AccessEntry   `json:"log,omitempty"`
	Next           string                 `json:"next,omitempty"`
	Grants         []portal.Grant         `json:"grants,omitempty"`
	SignIn         []widgets.SignInLink   `json:"signin,omitempty"`
	// Pages is how many pages of the log Log holds.
	Pages int `json:"pages,omitempty"`

	// The screen shown after a form post (Serve): a professional found
	// to confirm (Found, through FoundIn), a grant to revoke (Revoking),
	// or the first screen with what the patient typed and the field's
	// error, or the post's error.
	Screen    Screen               `json:"screen,omitempty"`
	Found     *portal.Practitioner `json:"found,omitempty"`
	FoundIn   string               `json:"found_in,omitempty"`
	Revoking  *portal.Grant        `json:"revoking,omitempty"`
	RPPS      string               `json:"rpps,omitempty"`
	RPPSErr   string               `json:"rpps_error,omitempty"`
	Choice    string               `json:"choice,omitempty"`
	ChoiceErr string               `json:"choice_error,omitempty"`
	Notice    string               `json:"notice,omitempty"`
	Err       portal.ErrorCode     `json:"error,omitempty"`
	ErrText   string               `json:"error_text,omitempty"`
}

// Preload runs the start of the flow on the server against b, as the
// browser would, and returns the snapshot of the first screen, or nil when
// a call failed or ctx ended (the host then serves the loading skeleton).
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
		Establishment: m.Est, Establishments: m.Establishments,
		Patient: m.Patient, Practitioner: m.Practitioner,
		DemoPatients: m.DemoPatients, DemoChoice: m.DemoChoice,
		Log: m.Log, Next: m.Next, Grants: m.Grants, SignIn: m.SignIn, Pages: m.pages,
		RPPS: m.RPPS, RPPSErr: m.RPPSErr, Choice: m.Choice, ChoiceErr: m.ChoiceErr,
		Notice: m.Notice, Err: m.Err, ErrText: m.ErrText,
	}
	switch {
	case m.Screen == ScreenConfirmGrant && m.Found != nil:
		s.Screen, s.Found, s.FoundIn = m.Screen, m.Found, m.FoundIn
	case m.Screen == ScreenConfirmRevoke && m.Revoking != nil:
		s.Screen, s.Revoking = m.Screen, m.Revoking
	}
	if m.Practitioner != nil {
		// A practitioner sees a message only: nothing else leaves the host.
		s.Establishments = nil
	}
	return s
}

// Hydrate sets the model from the host's snapshot of the first screen.
func (m *Model) Hydrate(s *Snapshot) {
	if s == nil {
		return
	}
	m.Loading = false
	m.Screen = ScreenHome
	m.SignIn = s.SignIn
	m.Est, m.Establishments = s.Establishment, s.Establishments
	m.Patient, m.Practitioner = s.Patient, s.Practitioner
	if m.Patient != nil {
		m.Practitioner = nil
	}
	m.DemoPatients, m.DemoChoice = s.DemoPatients, s.DemoChoice
	m.Log, m.Next, m.Grants, m.pages = s.Log, s.Next, s.Grants, s.Pages
	m.RPPS, m.RPPSErr, m.Choice, m.ChoiceErr = s.RPPS, s.RPPSErr, s.Choice, s.ChoiceErr
	m.Notice, m.Err, m.ErrText = s.Notice, s.Err, s.ErrText
	switch {
	case s.Screen == ScreenConfirmGrant && s.Found != nil && m.Patient != nil:
		m.Screen, m.Found, m.FoundIn = s.Screen, s.Found, s.FoundIn
	case s.Screen == ScreenConfirmRevoke && s.Revoking != nil && m.Patient != nil:
		m.Screen, m.Revoking = s.Screen, s.Revoking
	}
}

// ErrCode is the error the screen shows, "" for none: the host records a
// form post whose screen shows one as the API would have answered it.
func (s *Snapshot) ErrCode() portal.ErrorCode { return s.Err }
