package booking

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// FormState is what a server-rendered widget carries from one form post to
// the next (in a hidden field) so that it works before its Wasm has arrived,
// or where WebAssembly is blocked. It holds choices only; the data (services,
// slots, appointments) is fetched again by the host on each post, and every
// decision is the backend's, so a tampered state can only change what its own
// patient sees.
type FormState struct {
	Step Step `json:"st,omitempty"`
	// Establishment is a merged widget's chosen establishment.
	Establishment string    `json:"es,omitempty"`
	Service       string    `json:"sv,omitempty"`
	Practitioner  string    `json:"pr,omitempty"`
	Window        time.Time `json:"w,omitzero"`
	Day           string    `json:"d,omitempty"` // the chosen day's date (Day.Key)
	Slot          string    `json:"sl,omitempty"`
	BookKey       string    `json:"k,omitempty"`
	Appointment   string    `json:"ap,omitempty"`
	ConfirmCancel string    `json:"cc,omitempty"`
	// Person is the patient the form was drawn for: posted after another
	// person's sign-in (another tab), it is not applied for them.
	Person string `json:"pe,omitempty"`
}

// MaxFormState bounds the encoded state.
const MaxFormState = 2048

// FormState returns the state to carry in the next form.
func (m *Model) FormState() FormState {
	est := ""
	if m.Merged {
		est = m.Establishment
	}
	return FormState{
		Step: m.Step, Establishment: est, Service: m.Service, Practitioner: m.Practitioner, Window: m.Window, Day: m.dayKey(),
		Slot: m.Slot.ID, BookKey: m.bookKey, Appointment: m.Appointment.ID, ConfirmCancel: m.ConfirmCancel,
		Person: m.patientID(),
	}
}

// patientID is the signed-in patient's id, "" for none.
func (m *Model) patientID() string {
	if m.Patient == nil {
		return ""
	}
	return m.Patient.ID
}

// EncodeFormState is the hidden field's value.
func (m *Model) EncodeFormState() string {
	b, _ := wirejson.Marshal(m.FormState()) // a struct of strings, ints and a time: cannot fail
	return string(b)
}

// ParseFormState reads a hidden field's value. An empty value is the
// initial state.
func ParseFormState(s string) (FormState, error) {
	st, err := ui.DecodeState[FormState](s, MaxFormState)
	if err != nil {
		return st, err
	}
	switch st.Step {
	case "", StepEstablishment, StepService, StepSlots, StepConfirm, StepDone, StepMine:
	default:
		return st, errors.New("unknown step")
	}
	if len(st.Establishment) > 64 {
		return st, errors.New("establishment too long")
	}
	if len(st.Person) > 128 {
		return st, errors.New("person too long")
	}
	if st.Day != "" {
		if _, err := time.Parse(time.DateOnly, st.Day); err != nil {
			return st, errors.New("malformed day")
		}
	}
	if st.BookKey != "" && portal.ValidateIdempotencyKey(st.BookKey) != nil {
		return st, errors.New("malformed booking key")
	}
	return st, nil
}

// Post is one form post of the server-rendered widget: the state it carried,
// the action of the button pressed ("choose-slot:sl-…") and the values of its
// selects.
type Post struct {
	State        FormState
	Action       string
	Practitioner string // the practitioner select
	DemoPatient  string // the demo sign-in select
}

// MaxServerSteps bounds the calls one post makes.
const MaxServerSteps = 8

// Serve runs a form post on the server: it restores the model from the
// posted state (fetching the data again), applies the action with the same
// state machine the browser runs, and leaves m ready to render. It returns
// the snapshot the browser hydrates from.
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	run := func(cmd Cmd) { ui.Settle(ctx, b, cmd, m.Apply, MaxServerSteps) }
	st := p.State
	if m.Merged && st.Establishment != "" {
		// The establishment chosen before; the backend says if it exists.
		m.Establishment = st.Establishment
		m.Step = StepService
	}
	run(m.Apply(Action{Kind: Start}))
	if m.Err != "" {
		return nil
	}
	if st.Person != "" && m.Patient != nil && m.Patient.ID != st.Person {
		// Drawn for another patient than the session's now (a sign-in in
		// another tab of the browser): nothing of it is done for this one.
		m.Err, m.ErrText = portal.ErrSessionChanged, portal.ErrSessionChanged.Message(m.Lang)
		return m.snapshot()
	}
	// Restore the choices, re-fetching what they show.
	if st.Service != "" && m.service(st.Service) != nil && st.Step != StepService && st.Step != "" {
		m.Service = st.Service
		m.Practitioner = ""
		if m.practitioner(st.Practitioner) != nil {
			m.Practitioner = st.Practitioner
		}
		m.Window = m.startOfWindow()
		if !st.Window.IsZero() && st.Window.After(m.Window) && st.Window.Before(m.Window.AddDate(1, 0, 0)) {
			m.Window = st.Window
		}
		m.Step = StepSlots
		run(m.call(Action{Kind: ChooseDay}, m.loadSlots))
		m.Apply(Action{Kind: ChooseDay, ID: st.Day})
		if st.Step == StepConfirm && st.Slot != "" {
			m.Apply(Action{Kind: ChooseSlot, ID: st.Slot})
			if m.Step != StepConfirm && p.Action == string(Confirm) && st.BookKey != "" {
				// The slot is no longer free: maybe this very confirmation was
				// sent before (a resubmitted form). The backend decides: the
				// same key answers the appointment made; another patient's
				// booking answers slot_unavailable.
				m.Slot, m.Step = portal.Slot{ID: st.Slot, Service: st.Service}, StepConfirm
			}
			if m.Step == StepConfirm && st.BookKey != "" {
				m.bookKey = st.BookKey // the same booking intent: retries stay idempotent
			}
		}
	}
	if st.Step == StepDone && st.Appointment != "" {
		apt, err := b.Appointment(ctx, st.Appointment)
		if err == nil {
			m.Appointment, m.Step = apt, StepDone
		}
	}
	if st.Step == StepMine {
		run(m.Apply(Action{Kind: ShowMine}))
		m.ConfirmCancel = st.ConfirmCancel
	}
	m.clearError()
	m.Notice = ""

	// The action of the pressed button.
	kind, arg, _ := strings.Cut(p.Action, ":")
	a := Action{Kind: Kind(kind), ID: arg}
	switch a.Kind {
	case ChoosePractitioner:
		if arg == "" {
			a.ID = p.Practitioner
		}
	case SignIn:
		if p.DemoPatient != "" {
			m.DemoChoice = p.DemoPatient
		}
	case loaded, slotsLoaded, signedIn, signedOut, booked, mineLoaded, cancelled, sessionKept:
		a.Kind = "" // results of calls are never posted
	}
	run(m.Apply(a))
	return m.snapshot()
}
