package booking

import (
	"context"
	"slices"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Snapshot is the whole state of the widget's current screen. The host
// computes it while rendering a document (Preload for the first screen, Serve
// for a form post) and hands it to the browser in the document, so that the
// Wasm starts from the very state the patient already sees: no second fetch,
// no flash, the server's DOM is kept.
type Snapshot struct {
	Establishment portal.Establishment `json:"establishment"`
	// Establishments are a merged widget's choices.
	Establishments []portal.Establishment `json:"establishments,omitempty"`
	Services       []portal.Service       `json:"services"`
	Patient        *portal.Patient        `json:"patient,omitempty"`
	DemoPatients   []portal.Patient       `json:"demo_patients,omitempty"`
	DemoChoice     string                 `json:"demo_choice,omitempty"`
	Step           Step                   `json:"step"`
	Service        string                 `json:"service,omitempty"`
	Practitioner   string                 `json:"practitioner,omitempty"`
	Window         time.Time              `json:"window,omitzero"`
	Slots          []portal.Slot          `json:"slots,omitempty"`
	Day            string                 `json:"day,omitempty"` // Day.Key
	Slot           *portal.Slot           `json:"slot,omitempty"`
	BookKey        string                 `json:"book_key,omitempty"`
	Appointment    *portal.Appointment    `json:"appointment,omitempty"`
	Mine           []portal.Appointment   `json:"mine,omitempty"`
	ConfirmCancel  string                 `json:"confirm_cancel,omitempty"`
	Err            portal.ErrorCode       `json:"error,omitempty"`
	ErrText        string                 `json:"error_text,omitempty"`
	Notice         string                 `json:"notice,omitempty"`
	// SignIn are the host's sign-in buttons.
	SignIn []widgets.SignInLink `json:"signin,omitempty"`
}

// MaxPreloadSteps bounds the calls Preload makes (start, then the slots).
const MaxPreloadSteps = 4

// Preload runs the start of the flow on the server against b, as the
// browser would, and returns the snapshot of the resulting first screen. It
// returns nil when a call failed or ctx ended: the host then serves the
// loading skeleton and the browser loads everything itself.
func Preload(ctx context.Context, m *Model, b Backend) *Snapshot {
	if !ui.Settle(ctx, b, m.Apply(Action{Kind: Start}), m.Apply, MaxPreloadSteps) {
		return nil
	}
	if m.Err != "" || m.Loading {
		return nil
	}
	return m.snapshot()
}

// snapshot captures the model. Events are not part of it: they were sent
// (or handed to the page) by whoever produced them.
func (m *Model) snapshot() *Snapshot {
	s := &Snapshot{
		Establishment:  portal.Establishment{ID: m.Establishment, Name: m.EstablishmentName},
		Establishments: m.Establishments,
		Services:       m.Services,
		Patient:        m.Patient,
		DemoPatients:   m.DemoPatients,
		DemoChoice:     m.DemoChoice,
		Step:           m.Step,
		Service:        m.Service,
		Practitioner:   m.Practitioner,
		Window:         m.Window,
		Day:            m.dayKey(),
		BookKey:        m.bookKey,
		Mine:           m.Mine,
		ConfirmCancel:  m.ConfirmCancel,
		Err:            m.Err,
		ErrText:        m.ErrText,
		Notice:         m.Notice,
		SignIn:         m.SignIn,
	}
	for _, d := range m.Days {
		s.Slots = append(s.Slots, d.Slots...)
	}
	if m.Slot.ID != "" {
		slot := m.Slot
		s.Slot = &slot
	}
	if m.Appointment.ID != "" {
		apt := m.Appointment
		s.Appointment = &apt
	}
	return s
}

// Hydrate puts s into the model: the browser's first render then matches the
// server's HTML.
func (m *Model) Hydrate(s *Snapshot) {
	m.DemoChoice = s.DemoChoice
	if m.Merged {
		m.Establishments = s.Establishments
		m.Establishment = ""
		if slices.ContainsFunc(s.Establishments, func(e portal.Establishment) bool { return e.ID == s.Establishment.ID }) {
			m.Establishment = s.Establishment.ID
		}
	}
	m.setLoaded(s.Establishment.Name, s.Services, s.Patient, s.DemoPatients)
	m.Step = s.Step
	switch {
	case m.Merged && m.Establishment == "" && m.Step != StepMine:
		m.Step = StepEstablishment
	case m.Step == "" || m.Step == StepEstablishment && !m.Merged:
		m.Step = StepService
	}
	m.Service, m.Practitioner, m.Window = "", "", s.Window
	if m.service(s.Service) != nil {
		m.Service = s.Service
		m.Practitioner = s.Practitioner
	} else if m.Step == StepSlots || m.Step == StepConfirm {
		m.Step = StepService
	}
	m.Days = groupByDay(s.Slots, s.Practitioner == "")
	m.Day = max(0, m.dayIndex(s.Day))
	if s.Slot != nil {
		m.Slot = *s.Slot
	}
	m.bookKey = s.BookKey
	if s.Appointment != nil {
		m.Appointment = *s.Appointment
	}
	m.Mine = s.Mine
	m.ConfirmCancel = s.ConfirmCancel
	m.Err, m.ErrText, m.Notice = s.Err, s.ErrText, s.Notice
	m.SignIn = s.SignIn
}

// ErrCode is the error the screen shows, "" for none: the host records a
// form post whose screen shows one as the API would have answered it.
func (s *Snapshot) ErrCode() portal.ErrorCode { return s.Err }
