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
	s := &Snapshot{
		Establishment: m.Est, Establishments: m.Establishments,
		Patient: m.Patient, Practitioner: m.Practitioner,
		DemoPatients: m.DemoPatients, DemoChoice: m.DemoChoice,
		Log: m.Log, Next: m.Next, Grants: m.Grants, SignIn: m.SignIn,
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
	m.Log, m.Next, m.Grants = s.Log, s.Next, s.Grants
}
